#!/usr/bin/env bash
# run_stream.sh: same-run ratios for the stream transport's echo paths.
# Servers, each measured on a fresh process per slice, interleaved round by
# round (A B C D A B C D ...), pinned like the shared run.sh (server CPU 0,
# load generator CPU 1):
#   raw        bench/loadgen/peers/raw_deno_echo.ts (reused buffer: the zero-copy limit)
#   alloc      bench/loadgen/peers/raw_deno_alloc_echo.ts (fresh 64 KiB per read)
#   ours       examples/echo_server.ts (the library's Echo)
#   plain      bench/stream_echo_server.ts plain (a dataReceived-only echo)
#   lent       bench/stream_echo_server.ts lent (an IBufferedProtocol echo)
#   base       with STREAM_BASE=DIR (another checkout, e.g. main): its
#              examples/echo_server.ts, to compare a branch with it
# Modes: stream x1 (MB/s) and pingpong 64 B x100 (ops/s). Prints each slice,
# then medians and the ratios: ours/raw, lent/raw, plain/alloc, ping-pong
# ours/raw. (Once the library's Echo lends its buffer, ours = lent.)
#
#   bench/run_stream.sh                           3 rounds of 2 s slices
#   STREAM_ROUNDS=5 STREAM_DURATION=5 bench/run_stream.sh
#
# Environment: BENCH_DIR (bench/loadgen in this checkout), DENO,
# BENCH_BUILD (where loadgen is built), STREAM_ROUNDS (3),
# STREAM_DURATION (2), STREAM_WARMUP (1), STREAM_MODES ("stream pingpong"),
# STREAM_SERVERS ("raw alloc ours plain lent", plus "base" with STREAM_BASE).
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$HERE/loadgen}
if [ -z "$BENCH_DIR" ] || [ ! -f "$BENCH_DIR/loadgen.c" ]; then
  echo "run_stream.sh: cannot find the load generator; set BENCH_DIR" >&2
  exit 2
fi
DENO=${DENO:-deno}
BUILD=${BENCH_BUILD:-${TMPDIR:-/tmp}/twisted-deno-bench}
ROUNDS=${STREAM_ROUNDS:-3}
DURATION=${STREAM_DURATION:-2}
WARMUP=${STREAM_WARMUP:-1}
MODES=${STREAM_MODES:-stream pingpong}
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
mkdir -p "$BUILD" || exit 1
LG=$BUILD/loadgen
if ! [ -x "$LG" ] || [ "$BENCH_DIR/loadgen.c" -nt "$LG" ]; then
  timeout 60 cc -O2 -Wall -o "$LG" "$BENCH_DIR/loadgen.c" || exit 1
fi
PIN_SRV=() PIN_LG=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SRV=(taskset -c 0) PIN_LG=(taskset -c 1)
fi
OUT=$(mktemp -d "${TMPDIR:-/tmp}/run_stream.XXXXXX")
DEFAULT_SERVERS="raw alloc ours plain lent${STREAM_BASE:+ base}"
SERVERS=(${STREAM_SERVERS:-$DEFAULT_SERVERS})
server_cmd() {
  local net=--allow-net=127.0.0.1
  case $1 in
    raw) CMD=("$DENO" run "$net" "$BENCH_DIR/peers/raw_deno_echo.ts") ;;
    alloc) CMD=("$DENO" run "$net" "$BENCH_DIR/peers/raw_deno_alloc_echo.ts") ;;
    ours) CMD=("$DENO" run "$net" "$ROOT/examples/echo_server.ts") ;;
    plain | lent) CMD=("$DENO" run "$net" "$HERE/stream_echo_server.ts" "$1") ;;
    base) CMD=("$DENO" run "$net" "${STREAM_BASE:?}/examples/echo_server.ts") ;;
  esac
}
SRV=
stop_server() {
  [ -n "$SRV" ] || return 0
  kill -TERM "$SRV" 2>/dev/null
  wait "$SRV" 2>/dev/null
  SRV=
}
trap stop_server EXIT
trap 'exit 130' INT TERM
limit=$((WARMUP + DURATION + 40))
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    for s in "${SERVERS[@]}"; do
      server_cmd "$s"
      log=$OUT/$round-$s-$mode
      timeout -k 5 $((limit + 30)) "${PIN_SRV[@]}" "${CMD[@]}" 0 >"$log.out" 2>"$log.err" </dev/null &
      SRV=$! PORT=
      for _ in $(seq 200); do
        PORT=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$log.out")
        [ -n "$PORT" ] && break
        sleep 0.1
      done
      if [ -z "$PORT" ]; then echo "run_stream.sh: $s did not start" >&2; stop_server; continue; fi
      if [ "$mode" = stream ]; then args=(--mode stream --conns 1); key=mb_per_s
      else args=(--mode pingpong --conns 100 --size 64); key=ops_per_s; fi
      json=$(timeout "$limit" "${PIN_LG[@]}" "$LG" "${args[@]}" --port "$PORT" \
        --warmup "$WARMUP" --duration "$DURATION" 2>>"$log.lg")
      stop_server
      v=$(sed -n "s/.*\"$key\":\([^,}]*\).*/\1/p" <<<"$json")
      e=$(sed -n 's/.*"errors":\([^,}]*\).*/\1/p' <<<"$json")
      printf '%s\t%s\t%s\t%s\terrors=%s\n' "$round" "$mode" "$s" "${v:-?}" "${e:-?}" | tee -a "$OUT/all.tsv"
    done
  done
done
echo "medians ($ROUNDS rounds, ${DURATION}s slices; raw data in $OUT/all.tsv):"
awk -F'\t' '
  { v[$2 "/" $3] = v[$2 "/" $3] " " $4 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    for (k in v) m[k] = median(v[k])
    for (k in m) printf "  %-16s %12.1f\n", k, m[k]
    if (m["stream/raw"] > 0) printf "  stream   ours/raw    %.2fx (target >= 0.9)\n", m["stream/ours"] / m["stream/raw"]
    if (m["stream/raw"] > 0) printf "  stream   lent/raw    %.2fx (target >= 0.9)\n", m["stream/lent"] / m["stream/raw"]
    if (m["stream/alloc"] > 0) printf "  stream   plain/alloc %.2fx (target >= 1.0)\n", m["stream/plain"] / m["stream/alloc"]
    if (m["pingpong/raw"] > 0) printf "  pingpong ours/raw    %.2fx (target >= 0.9)\n", m["pingpong/ours"] / m["pingpong/raw"]
    if (m["pingpong/raw"] > 0) printf "  pingpong lent/raw    %.2fx\n", m["pingpong/lent"] / m["pingpong/raw"]
    if (m["stream/base"] > 0) printf "  stream   ours/base   %.2fx\n", m["stream/ours"] / m["stream/base"]
    if (m["pingpong/base"] > 0) printf "  pingpong ours/base   %.2fx\n", m["pingpong/ours"] / m["pingpong/base"]
    if (m["pingpong/raw"] > 0) printf "  pingpong plain/raw   %.2fx\n", m["pingpong/plain"] / m["pingpong/raw"]
  }' "$OUT/all.tsv"
