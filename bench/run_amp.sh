#!/usr/bin/env bash
# run_amp.sh: AMP calls per second, ours at both ends (bench/amp_load.ts)
# against Twisted at both ends (bench/amp_twisted.py), in one run: 10
# connections, 100 pipelined Sum calls on each, rounds interleaved
# (ours, Twisted, ours, Twisted ...), then each side's median and spread
# and the ratio of the medians. Target: ours >= 3x Twisted.
#
#   bench/run_amp.sh                 3 rounds of 5 s per side
#   ROUNDS=5 RUN_SECONDS=10 bench/run_amp.sh
#
# Each server is a child process on port 0, ended by its PID after its
# client finishes (and stops by itself after 300 s regardless).
set -eu -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DENO=${DENO:-deno}
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${RUN_SECONDS:-5}
cd "$ROOT"

if ! "$PYTHON" -c "import twisted.protocols.amp" 2>/dev/null; then
  echo "run_amp.sh: $PYTHON cannot import twisted; install python3-twisted" >&2
  exit 1
fi
"$DENO" cache bench/amp_load.ts >/dev/null

# The server on CPU 0 and the client on CPU 1, when there are two.
PIN_SRV=() PIN_CLIENT=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SRV=(taskset -c 0) PIN_CLIENT=(taskset -c 1)
fi

SERVER_PID=""
cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# run_one IMPL: starts IMPL's server, runs its client, prints the rate.
run_one() {
  local fifo port line
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  if [ "$1" = ours ]; then
    "${PIN_SRV[@]}" "$DENO" run --allow-net=127.0.0.1 bench/amp_load.ts server >"$fifo" &
  else
    "${PIN_SRV[@]}" "$PYTHON" bench/amp_twisted.py server >"$fifo" &
  fi
  SERVER_PID=$!
  read -r port <"$fifo"
  rm -f "$fifo"
  if [ "$1" = ours ]; then
    line=$("${PIN_CLIENT[@]}" "$DENO" run --allow-net=127.0.0.1 bench/amp_load.ts client "$port" "$SECONDS_PER_RUN")
  else
    line=$("${PIN_CLIENT[@]}" "$PYTHON" bench/amp_twisted.py client "$port" "$SECONDS_PER_RUN")
  fi
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  echo "$line" >&2
  echo "$line" | sed -E 's/.*"rate": ?([0-9]+).*/\1/'
}

ours=()
twisted=()
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  ours+=("$(run_one ours)")
  twisted+=("$(run_one twisted)")
done

stats() { # prints "median min max" of its arguments
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%d %d %d\n", m, v[1], v[NR] }'
}
read -r om omin omax <<<"$(stats "${ours[@]}")"
read -r tm tmin tmax <<<"$(stats "${twisted[@]}")"
echo
echo "AMP calls/s, 10 connections x 100 pipelined, $ROUNDS interleaved rounds of ${SECONDS_PER_RUN}s"
printf '  %-22s median %8d calls/s  (min %d, max %d; runs: %s)\n' \
  "ours (Deno, both ends)" "$om" "$omin" "$omax" "${ours[*]}"
printf '  %-22s median %8d calls/s  (min %d, max %d; runs: %s)\n' \
  "Twisted (both ends)" "$tm" "$tmin" "$tmax" "${twisted[*]}"
awk -v o="$om" -v t="$tm" 'BEGIN { printf "  ratio ours/Twisted: %.2fx (target >= 3x)\n", o / t }'
per_round=""
for i in "${!ours[@]}"; do
  per_round+=$(awk -v o="${ours[$i]}" -v t="${twisted[$i]}" 'BEGIN { printf " %.2fx", o / t }')
done
echo "  ratio per round:$per_round (the machine may be shared: compare rounds)"
