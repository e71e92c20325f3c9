#!/usr/bin/env bash
# run_lines.sh: the LineReceiver echo server (bench/line_server.ts) under the
# shared load generator, side by side with the line-echo peers: raw Deno
# (a hand-written splitter, no decoding), Node, and Twisted's LineReceiver.
#
#   bench/run_lines.sh                  one round (a few minutes)
#   BENCH_REPEAT=3 bench/run_lines.sh   three interleaved rounds, medians
#
# Measures `lines` (64 B lines, 10 connections, 16 pipelined) and `hold`
# (idle connections, RSS per connection) for every server; see
# bench/loadgen/README.md (environment: BENCH_REPEAT, BENCH_DURATION ...).
set -eu -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${BENCH_SHARED:-$HERE/loadgen}

cd "$ROOT"
exec "$SHARED/run.sh" --peers lines --name ours_lines -- \
  "${DENO:-deno}" run --allow-net=127.0.0.1 bench/line_server.ts
