#!/usr/bin/env bash
# Alternates two builds of the HTTP server under wrk, round after round, and prints
# each one's req/s and server CPU time per request (user + system from /proc, µs).
# Usage: scripts/ab-http.sh BINARY_A BINARY_B   (ROUNDS=5 DUR=4 WORKLOADS="small pipelined big gzip")
# Needs wrk; the binaries take --root, --addr and --quiet like src/bin/http_server.rs.
set -u
A=$1; B=$2; ROUNDS=${ROUNDS:-5}; DUR=${DUR:-4}
www=$(mktemp -d); python3 -c "
import sys; open(sys.argv[1]+'/small.txt','wb').write(b'0123456789abcdef'*64)
big=b''.join(b'line %07d: the quick brown fox jumps over the lazy dog\n' % i for i in range(17000))[:1<<20]
open(sys.argv[1]+'/1m.txt','wb').write(big)" "$www"
start() { "$1" --root "$www" --addr 127.0.0.1:0 --quiet > "$www/$2.out" 2>&1 & echo $!; }
pa=$(start "$A" a); pb=$(start "$B" b); sleep 0.5
addr() { sed -n 's/listening on http:\/\///p' "$www/$1.out"; }
aa=$(addr a); ab=$(addr b)
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
tck=$(getconf CLK_TCK)
run() { # pid addr workload
  local c0=$(cpu $1) out
  case $3 in
    small) out=$(wrk -t1 -c50 -d${DUR}s http://$2/small.txt) ;;
    pipelined) out=$(wrk -t1 -c50 -d${DUR}s -s "$(dirname "$0")"/wrk-pipeline.lua http://$2/small.txt -- 16) ;;
    big) out=$(wrk -t1 -c10 -d${DUR}s http://$2/1m.txt) ;;
    gzip) out=$(wrk -t1 -c10 -d${DUR}s -H 'Accept-Encoding: gzip' http://$2/1m.txt) ;;
  esac
  local c1=$(cpu $1)
  local reqs=$(echo "$out" | awk '/requests in/{print $1}')
  local rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  python3 -c "print(f'{float($rps):10.0f} req/s {($c1-$c0)/$tck*1e6/$reqs:7.2f} us/req', end='')"
}
for w in ${WORKLOADS:-small pipelined big gzip}; do
  for r in $(seq $ROUNDS); do
    printf '%-10s %d  A: ' $w $r; run $pa $aa $w; printf '   B: '; run $pb $ab $w; echo
  done
done
kill $pa $pb; rm -rf "$www"
