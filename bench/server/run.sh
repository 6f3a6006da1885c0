#!/usr/bin/env bash
# Static serving: protolab's `server` (release) against nginx (Debian), side by side in one run,
# alternating A B A B, with the CPU each server spent per request beside every figure.
#
#   bash bench/server/run.sh                           # epoll model, every point, 3 rounds of 5 s
#   MODELS="epoll pool threads" ROUNDS=3 bash bench/server/run.sh
#   POINTS="ka close big" ROUNDS=5 bash bench/server/run.sh
#   WORKERS=2 POINTS="ka close big" bash bench/server/run.sh   # two workers each, unpinned
#   GEN=client POINTS="100k big 10m" bash bench/server/run.sh   # protolab's `client load` drives
#   ROUNDS=1 DURATION=1 IDLE_N=500 IDLE_HOLD=2 bash bench/server/run.sh   # smoke: the script works
#
# Points (all on 127.0.0.1):
#   ka     1 KiB file, keep-alive, 64 connections          (wrk -t1 -c64)
#   close  1 KiB file, a new connection per request, 64     (wrk -H 'Connection: close')
#   100k   100 KiB file, 16 connections                     (wrk -t1 -c16)
#   big    1 MiB file, 16 connections                       (wrk -t1 -c16)
#   10m    10 MiB file, 16 connections                      (wrk -t1 -c16)
#   idle   IDLE_N keep-alive connections held idle IDLE_HOLD s, then a second request on each;
#          resident memory growth per connection
#   load   protolab's `client load -c 64` against wrk -c64 on the same server (ours only):
#          ratio = client load / wrk
# GEN picks the load generator for ka, close, 100k, big and 10m: wrk (the default) or `client`
# (protolab's `client load`, same connections, `--close` for the close point). A point where the
# generator's own core is saturated measures the generator, not the servers: with wrk, whose
# 8 KiB reads cost 23-30 us of its core per 100 KiB response, that is the case at 100 KiB
# (both servers reach about the same figure); `client load` reads up to 64 KiB at a time. The
# generator's CPU per request is printed beside the servers' so a saturated generator shows
# (for wrk; `client load` spins between events, so its figure is always its whole core).
# With WORKERS=1 (the default) each server gets one worker (nginx `worker_processes 1`, ours
# `--workers 1`; for `pool`, one reactor and one worker) pinned to core 0 and the load generator
# is pinned to core 1. With WORKERS=N>1 nobody is pinned (PIN=0), as in a default deployment.
#
# Server CPU per request: user + system time of the server's processes during the measured
# run (`perf stat -e task-clock`; /proc/PID/stat when perf is missing), divided by the requests
# wrk counted, in microseconds. It moves much less than req/s on a busy machine.
#
# Prints a table of medians (each side's) and the ratio (server / nginx): the median of the
# rounds' own ratios, each round a pair measured one after the other. Needs nginx, wrk,
# python3, curl, and taskset when pinning.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
MODELS=${MODELS:-epoll}
GEN=${GEN:-wrk}
case $GEN in wrk|client) ;; *) echo "bench: GEN is wrk or client, not '$GEN'" >&2; exit 2 ;; esac
POINTS=${POINTS:-ka close 100k big 10m idle load}
WORKERS=${WORKERS:-1}
if [ "$WORKERS" = 1 ]; then PIN=${PIN:-1}; else PIN=${PIN:-0}; fi
IDLE_N=${IDLE_N:-10000}
IDLE_HOLD=${IDLE_HOLD:-20}
# Seconds between the last first response and the memory reading: the event loop parks idle
# connections after two 100 ms sweeps and hands freed pages back at most once a second.
IDLE_SETTLE=${IDLE_SETTLE:-3}

for tool in nginx wrk python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing: bash scripts/install-test-deps.sh" >&2; exit 2; }
done
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null || { echo "bench: taskset is missing (util-linux), or run with PIN=0" >&2; exit 2; }
  SERVER_CPU=(taskset -c 0)
  LOAD_CPU=(taskset -c 1)
else
  SERVER_CPU=()
  LOAD_CPU=()
fi
PERF=0
if command -v perf >/dev/null && perf stat -e task-clock -x, -o /dev/null true 2>/dev/null; then PERF=1; fi
if [ "$IDLE_HOLD" -le "$IDLE_SETTLE" ]; then IDLE_SETTLE=$(( IDLE_HOLD > 1 ? IDLE_HOLD - 1 : 0 )); fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $(( IDLE_N + 100 )) ] && [[ " $POINTS " == *" idle "* ]]; then
  echo "bench: ulimit -n is $(ulimit -n), too low for IDLE_N=$IDLE_N: lower IDLE_N or raise the hard limit" >&2
  exit 2
fi

packages=(-p server)
if [[ " $POINTS " == *" load "* ]] || [ "$GEN" = client ]; then packages+=(-p client); fi
cargo build --release -q "${packages[@]}"
BIN=$PWD/target/release/server
CLIENT=$PWD/target/release/client
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/root" "$WORK/nginx"
head -c 1024 /dev/urandom > "$WORK/root/1k.bin"
head -c 102400 /dev/urandom > "$WORK/root/100k.bin"
head -c 1048576 /dev/urandom > "$WORK/root/1m.bin"
head -c 10485760 /dev/urandom > "$WORK/root/10m.bin"
# nginx's worker runs as an unprivileged user: it must be able to read the files.
chmod -R a+rX "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nginx() {
  local port=$1
  cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes $WORKERS;
worker_rlimit_nofile 65536;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 60s;
  keepalive_requests 1000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:$port backlog=1024;
    root $WORK/root;
  }
}
CONF
  "${SERVER_CPU[@]}" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>>"$WORK/nginx/stderr" &
  PIDS+=($!)
  SERVER_PID=$!
}

start_ours() {
  local port=$1 model=$2
  "${SERVER_CPU[@]}" "$BIN" --root "$WORK/root" --port "$port" --model "$model" --workers "$WORKERS" \
    --max-connections 20000 --keep-alive-timeout 60s --log-level error < /dev/null > /dev/null 2>"$WORK/ours.err" &
  PIDS+=($!)
  SERVER_PID=$!
}

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on $1" >&2; exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# The processes that do the serving: nginx's workers (children of the master), or ours.
server_pids() {
  local kids
  kids=$(pgrep -P "$SERVER_PID" | paste -sd, - || true)
  if [ -n "$kids" ]; then echo "$kids"; else echo "$SERVER_PID"; fi
}

# The worker's RSS in KiB (for nginx the workers' sum).
rss_kib() {
  local total=0 pid
  for pid in ${1//,/ }; do
    total=$(( total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") ))
  done
  echo "$total"
}

proc_ticks() { # pids -> utime + stime in clock ticks
  local total=0 pid
  for pid in ${1//,/ }; do
    total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") ))
  done
  echo "$total"
}

# CPU accounting around one measured run: cpu_start, the run, cpu_stop -> microseconds.
# perf stat -p counts only the threads that exist when it attaches, so the `threads` model
# (a thread per connection, started during the run) is measured from /proc, whose figures
# for a process include the threads that have ended.
cpu_start() {
  CPU_PIDS=$(server_pids)
  CPU_PERF=$PERF
  [ "${CPU_MODEL:-}" = threads ] && CPU_PERF=0
  if [ "$CPU_PERF" = 1 ]; then
    perf stat -e task-clock -x, -o "$WORK/perf.txt" -p "$CPU_PIDS" 2>/dev/null &
    PERF_PID=$!
    sleep 0.1
  else
    CPU_TICKS=$(proc_ticks "$CPU_PIDS")
  fi
}
cpu_stop() {
  if [ "$CPU_PERF" = 1 ]; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    awk -F, '$3 ~ /task-clock/ {printf "%.0f\n", $1 * 1000}' "$WORK/perf.txt"
  else
    echo $(( ($(proc_ticks "$CPU_PIDS") - CPU_TICKS) * 1000000 / $(getconf CLK_TCK) ))
  fi
}
per_request() { awk -v us="$1" -v n="$2" 'BEGIN { if (n+0 > 0 && us != "") printf "%.1f", us/n; else print "-" }'; }

# The generator's user + system time of its last run (bash's `time`), in microseconds.
TIMEFORMAT='%3U %3S'
gen_us() { awk 'NF == 2 { printf "%.0f\n", ($1 + $2) * 1000000 }' "$WORK/gen.time"; }

# The generator with a 1 s warm-up, then the measured run with CPU accounting for the server
# and the generator. Sets RPS, MIBS (MiB/s of responses), REQS, CPU_US and GEN_US.
run_wrk() { # url conns extra...
  local url=$1 conns=$2; shift 2
  "${LOAD_CPU[@]}" wrk -t1 -c"$conns" -d1s "$@" "$url" >/dev/null 2>&1 || true
  cpu_start
  { time "${LOAD_CPU[@]}" wrk -t1 -c"$conns" -d"${DURATION}s" "$@" "$url" > "$WORK/gen.out" 2>&1 || true; } 2> "$WORK/gen.time"
  CPU_US=$(cpu_stop)
  GEN_US=$(gen_us)
  OUT=$(cat "$WORK/gen.out")
  [ -n "${DEBUG:-}" ] && echo "$OUT" >&2
  REQS=$(echo "$OUT" | awk '/requests in/ {print $1}')
  RPS=$(echo "$OUT" | awk '/Requests\/sec/ {printf "%.0f\n", $2}')
  MIBS=$(echo "$OUT" | awk '/Transfer\/sec/ {v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2); if (u=="GB") n*=1024; if (u=="KB") n/=1024; printf "%.0f\n", n}')
  if echo "$OUT" | grep -q 'Non-2xx'; then echo "bench: wrk saw non-2xx answers: $OUT" >&2; fi
}
run_client() { # url conns extra...
  local url=$1 conns=$2; shift 2
  "${LOAD_CPU[@]}" "$CLIENT" load -c "$conns" -d 1s "$@" "$url" >/dev/null 2>&1 || true
  cpu_start
  { time "${LOAD_CPU[@]}" "$CLIENT" load -c "$conns" -d "${DURATION}s" --json --color never "$@" "$url" > "$WORK/load.json" 2>/dev/null || true; } 2> "$WORK/gen.time"
  CPU_US=$(cpu_stop)
  GEN_US=$(gen_us)
  read -r RPS MIBS REQS < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = sum(n for s, n in d["status"].items() if not s.startswith("2")) + d["errors_total"]
if bad: print("bench: client load saw %d errors or non-2xx answers" % bad, file=sys.stderr)
print(round(d["requests_per_second"]), round(d["bytes_read"] / d["duration_s"] / 1048576), d["requests"])
' "$WORK/load.json" 2>/dev/null || echo "0 0 0")
}
# The chosen generator; "close" asks for a new connection per request.
run_gen() { # url conns [close]
  local close=()
  if [ "$GEN" = client ]; then
    [ "${3:-}" = close ] && close=(--close)
    run_client "$1" "$2" "${close[@]}"
  else
    [ "${3:-}" = close ] && close=(-H "Connection: close")
    run_wrk "$1" "$2" "${close[@]}"
  fi
}
# The line measure prints for a generator run: the figure, then server and generator CPU.
gen_result() { echo "$1 $(per_request "$CPU_US" "$REQS") $(per_request "$GEN_US" "$REQS")"; }

# One measurement: prints "figure server-us-per-request generator-us-per-request" (the figure
# in req/s, MiB/s or bytes per connection).
measure() { # who model point
  local who=$1 model=$2 point=$3 port
  port=$(free_port)
  if [ "$who" = nginx ]; then start_nginx "$port"; else start_ours "$port" "$model"; fi
  CPU_MODEL=$model
  [ "$who" = nginx ] && CPU_MODEL=nginx
  wait_port "$port"
  # Both servers must really serve the file: a 403 would be fast and mean nothing.
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/1k.bin")
  [ "$code" = 200 ] || { echo "bench: $who answered $code for /1k.bin" >&2; stop_server; echo "0 - -"; return; }
  local url=http://127.0.0.1:$port
  case $point in
    ka)    run_gen "$url/1k.bin" 64; gen_result "$RPS" ;;
    close) run_gen "$url/1k.bin" 64 close; gen_result "$RPS" ;;
    100k)  run_gen "$url/100k.bin" 16; gen_result "$MIBS" ;;
    big)   run_gen "$url/1m.bin" 16; gen_result "$MIBS" ;;
    10m)   run_gen "$url/10m.bin" 16; gen_result "$MIBS" ;;
    idle)  local before after ready=$WORK/ready pids
           rm -f "$ready"
           # A few requests first, so lazily built state (date cache, buffers) is in the baseline.
           "${LOAD_CPU[@]}" wrk -t1 -c4 -d1s "$url/1k.bin" >/dev/null 2>&1 || true
           pids=$(server_pids)
           before=$(rss_kib "$pids")
           "${LOAD_CPU[@]}" python3 bench/server/idle_hold.py 127.0.0.1 "$port" /1k.bin "$IDLE_N" "$IDLE_HOLD" "$ready" > "$WORK/idle.out" &
           local client=$!
           while [ ! -e "$ready" ]; do sleep 0.2; kill -0 $client 2>/dev/null || break; done
           sleep "$IDLE_SETTLE"
           after=$(rss_kib "$pids")
           if wait $client; then
             echo "$(( (after - before) * 1024 / IDLE_N )) - -"
           else
             echo "failed($(tr '\n' ' ' < "$WORK/idle.out" | tr -s ' ' '_')) - -"
           fi ;;
    load)  # Ours only: the same server under wrk, then under `client load`, same connections.
           if [ "$who" = wrk ]; then run_wrk "$url/1k.bin" 64; else run_client "$url/1k.bin" 64; fi
           gen_result "$RPS" ;;
  esac
  stop_server
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

pinning="server on core 0, load on core 1"
[ "$PIN" = 1 ] || pinning="unpinned"
cpu_source="perf stat task-clock (threads model: /proc/PID/stat)"
[ "$PERF" = 1 ] || cpu_source="/proc/PID/stat"
echo "workers: $WORKERS each, $pinning; $ROUNDS rounds of ${DURATION}s; load from $GEN; CPU per request from $cpu_source"
echo "(gen us: the generator's CPU per request against server / nginx; near 1e6/req-per-s, the generator is the limit)"
printf '%-8s %-6s %-44s %12s %12s %7s %11s %11s %13s\n' model point what server nginx ratio "server us" "nginx us" "gen us"
for model in $MODELS; do
  for point in $POINTS; do
    ours=(); theirs=(); ours_cpu=(); theirs_cpu=(); ours_gen=(); theirs_gen=()
    rounds=$ROUNDS
    [ "$point" = idle ] && rounds=1
    peer=nginx
    [ "$point" = load ] && peer=wrk
    for _ in $(seq "$rounds"); do
      read -r fig cpu gen < <(measure ours "$model" "$point"); ours+=("$fig"); ours_cpu+=("$cpu"); ours_gen+=("$gen")
      read -r fig cpu gen < <(measure "$peer" "$model" "$point"); theirs+=("$fig"); theirs_cpu+=("$cpu"); theirs_gen+=("$gen")
    done
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    ac=$(printf '%s\n' "${ours_cpu[@]}" | grep -v '^-$' | median || true)
    bc=$(printf '%s\n' "${theirs_cpu[@]}" | grep -v '^-$' | median || true)
    ag=$(printf '%s\n' "${ours_gen[@]}" | grep -v '^-$' | median || true)
    bg=$(printf '%s\n' "${theirs_gen[@]}" | grep -v '^-$' | median || true)
    case $point in
      ka) what="1 KiB keep-alive, 64 conns (req/s)" ;;
      close) what="1 KiB new connection each, 64 conns (req/s)" ;;
      100k) what="100 KiB, 16 conns (MiB/s)" ;;
      big) what="1 MiB, 16 conns (MiB/s)" ;;
      10m) what="10 MiB, 16 conns (MiB/s)" ;;
      idle) what="$IDLE_N idle conns ${IDLE_HOLD}s (bytes RSS/conn)" ;;
      load) what="ours: client load vs wrk, 1 KiB, 64 (req/s)" ;;
    esac
    # The ratio is the median of the rounds' own ratios (each round is a pair, A then B, a few
    # seconds apart), so a slow stretch of a shared machine moves both sides of a pair together
    # instead of one side's median.
    pairs=()
    for i in "${!ours[@]}"; do
      pairs+=("$(awk -v a="${ours[$i]}" -v b="${theirs[$i]}" 'BEGIN { if (b+0 > 0 && a+0 >= 0) printf "%.2f", a/b; else print "-" }')")
    done
    ratio=$(printf '%s\n' "${pairs[@]}" | grep -v '^-$' | median || true)
    ratio=$(awk -v r="$ratio" 'BEGIN { if (r == "" || r == "-") print "-"; else printf "%.2f", r }')
    printf '%-8s %-6s %-44s %12s %12s %7s %11s %11s %13s\n' "$model" "$point" "$what" "$a" "$b" "$ratio" "${ac:--}" "${bc:--}" "${ag:--}/${bg:--}"
    echo "  rounds: server ${ours[*]} | $peer ${theirs[*]} | ratios ${pairs[*]} | CPU us/request: server ${ours_cpu[*]} | $peer ${theirs_cpu[*]} | generator ${ours_gen[*]} | ${theirs_gen[*]}" >&2
  done
done
