#!/usr/bin/env bash
# run_workers.sh: echo served through the twistd runner with --workers 1 and
# --workers 2 (reusePort), measured side by side with the shared load
# generator (bench/loadgen/loadgen.c): ping-pong 64 B x100 connections and
# stream x8 connections. Prints one Markdown row per measurement.
#
#   bench/run_workers.sh                 one round
#   BENCH_REPEAT=3 bench/run_workers.sh  three interleaved rounds
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SHARED=${SHARED_BENCH:-$HERE/loadgen}
BUILD=${BENCH_BUILD:-${TMPDIR:-/tmp}/twisted-deno-bench}
DENO=${DENO:-deno}
REPEAT=${BENCH_REPEAT:-1}
DURATION=${BENCH_DURATION:-4}
mkdir -p "$BUILD"
cc -O2 -Wall -o "$BUILD/loadgen" "$SHARED/loadgen.c" || exit 1
cd "$ROOT" || exit 1

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # PORT: up to 10 s
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

echo "| round | workers | mode | conns | ops/s | MB/s | p99 us | errors |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
status=0
for round in $(seq 1 "$REPEAT"); do
  for workers in 1 2; do
    for mode in pingpong stream; do
      port=$(free_port)
      timeout -k 5 120 "$DENO" run --allow-net=127.0.0.1 --allow-read --allow-run \
        application/twistd.ts --log-level warn --workers "$workers" \
        bench/echo_app.ts --port "$port" >"$BUILD/workers_server.log" 2>&1 &
      server=$!
      if ! wait_for_port "$port"; then
        echo "server with --workers $workers did not start; see $BUILD/workers_server.log" >&2
        kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null
        status=1
        continue
      fi
      sleep 1 # let every worker bind before the load starts
      if [ "$mode" = pingpong ]; then
        args=(--mode pingpong --conns 100 --size 64)
      else
        args=(--mode stream --conns 8)
      fi
      out=$("$BUILD/loadgen" "${args[@]}" --port "$port" --warmup 1 --duration "$DURATION") || status=1
      kill -TERM "$server" 2>/dev/null
      wait "$server" 2>/dev/null
      /usr/bin/python3 - "$round" "$workers" "$mode" "$out" <<'PY'
import json, sys
r, w, mode, line = sys.argv[1:5]
d = json.loads(line)
ops = f"{d['ops_per_s']:.0f}" if "ops_per_s" in d else ""
p99 = f"{d['p99_us']:.0f}" if "p99_us" in d else ""
print(f"| {r} | {w} | {mode} | {d['conns']} | {ops} | {d['mb_per_s']:.1f} | {p99} | {d['errors']} |")
PY
    done
  done
done
exit $status
