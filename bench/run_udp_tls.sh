#!/usr/bin/env bash
# run_udp_tls.sh: UDP echo (datagrams/s) and TLS stream echo (MB/s) of
# twisted-deno, side by side with raw Deno code and Node, on loopback.
#
#   bench/run_udp_tls.sh            both benchmarks, every server, one round
#   bench/run_udp_tls.sh udp        only UDP (or: tls)
#
# Servers (each a fresh process per measurement, killed by PID after):
#   udp: raw_deno (bench/udp_raw_deno.ts), node (bench/udp_node.mjs),
#        ours (bench/udp_echo_ours.ts: examples/udp_echo.ts on listenUDP)
#   tls: raw_deno (bench/tls_raw_deno.ts: read, then write, one buffer),
#        raw_deno_pipelined (bench/tls_raw_deno_pipelined.ts: reads and
#        writes overlapped, a fresh buffer per read, as a transport does),
#        node (bench/tls_node.mjs under Node), deno_node (the same script
#        under Deno: Deno's own node:tls server), ours
#        (bench/tls_echo_ours.ts: a plain dataReceived echo on listenSSL
#        with the default handshakeTimeout, served by node:tls),
#        ours_no_timeout (the same with handshakeTimeout null, served by
#        Deno.listenTls). TLS_SERVERS picks a subset, in order.
# The client is bench/udp_tls_loadgen.c (C, OpenSSL), built on first use.
# Servers run on CPU 0 and the client on CPU 1 (taskset, when there are two).
# Certificates (a CA and a localhost leaf) are made with openssl in BUILD.
#
# Environment (defaults): BENCH_WARMUP (1), BENCH_DURATION (3) seconds,
# BENCH_REPEAT (1) interleaved rounds, UDP_FLOWS (4), UDP_WINDOW (32),
# UDP_SIZE (64), TLS_CONNS (1), BENCH_BUILD
# (${TMPDIR:-/tmp}/twisted-deno-udp-tls), DENO (deno), NODE (node).
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BENCH_BUILD:-${TMPDIR:-/tmp}/twisted-deno-udp-tls}
WARMUP=${BENCH_WARMUP:-1}
DURATION=${BENCH_DURATION:-3}
REPEAT=${BENCH_REPEAT:-1}
FLOWS=${UDP_FLOWS:-4}
WINDOW=${UDP_WINDOW:-32}
SIZE=${UDP_SIZE:-64}
CONNS=${TLS_CONNS:-1}
DENO=${DENO:-deno}
NODE=${NODE:-node}
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1

KINDS=(udp tls)
case ${1:-} in
  "") ;;
  udp | tls) KINDS=("$1") ;;
  *) sed -n '2,21s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac

mkdir -p "$BUILD/certs" || exit 1
LG=$BUILD/udp_tls_loadgen
if ! [ -x "$LG" ] || [ "$HERE/udp_tls_loadgen.c" -nt "$LG" ]; then
  timeout 60 cc -O2 -Wall -o "$LG" "$HERE/udp_tls_loadgen.c" -lssl -lcrypto ||
    { echo "run_udp_tls.sh: building the load generator failed" >&2; exit 1; }
fi

CERT=$BUILD/certs/leaf.pem KEY=$BUILD/certs/leaf.key
make_certs() {
  local d=$BUILD/certs
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$KEY" -out "$d/leaf.csr" -subj "/CN=localhost" 2>/dev/null &&
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    >"$d/leaf.ext" &&
  openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -out "$CERT" -days 2 -extfile "$d/leaf.ext" 2>/dev/null
}
if [[ " ${KINDS[*]} " == *" tls "* ]]; then
  make_certs || { echo "run_udp_tls.sh: openssl could not make certificates" >&2; exit 1; }
fi

server_cmd() { # KIND NAME -> CMD array (the port is appended)
  local net="--allow-net=127.0.0.1"
  case $1/$2 in
    udp/raw_deno) CMD=("$DENO" run "$net" "$HERE/udp_raw_deno.ts") ;;
    udp/node) CMD=("$NODE" "$HERE/udp_node.mjs") ;;
    udp/ours) CMD=("$DENO" run "$net" "$HERE/udp_echo_ours.ts") ;;
    tls/raw_deno) CMD=("$DENO" run "$net" --allow-read "$HERE/tls_raw_deno.ts" "$CERT" "$KEY") ;;
    tls/raw_deno_pipelined) CMD=("$DENO" run "$net" --allow-read "$HERE/tls_raw_deno_pipelined.ts" "$CERT" "$KEY") ;;
    tls/node) CMD=("$NODE" "$HERE/tls_node.mjs" "$CERT" "$KEY") ;;
    tls/deno_node) CMD=("$DENO" run "$net" --allow-read "$HERE/tls_node.mjs" "$CERT" "$KEY") ;;
    tls/ours) CMD=("$DENO" run "$net" --allow-read "$HERE/tls_echo_ours.ts" "$CERT" "$KEY") ;;
    tls/ours_no_timeout) CMD=("$DENO" run "$net" --allow-read "$HERE/tls_echo_ours.ts" "$CERT" "$KEY" --no-handshake-timeout) ;;
  esac
}

# Servers on CPU 0, the load generator on CPU 1 (as loadgen/run.sh does).
PIN_SRV=() PIN_LG=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SRV=(taskset -c 0) PIN_LG=(taskset -c 1)
fi

OUT=$BUILD/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT" || exit 1
TSV=$OUT/results.tsv
LIMIT=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { print int(w + d + 20) }')

HZ=$(getconf CLK_TCK)
# Seconds the rate was measured over, and the CPU sample spans warmup too:
# the rate counts only the duration, so scale CPU by the whole span.
SPAN=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { print w + d }')
cpu_ticks() { # PID -> utime + stime of the process, in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

measure() { # KIND NAME ROUND -> appends "KIND NAME VALUE" to TSV
  local kind=$1 name=$2 log=$OUT/$1_$2_$3.log port="" pid i
  server_cmd "$kind" "$name"
  : >"$log" # exists before the server starts, for the polling below
  "${PIN_SRV[@]}" "${CMD[@]}" 0 >"$log" 2>&1 &
  pid=$!
  for i in $(seq 100); do # up to 10 s for "listening on PORT"
    port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$log" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "run_udp_tls.sh: $kind/$name did not start (see $log)" >&2
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return 1
  fi
  local json cpu0 cpu1
  cpu0=$(cpu_ticks "$pid")
  if [ "$kind" = udp ]; then
    json=$(timeout "$LIMIT" "${PIN_LG[@]}" "$LG" udp --port "$port" --flows "$FLOWS" --window "$WINDOW" \
      --size "$SIZE" --warmup "$WARMUP" --duration "$DURATION")
  else
    json=$(timeout "$LIMIT" "${PIN_LG[@]}" "$LG" tls --port "$port" --conns "$CONNS" \
      --warmup "$WARMUP" --duration "$DURATION")
  fi
  local status=$?
  cpu1=$(cpu_ticks "$pid")
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "$json" >>"$log"
  [ $status -eq 0 ] || { echo "run_udp_tls.sh: $kind/$name: load generator failed: $json" >&2; return 1; }
  local value cost
  # Server CPU (user + system) per unit of work over warmup + duration: a
  # figure that contention from other processes on the machine disturbs
  # far less than the rate does.
  if [ "$kind" = udp ]; then
    value=$(sed -n 's/.*"datagrams_per_s":\([0-9.]*\).*/\1/p' <<<"$json")
    cost=$(awk -v t=$((cpu1 - cpu0)) -v hz="$HZ" -v r="$value" -v s="$SPAN" \
      'BEGIN { printf "%.2f", t / hz / (r * s) * 1e6 }')
    echo "| udp echo ${SIZE} B, $FLOWS flows x $WINDOW in flight | $name | $value datagrams/s | $cost us/datagram | $json |"
  else
    value=$(sed -n 's/.*"mb_per_s":\([0-9.]*\).*/\1/p' <<<"$json")
    cost=$(awk -v t=$((cpu1 - cpu0)) -v hz="$HZ" -v r="$value" -v s="$SPAN" \
      'BEGIN { printf "%.2f", t / hz / (r * s) * 1e3 }')
    echo "| tls stream echo, $CONNS conn(s) | $name | $value MB/s | $cost ms/MB | $json |"
  fi
  printf '%s\t%s\t%s\t%s\n' "$kind" "$name" "$value" "$cost" >>"$TSV"
}

names() { # KIND -> the servers measured for it
  if [ "$1" = tls ]; then echo "${TLS_SERVERS:-raw_deno raw_deno_pipelined node deno_node ours ours_no_timeout}"; else echo raw_deno node ours; fi
}

echo "| benchmark | server | result | server CPU | loadgen |"
echo "| --- | --- | --- | --- | --- |"
for round in $(seq "$REPEAT"); do
  for kind in "${KINDS[@]}"; do
    for name in $(names "$kind"); do
      measure "$kind" "$name" "$round"
    done
  done
done

echo
echo "Medians over $REPEAT round(s) (x raw: ratio to raw_deno; for CPU, raw's cost over"
echo "the server's, so above 1 means less CPU than raw Deno per unit of work):"
echo "| benchmark | server | median rate | x raw | median server CPU | x raw |"
echo "| --- | --- | --- | --- | --- | --- |"
median() { # KIND NAME COLUMN
  awk -F'\t' -v k="$1" -v n="$2" -v c="$3" '$1 == k && $2 == n { print $c }' "$TSV" 2>/dev/null |
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
for kind in "${KINDS[@]}"; do
  unit="datagrams/s" cunit="us/datagram"
  [ "$kind" = tls ] && unit="MB/s" cunit="ms/MB"
  raw="" rawc=""
  for name in $(names "$kind"); do
    med=$(median "$kind" "$name" 3)
    medc=$(median "$kind" "$name" 4)
    [ -z "$med" ] && continue
    [ "$name" = raw_deno ] && raw=$med rawc=$medc
    ratio=$(awk -v m="$med" -v r="${raw:-0}" 'BEGIN { if (r > 0) printf "%.2f", m / r; else print "-" }')
    ratioc=$(awk -v m="$medc" -v r="${rawc:-0}" 'BEGIN { if (m > 0) printf "%.2f", r / m; else print "-" }')
    echo "| $kind | $name | $med $unit | $ratio | $medc $cunit | $ratioc |"
  done
done
echo
echo "Logs and results.tsv: $OUT"
