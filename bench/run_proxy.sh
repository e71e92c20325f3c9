#!/usr/bin/env bash
# run_proxy.sh: the cost of the PROXY protocol wrapper, and the port
# forwarder's throughput, measured with the load generator in
# bench/loadgen/.
#
# 1. PROXY-wrapped echo vs plain echo, both behind HAProxy so both pay the
#    same hop: loadgen -> haproxy (mode tcp, no send-proxy) -> Echo, and
#    loadgen -> haproxy (send-proxy) -> HAProxyWrappingFactory(Echo);
#    ping-pong 64 B over 100 connections.
# 2. Port forwarding: loadgen -> forwarder -> C echo server, stream mode
#    over 1 and 8 connections, our ProxyFactory vs socat doing the same
#    forward (TCP-LISTEN,fork -> TCP, with 64 KiB buffers like ours: socat's
#    default -b 8192 would make it slower).
#
# Rounds interleave the variants; the summary gives each figure's median
# with its min-max over the rounds, and the median of the per-round ratios.
#
#   bench/run_proxy.sh                   three rounds (about 3 minutes)
#   BENCH_REPEAT=1 bench/run_proxy.sh    one round
#
# Environment: SHARED_BENCH (bench/loadgen in this checkout: loadgen.c
# and test/c_echo.c), BENCH_BUILD (where binaries go), DENO, HAPROXY
# (/usr/sbin/haproxy), SOCAT (socat), BENCH_REPEAT (3), BENCH_DURATION (5),
# BENCH_WARMUP (1), BENCH_PIN (1: servers on CPU 0, loadgen, haproxy and the
# echo target on CPU 1, when taskset exists and there are 2+ CPUs).
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SHARED=${SHARED_BENCH:-$HERE/loadgen}
BUILD=${BENCH_BUILD:-${TMPDIR:-/tmp}/twisted-deno-bench}
DENO=${DENO:-deno}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
SOCAT=${SOCAT:-socat}
REPEAT=${BENCH_REPEAT:-3}
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
SLICES=${BENCH_SLICES:-4}
for tool in "$HAPROXY" "$SOCAT" cc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "run_proxy.sh: $tool is not installed" >&2; exit 2; }
done
if [ ! -f "$SHARED/loadgen.c" ] || [ ! -f "$SHARED/test/c_echo.c" ]; then
  echo "run_proxy.sh: cannot find loadgen.c and test/c_echo.c in $SHARED; set SHARED_BENCH" >&2
  exit 2
fi
mkdir -p "$BUILD"
cc -O2 -Wall -o "$BUILD/loadgen" "$SHARED/loadgen.c" || exit 1
cc -O2 -Wall -o "$BUILD/c_echo" "$SHARED/test/c_echo.c" || exit 1
cd "$ROOT" || exit 1

PIN_SRV=() PIN_LG=()
if [ "${BENCH_PIN:-1}" = 1 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SRV=(taskset -c 0) PIN_LG=(taskset -c 1)
fi
SERVERS=() # PIDs started by this script, ended by PID
cleanup() {
  for pid in "${SERVERS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null; done
  SERVERS=()
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # PORT: up to 10 s
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run_proxy.sh: nothing listens on port $1; see $BUILD/proxy_*.log" >&2
  return 1
}

start() { # LOG PIN... -- COMMAND...: starts it in the background, records its PID
  local log=$1
  shift
  timeout -k 5 300 "$@" >"$BUILD/$log" 2>&1 &
  SERVERS+=($!)
}

haproxy_config() { # FRONT1 BACKEND1 OPTIONS1 FRONT2 BACKEND2 OPTIONS2: two frontends
  cat >"$BUILD/proxy_haproxy.cfg" <<CFG
global
  maxconn 4000
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend one
  bind 127.0.0.1:$1
  default_backend one
backend one
  server local 127.0.0.1:$2 $3
frontend two
  bind 127.0.0.1:$4
  default_backend two
backend two
  server local 127.0.0.1:$5 $6
CFG
  start proxy_haproxy.log "${PIN_LG[@]}" "$HAPROXY" -db -f "$BUILD/proxy_haproxy.cfg"
}

cpu_ticks() { # PID (of the timeout wrapper): its child's utime+stime, in clock ticks
  local child
  child=$(ps -o pid= --ppid "$1" | head -n 1 | tr -d ' ')
  awk '{ print $14 + $15 }' "/proc/$child/stat"
}

measure() { # ROUND TEST VARIANT PORT LOADGEN_ARGS...
  local round=$1 test=$2 variant=$3 port=$4
  shift 4
  local out
  out=$("${PIN_LG[@]}" "$BUILD/loadgen" "$@" --port "$port" --warmup "$WARMUP" --duration "$DURATION") || status=1
  /usr/bin/python3 - "$round" "$test" "$variant" "$out" <<'PY' | tee -a "$BUILD/proxy_results.tsv" >/dev/null
import json, sys
r, test, variant, line = sys.argv[1:5]
d = json.loads(line)
print("\t".join([r, test, variant, str(d["conns"]), str(d.get("ops_per_s", "")), str(d["mb_per_s"]), str(d.get("p99_us", "")), str(d["errors"])]))
PY
  tail -n 1 "$BUILD/proxy_results.tsv" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
}

status=0
: >"$BUILD/proxy_results.tsv"
: >"$BUILD/proxy_cpu.tsv"
echo "| round | test | variant | conns | ops/s | MB/s | p99 us | errors |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for round in $(seq 1 "$REPEAT"); do
  # 1. PROXY wrapper: both servers and one haproxy up at once; slices of
  #    load alternate between them (A B B A ...), and each slice also reads
  #    the server's CPU time (utime+stime), so the summary can give server
  #    CPU per request as well as requests/s.
  plain_port=$(free_port) proxied_port=$(free_port) plain_front=$(free_port) proxied_front=$(free_port)
  start proxy_plain.log "${PIN_SRV[@]}" "$DENO" run --allow-net=127.0.0.1 bench/proxy_servers.ts echo "$plain_port"
  PLAIN_PID=${SERVERS[-1]}
  start proxy_proxied.log "${PIN_SRV[@]}" "$DENO" run --allow-net=127.0.0.1 bench/proxy_servers.ts proxy-echo "$proxied_port"
  PROXIED_PID=${SERVERS[-1]}
  haproxy_config "$plain_front" "$plain_port" "" "$proxied_front" "$proxied_port" send-proxy
  if wait_for_port "$plain_port" && wait_for_port "$proxied_port" && wait_for_port "$plain_front" && wait_for_port "$proxied_front"; then
    for slice in $(seq 1 "$SLICES"); do
      order=(plain proxied)
      [ $(((slice + round) % 2)) = 0 ] && order=(proxied plain)
      for variant in "${order[@]}"; do
        if [ "$variant" = plain ]; then pid=$PLAIN_PID front=$plain_front; else pid=$PROXIED_PID front=$proxied_front; fi
        before=$(cpu_ticks "$pid")
        measure "$round" "echo-behind-haproxy" "$variant" "$front" --mode pingpong --conns 100 --size 64
        after=$(cpu_ticks "$pid")
        printf '%s\t%s\t%s\t%s\n' "$round" "$variant" "$((after - before))" "$(tail -n 1 "$BUILD/proxy_results.tsv" | cut -f5)" >>"$BUILD/proxy_cpu.tsv"
      done
    done
  else
    status=1
  fi
  cleanup
  # 2. Port forwarding to a C echo server.
  target=$(free_port)
  start proxy_target.log "${PIN_LG[@]}" "$BUILD/c_echo" "$target"
  TARGET_PID=${SERVERS[-1]}
  wait_for_port "$target" || status=1
  variants=(ours socat)
  [ $((round % 2)) = 0 ] && variants=(socat ours)
  for variant in "${variants[@]}"; do
    front=$(free_port)
    if [ "$variant" = ours ]; then
      start proxy_forward.log "${PIN_SRV[@]}" "$DENO" run --allow-net=127.0.0.1 bench/proxy_servers.ts forward "$front" "$target"
    else
      start proxy_forward.log "${PIN_SRV[@]}" "$SOCAT" -b 65536 "TCP-LISTEN:$front,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$target"
    fi
    FORWARD_PID=${SERVERS[-1]}
    if wait_for_port "$front"; then
      for conns in 1 8; do
        measure "$round" "forward-stream" "$variant" "$front" --mode stream --conns "$conns"
      done
    else
      status=1
    fi
    kill -TERM "$FORWARD_PID" 2>/dev/null
    wait "$FORWARD_PID" 2>/dev/null
    SERVERS=("$TARGET_PID")
  done
  cleanup
done

echo
/usr/bin/python3 - "$BUILD/proxy_results.tsv" "$BUILD/proxy_cpu.tsv" "$((DURATION + WARMUP))" <<'PY'
import statistics, sys
from collections import defaultdict
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
fig = defaultdict(dict)  # (test, conns) -> variant -> {round: value}
for r, test, variant, conns, ops, mb, p99, errors in rows:
    value = float(ops) if test == "echo-behind-haproxy" else float(mb)
    # Several slices per round: a round's figure is their mean.
    fig[(test, conns)].setdefault(variant, {}).setdefault(r, []).append(value)
for by in fig.values():
    for values in by.values():
        for r in values:
            values[r] = statistics.mean(values[r])
# Server CPU per request: ticks (1/100 s) over requests (the warm-up
# second counted at the measured rate), per round.
cpu = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
for line in open(sys.argv[2]):
    r, variant, ticks, ops = line.split()
    cpu[variant][r][0] += int(ticks)
    cpu[variant][r][1] += float(ops) * float(sys.argv[3])
for variant, by in cpu.items():
    fig[("server-cpu-per-request", "100")][variant] = {r: t * 10000 / n for r, (t, n) in by.items() if n}
print("| test | conns | variant | median | min-max | unit |")
print("| --- | --- | --- | --- | --- | --- |")
for (test, conns), by in fig.items():
    unit = {"echo-behind-haproxy": "ops/s", "server-cpu-per-request": "us/request"}.get(test, "MB/s")
    for variant, values in by.items():
        v = list(values.values())
        print(f"| {test} | {conns} | {variant} | {statistics.median(v):.1f} | {min(v):.1f}-{max(v):.1f} | {unit} |")
print()
print("| ratio | conns | per round | median |")
print("| --- | --- | --- | --- |")
for (test, conns), by in fig.items():
    a, b = ("ours", "socat") if test == "forward-stream" else ("proxied", "plain")
    if a not in by or b not in by:
        continue
    rounds = sorted(set(by[a]) & set(by[b]), key=int)
    ratios = [by[a][r] / by[b][r] for r in rounds]
    if ratios:
        print(f"| {a} / {b} ({test}) | {conns} | {', '.join(f'{x:.3f}' for x in ratios)} | {statistics.median(ratios):.3f} |")
PY
exit $status
