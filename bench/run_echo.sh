#!/usr/bin/env bash
# run_echo.sh: measures our TCP echo server (examples/echo_server.ts, an
# Echo protocol on reactor.listenTCP) with the shared load generator, side
# by side in one run with raw Deno.listen code, Node's net and Twisted:
# ping-pong 64 B over 1 and 100 connections, stream echo, and the memory
# of 10 000 idle connections. Prints the rows, then one table of medians
# with each figure's ratio to raw Deno ("x raw").
#
#   bench/run_echo.sh                  one round (about 3 minutes)
#   BENCH_REPEAT=3 bench/run_echo.sh   three interleaved rounds, medians
#
# The idle timeout is off (--timeout 0), as the peers have none: like with
# like (it costs one timer per connection when on).
#
# Environment: BENCH_DIR (bench/loadgen in this checkout), DENO,
# and everything run.sh reads (BENCH_WARMUP, BENCH_DURATION,
# BENCH_HOLD_CONNS, BENCH_BUILD, NODE, PYTHON). See $BENCH_DIR/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$HERE/loadgen}
if [ -z "$BENCH_DIR" ] || [ ! -x "$BENCH_DIR/run.sh" ]; then
  echo "run_echo.sh: cannot find the load generator's run.sh; set BENCH_DIR" >&2
  exit 2
fi
exec "$BENCH_DIR/run.sh" --peers echo --name ours_echo -- \
  "${DENO:-deno}" run --allow-net=127.0.0.1 "$ROOT/examples/echo_server.ts" --timeout 0
