#!/usr/bin/env bash
# bench/ping: on loopback,
#   1. the RTT `ping` reports against what a minimal echo measurement reports (the Rust example
#      ping/examples/rtt_reference.rs: monotonic clock, send, blocking recv, clock), both against
#      the same `ping serve`, interleaved over several rounds: the goal is within 50 us;
#   2. how many echoes per second `ping serve` sustains under a load generator (the example
#      ping/examples/udp_load.rs, 64 datagrams in flight) pinned to the other core: the goal is
#      100,000/s; also the server's CPU time per echo, which the machine's other load does not
#      change, and the same load against the Python lab server (ping/interop) side by side.
# Release build; server pinned to core 0, clients to core 1. Not a test: run it by hand.
#   bash bench/ping/run.sh            # ROUNDS=3 COUNT=2000 INTERVAL=0.001 SECONDS_LOAD=5
#   RT=1 bash bench/ping/run.sh       # run the measured processes SCHED_FIFO (root), for a busy box
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-2000}
INTERVAL=${INTERVAL:-0.001}
SECONDS_LOAD=${SECONDS_LOAD:-5}
WINDOW=${WINDOW:-64}
prio=()
if [ "${RT:-0}" = 1 ]; then prio=(chrt -f 10); fi

cargo build --release -q -p ping --bin ping --example rtt_reference --example udp_load
bin=target/release
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

start_server() { # name, command...; sets port
  local name=$1; shift
  "${prio[@]}" taskset -c 0 "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!); server_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$tmp/$name.log" 2>/dev/null && break; sleep 0.05; done
  port=$(head -1 "$tmp/$name.log" | grep -oE '127\.0\.0\.1:[0-9]+' | cut -d: -f2)
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)${RT:+, SCHED_FIFO}"
echo
echo "== 1. RTT: ping vs a minimal monotonic-clock echo, $COUNT probes every ${INTERVAL}s, $ROUNDS rounds"
start_server ping-rtt "$bin/ping" serve --port 0 --loss 0 --seed 1 -q
for round in $(seq "$ROUNDS"); do
  ref=$("${prio[@]}" taskset -c 1 "$bin/examples/rtt_reference" "127.0.0.1:$port" "$COUNT" "$INTERVAL")
  "${prio[@]}" taskset -c 1 "$bin/ping" -q --json -c "$COUNT" -i "$INTERVAL" -p "$port" 127.0.0.1 >"$tmp/ping.json" || true
  python3 - "$ref" "$tmp/ping.json" "$round" <<'PY'
import json, statistics, sys
ref = dict(kv.split("=") for kv in sys.argv[1].split())
doc = json.load(open(sys.argv[2]))
rtts = sorted(r["time_ms"] * 1000 for r in doc["replies"] if not r["duplicate"] and not r["late"])
ping_median = rtts[len(rtts) // 2]
ping_mean = doc["rtt_ms"]["avg"] * 1000
d_median = ping_median - float(ref["median_us"])
d_mean = ping_mean - float(ref["mean_us"])
verdict = "within 50 us" if abs(d_median) <= 50 else "OVER 50 us"
print(f"round {sys.argv[3]}: reference median {float(ref['median_us']):7.1f} us mean {float(ref['mean_us']):7.1f} us | "
      f"ping median {ping_median:7.1f} us mean {ping_mean:7.1f} us (the avg it prints) | "
      f"difference median {d_median:+6.1f} us mean {d_mean:+6.1f} us: {verdict}")
PY
done
kill -INT "$server_pid"; wait "$server_pid" || true

echo
echo "== 2. echoes per second, load generator on core 1 ($WINDOW in flight, ${SECONDS_LOAD}s)"
for variant in "ping serve -q" "ping serve (logging every datagram to a file)" "python lab server"; do
  case "$variant" in
    "ping serve -q") start_server quiet "$bin/ping" serve --port 0 --loss 0 --seed 1 -q ;;
    "ping serve (logging"*) start_server logging "$bin/ping" serve --port 0 --loss 0 --seed 1 ;;
    "python lab server") start_server python python3 ping/interop/udp_pinger_server.py --port 0 --no-loss ;;
  esac
  before=$(cpu_ticks "$server_pid")
  load=$("${prio[@]}" taskset -c 1 "$bin/examples/udp_load" "127.0.0.1:$port" "$SECONDS_LOAD" "$WINDOW")
  after=$(cpu_ticks "$server_pid")
  kill -INT "$server_pid" 2>/dev/null || true; kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true
  python3 - "$variant" "$load" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import sys
variant, load, before, after, hz = sys.argv[1], dict(kv.split("=") for kv in sys.argv[2].split()), *map(int, sys.argv[3:6])
echoes, rate = int(load["echoes"]), float(load["rate"])
cpu = (after - before) / hz
per_cpu_second = echoes / cpu if cpu > 0 else float("nan")
goal = "meets 100,000/s" if rate >= 100_000 else "below 100,000/s on the wall clock"
print(f"{variant:48s} {rate:10,.0f} echoes/s ({goal}); server CPU {cpu:5.2f} s = "
      f"{cpu / echoes * 1e6 if echoes else 0:5.2f} us/echo = {per_cpu_second:10,.0f} echoes per CPU-second")
PY
done
