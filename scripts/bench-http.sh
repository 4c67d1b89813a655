#!/usr/bin/env bash
# Compares the producers HTTP server (src/bin/http_server.rs, one reactor
# thread) with a minimal hyper server (examples/hyper_files.rs, one
# current-thread tokio runtime) under wrk, alternating between them:
#
#   1. a 1 KiB file, 50 keep-alive connections          (target >= 0.9x hyper)
#   2. the same, pipelined 16 deep (scripts/wrk-pipeline.lua)  (>= 1.2x)
#   3. a 1 MiB file, 10 connections (sendfile)           (>= 1.0x)
#   4. the 1 MiB text file with gzip accepted, 10 connections
#
# Prints requests/second for each server and the ratio producers/hyper.
# Usage: scripts/bench-http.sh [DURATION_SECONDS] (default 5); ROUNDS=n
# alternates n times per case and keeps each server's best.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
ROUNDS=${ROUNDS:-1}
TARGET=${CARGO_TARGET_DIR:-target}

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --bin http_server --example hyper_files >&2
BIN=$TARGET/release

ROOT=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$ROOT"
}
trap cleanup EXIT

python3 - "$ROOT" <<'PY'
import sys
root = sys.argv[1]
line = b"the quick brown fox jumps over the lazy dog, %08d\n"
def text(n):
    out, i = bytearray(), 0
    while len(out) < n:
        out += line % i
        i += 1
    return bytes(out[:n])
open(root + "/1k.txt", "wb").write(text(1024))
open(root + "/1m.txt", "wb").write(text(1 << 20))
PY

# Start both servers on free ports and wait for their "listening on" line.
start() {
  local log=$ROOT/$1.log
  shift
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    if grep -q "listening on" "$log"; then
      sed -n 's/.*listening on http:\/\/\(.*\)/\1/p' "$log" | head -1
      return
    fi
    sleep 0.05
  done
  echo "server $1 did not start" >&2
  cat "$log" >&2
  exit 1
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
OURS=$(start producers "$BIN/http_server" --root "$ROOT" --addr "127.0.0.1:$(port)" --quiet)
HYPER=$(start hyper "$BIN/examples/hyper_files" --root "$ROOT" --addr "127.0.0.1:$(port)")
echo "producers on $OURS, hyper on $HYPER, ${DURATION}s per run, $ROUNDS round(s)" >&2

# rps ADDR WRK-ARGS...: requests/second of one wrk run (the URL path is the
# last argument before any `--`).
rps() {
  local addr=$1 path=$2
  shift 2
  wrk -t1 -d"${DURATION}s" "$@" "http://$addr$path" ${LUA_ARGS:+-- $LUA_ARGS} |
    awk '/Requests\/sec/ {print $2} /Non-2xx|Socket errors/ {print "errors: " $0 > "/dev/stderr"}'
}

best() { printf '%s\n' "$@" | sort -g | tail -1; }

run_case() {
  local name=$1 path=$2
  shift 2
  local ours=() hyper=()
  for _ in $(seq "$ROUNDS"); do
    ours+=("$(rps "$OURS" "$path" "$@")")
    hyper+=("$(rps "$HYPER" "$path" "$@")")
  done
  local o h
  o=$(best "${ours[@]}")
  h=$(best "${hyper[@]}")
  awk -v n="$name" -v o="$o" -v h="$h" 'BEGIN { printf "%-34s producers %10.0f  hyper %10.0f  ratio %.2fx\n", n, o, h, o / h }'
}

run_case "1 KiB, 50 keep-alive conns" /1k.txt -c50
LUA_ARGS=16 run_case "1 KiB, 50 conns, pipelined x16" /1k.txt -c50 -s scripts/wrk-pipeline.lua
run_case "1 MiB, 10 conns" /1m.txt -c10
run_case "1 MiB text, gzip, 10 conns" /1m.txt -c10 -H "Accept-Encoding: gzip"
