#!/usr/bin/env bash
# The memory of a large upload (issue 16): starts a release http_server with
# --upload, posts a file of SIZE bytes (default 1 GiB, sparse) with
# `curl -F`, and prints the server's peak resident set (VmHWM) read from
# /proc/PID/status. Linux only. Fails if the file stored differs in size or
# the peak is over LIMIT_KB (default 32 MiB).
#
# Usage: bash scripts/upload_rss.sh [SIZE_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1073741824}
limit_kb=${LIMIT_KB:-32768}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/root/up"
truncate -s "$size" "$work/big"
cargo build --release --bin http_server >/dev/null 2>&1
exe=${CARGO_TARGET_DIR:-target}/release/http_server
"$exe" --root "$work/root" --addr 127.0.0.1:0 --quiet --upload --max-upload $((size + 1048576)) >"$work/out" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/out")
before=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
start=$(date +%s.%N)
code=$(curl -sS -o "$work/resp" -w '%{http_code}' -F "file=@$work/big" "$url/up/")
end=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
stored=$(stat -c %s "$work/root/up/big")
echo "status $code, stored $stored bytes in $(awk "BEGIN {print $end - $start}") s"
echo "VmHWM before ${before} kB, after ${hwm} kB (limit ${limit_kb} kB)"
[ "$code" = 201 ] && [ "$stored" = "$size" ] && [ "$hwm" -le "$limit_kb" ]
