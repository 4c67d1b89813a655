#!/usr/bin/env bash
# Builds every fuzz target; where a nightly toolchain is present, runs each for
# FUZZ_SECONDS (default 40) seconds from its seed corpus, one after another
# (one process, one worker: 13 targets take about 10 minutes with the builds).
# A crash, a leak, an input running over 10 s (a hang) or over 1 GiB fails.
#
# Usage: bash scripts/fuzz.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-40}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^producers-fuzz$')
fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
  fi
  for t in "${targets[@]}"; do
    cargo +nightly fuzz build "$t"
  done
  for t in "${targets[@]}"; do
    # New inputs go to a scratch directory; the committed seeds stay as they are.
    scratch=$(mktemp -d)
    mkdir -p "corpus/$t"
    echo "fuzzing $t for ${seconds}s"
    cargo +nightly fuzz run "$t" "$scratch" "corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 2>&1 |
      tail -n 15
    rm -rf "$scratch"
  done
else
  echo "no nightly toolchain: building the fuzz targets only"
  cargo build --bins
fi
