#!/usr/bin/env bash
# Static serving: protolab's `server` (release) against nginx (Debian, one worker), side by side
# in one run, alternating A B A B. The server under test is pinned to core 0, wrk to core 1.
#
#   bash bench/server/run.sh                  # epoll model, 3 rounds of 5 s per point
#   MODELS="epoll threads pool" ROUNDS=3 bash bench/server/run.sh
#   POINTS="ka close big idle" ...           # choose the points (default: all four)
#
# Points (all on 127.0.0.1):
#   ka     1 KiB file, keep-alive, 64 connections          (wrk -t1 -c64)
#   close  1 KiB file, a new connection per request, 64     (wrk -H 'Connection: close')
#   big    1 MiB file, 16 connections                       (wrk -t1 -c16)
#   idle   10,000 keep-alive connections held idle 20 s, then a second request on each;
#          resident memory growth per connection
# Prints a table of medians and ratios (server / nginx). Needs nginx, wrk, python3, taskset.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
MODELS=${MODELS:-epoll}
POINTS=${POINTS:-ka close big idle}
IDLE_N=${IDLE_N:-10000}
IDLE_HOLD=${IDLE_HOLD:-20}

for tool in nginx wrk python3 taskset curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing: bash scripts/install-test-deps.sh" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release -q -p server
BIN=$PWD/target/release/server
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
head -c 1048576 /dev/urandom > "$WORK/root/1m.bin"
# nginx's worker runs as an unprivileged user: it must be able to read the files.
chmod -R a+rX "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nginx() {
  local port=$1
  cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
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
  taskset -c 0 nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>>"$WORK/nginx/stderr" &
  PIDS+=($!)
  SERVER_PID=$!
}

start_ours() {
  local port=$1 model=$2
  # One event loop (or, for pool, one reactor and one worker) against nginx's one worker.
  taskset -c 0 "$BIN" --root "$WORK/root" --port "$port" --model "$model" --workers 1 \
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

# The worker's RSS in KiB (for nginx the worker process, the child of the master).
rss_kib() {
  local pid=$1 child
  child=$(pgrep -P "$pid" | head -1 || true)
  [ -n "$child" ] && pid=$child
  awk '/VmRSS/ {print $2}' "/proc/$pid/status"
}

run_wrk() { # url conns extra...
  local url=$1 conns=$2; shift 2
  taskset -c 1 wrk -t1 -c"$conns" -d1s "$@" "$url" >/dev/null 2>&1 || true   # warm-up
  taskset -c 1 wrk -t1 -c"$conns" -d"${DURATION}s" "$@" "$url" 2>&1
}

# One measurement: prints a number (req/s, MiB/s, or bytes per connection).
measure() { # who model point
  local who=$1 model=$2 point=$3 port out
  port=$(free_port)
  if [ "$who" = nginx ]; then start_nginx "$port"; else start_ours "$port" "$model"; fi
  wait_port "$port"
  # Both servers must really serve the file: a 403 would be fast and mean nothing.
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/1k.bin")
  [ "$code" = 200 ] || { echo "bench: $who answered $code for /1k.bin" >&2; stop_server; echo 0; return; }
  case $point in
    ka)    out=$(run_wrk "http://127.0.0.1:$port/1k.bin" 64); echo "$out" | awk '/Requests\/sec/ {print $2}' ;;
    close) out=$(run_wrk "http://127.0.0.1:$port/1k.bin" 64 -H "Connection: close"); echo "$out" | awk '/Requests\/sec/ {print $2}' ;;
    big)   out=$(run_wrk "http://127.0.0.1:$port/1m.bin" 16); [ -n "${DEBUG:-}" ] && echo "$out" >&2
           echo "$out" | awk '/Transfer\/sec/ {v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2); if (u=="GB") n*=1024; if (u=="KB") n/=1024; print n}' ;;
    idle)  local before after ready=$WORK/ready
           rm -f "$ready"
           # A few requests first, so lazily built state (date cache, buffers) is in the baseline.
           taskset -c 1 wrk -t1 -c4 -d1s "http://127.0.0.1:$port/1k.bin" >/dev/null 2>&1 || true
           before=$(rss_kib "$SERVER_PID")
           taskset -c 1 python3 bench/server/idle_hold.py 127.0.0.1 "$port" /1k.bin "$IDLE_N" "$IDLE_HOLD" "$ready" > "$WORK/idle.out" &
           local client=$!
           while [ ! -e "$ready" ]; do sleep 0.2; kill -0 $client 2>/dev/null || break; done
           sleep 1
           after=$(rss_kib "$SERVER_PID")
           if wait $client; then
             echo $(( (after - before) * 1024 / IDLE_N ))
           else
             echo "failed($(tr '\n' ' ' < "$WORK/idle.out"))"
           fi ;;
  esac
  stop_server
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-8s %-6s %-44s %14s %14s %8s\n' model point what server nginx ratio
for model in $MODELS; do
  for point in $POINTS; do
    ours=(); theirs=()
    rounds=$ROUNDS
    [ "$point" = idle ] && rounds=1
    for _ in $(seq "$rounds"); do
      ours+=("$(measure ours "$model" "$point")")
      theirs+=("$(measure nginx "$model" "$point")")
    done
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    case $point in
      ka) what="1 KiB keep-alive, 64 conns (req/s)" ;;
      close) what="1 KiB new connection each, 64 conns (req/s)" ;;
      big) what="1 MiB, 16 conns (MiB/s)" ;;
      idle) what="$IDLE_N idle conns ${IDLE_HOLD}s (bytes RSS/conn)" ;;
    esac
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b+0 > 0 && a+0 >= 0) printf "%.2f", a/b; else print "-" }')
    printf '%-8s %-6s %-44s %14s %14s %8s\n' "$model" "$point" "$what" "$a" "$b" "$ratio"
    echo "  rounds: server ${ours[*]} | nginx ${theirs[*]}" >&2
  done
done
