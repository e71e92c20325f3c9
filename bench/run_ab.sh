#!/usr/bin/env bash
# run_ab.sh: a quick side-by-side of TCP echo or line servers, in
# interleaved slices (A B C A B C ...), a fresh server process per slice,
# servers pinned to CPU 0 and the load generator to CPU 1. Prints one line
# per slice: ROUND NAME FIGURE (ops/s, or MB/s in stream mode). Use it to
# compare two checkouts of the library, or a server against its raw peer:
#
#   bench/run_ab.sh MODE CONNS ROUNDS NAME=COMMAND ...
#   bench/run_ab.sh stream 1 3 \
#     "raw=deno run --allow-net=127.0.0.1 bench/loadgen/peers/raw_deno_echo.ts" \
#     "lent=deno run --allow-net=127.0.0.1 bench/stream_echo_server.ts lent"
#
# Each COMMAND gets the port (0) appended and must print "listening on PORT".
# MODE is a loadgen mode (pingpong, stream, lines); messages are 64 bytes.
# Environment: DUR (seconds per slice, 4), BENCH_BUILD (where loadgen is
# built, as run.sh does).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BENCH_BUILD:-${TMPDIR:-/tmp}/twisted-deno-bench}
LG=$BUILD/loadgen
if [ ! -x "$LG" ]; then
  mkdir -p "$BUILD" && cc -O2 -Wall -o "$LG" "$HERE/loadgen/loadgen.c" || exit 2
fi
[ $# -ge 4 ] || { sed -n '2,16p' "$0"; exit 2; }
MODE=$1 CONNS=$2 ROUNDS=$3
shift 3
PIN_SRV=() PIN_LG=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SRV=(taskset -c 0) PIN_LG=(taskset -c 1)
fi
for round in $(seq "$ROUNDS"); do
  for spec in "$@"; do
    name=${spec%%=*} cmd=${spec#*=}
    out=$(mktemp)
    # shellcheck disable=SC2086 # the command is split on purpose
    "${PIN_SRV[@]}" $cmd 0 >"$out" 2>/dev/null &
    pid=$!
    port=""
    for _ in $(seq 200); do
      port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$out" | head -n1)
      [ -n "$port" ] && break
      sleep 0.05
    done
    if [ -z "$port" ]; then
      echo "$round $name did-not-start"
    else
      json=$(timeout $((${DUR:-4} + 20)) "${PIN_LG[@]}" "$LG" --mode "$MODE" --port "$port" \
        --conns "$CONNS" --size 64 --warmup 1 --duration "${DUR:-4}" 2>/dev/null)
      figure=$(sed -n 's/.*"ops_per_s":\([0-9.]*\).*/\1/p' <<<"$json")
      [ -n "$figure" ] || figure=$(sed -n 's/.*"mb_per_s":\([0-9.]*\).*/\1/p' <<<"$json")
      echo "$round $name ${figure:-failed}"
    fi
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$out"
  done
done
