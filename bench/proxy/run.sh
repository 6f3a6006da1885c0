#!/usr/bin/env bash
# Cache hits through `proxy` and through nginx `proxy_cache`, side by side in one run, and the
# latency a miss adds over fetching from the origin directly.
#
#   bash bench/proxy/run.sh            (needs nginx, wrk, taskset, perf; builds the release binaries)
#
# Origin: the workspace's `server` serving a 1 KiB file whose Last-Modified is years old (so both
# caches may keep it fresh: nginx by proxy_cache_valid, proxy by RFC 9111 heuristic freshness).
# The caches are pinned to core 0, wrk (one thread) and the origin to core 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
cargo build --release -q -p proxy -p server
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

mkdir -p "$work/root" "$work/cache" "$work/nginx-cache"
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$work/root/1k.bin"
touch -d '2020-01-01 00:00:00' "$work/root/1k.bin"

origin=$(free_port); proxy_port=$(free_port); nginx_port=$(free_port)
taskset -c 1 ./target/release/server --root "$work/root" --port "$origin" --model epoll --workers 1 2>/dev/null &
pids+=($!)
taskset -c 0 ./target/release/proxy --port "$proxy_port" --cache-dir "$work/cache" --cache-size 256M 2>/dev/null &
proxy_pid=$!
pids+=($!)
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  proxy_cache_path $work/nginx-cache keys_zone=bench:10m;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://127.0.0.1:$origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 10m;
    }
  }
}
NGINX
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" 2>/dev/null &
pids+=($!)
wait_port "$origin"; wait_port "$proxy_port"; wait_port "$nginx_port"

target="http://127.0.0.1:$origin/1k.bin"
# Warm both caches.
curl -s -o /dev/null -x "http://127.0.0.1:$proxy_port" "$target"
curl -s -o /dev/null -x "http://127.0.0.1:$nginx_port" "$target"
hit=$(curl -s -D - -o /dev/null -x "http://127.0.0.1:$proxy_port" "$target" | tr -d '\r' | grep -i '^x-cache' || true)
echo "proxy says: $hit"

nginx_worker=$(pgrep -P "$(cat "$work/nginx.pid")" nginx | head -1)
# port pid -> "requests/s CPU-microseconds-per-request" for 1 KiB hits at 64 connections. The CPU
# time (perf stat's task-clock of the cache's process over the round) does not depend on how busy
# the machine is the way requests/s does.
rps() {
  perf stat -x, -e task-clock -p "$2" -o "$work/stat" -- sleep "${DURATION%s}" &
  local stat=$!
  local out
  out=$(TARGET=$target UNIQUE=0 taskset -c 1 wrk -t1 -c64 -d"$DURATION" -s bench/proxy/absolute.lua "http://127.0.0.1:$1")
  wait "$stat"
  local reqs rate ms
  rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  ms=$(awk -F, '/task-clock/ {print $1}' "$work/stat")
  echo "$rate $(echo "$ms * 1000 / $reqs" | bc -l)"
}
echo "cache hits, 1 KiB, 64 keep-alive connections, wrk -t1 -d$DURATION (req/s; CPU us per request)"
printf "%-6s %12s %12s %7s %10s %10s\n" round proxy nginx ratio proxy-cpu nginx-cpu
for r in $(seq "$ROUNDS"); do
  read -r p pc < <(rps "$proxy_port" "$proxy_pid"); read -r n nc < <(rps "$nginx_port" "$nginx_worker")
  printf "%-6s %12s %12s %7.2f %10.2f %10.2f\n" "$r" "$p" "$n" "$(echo "$p / $n" | bc -l)" "$pc" "$nc"
done

median_ms() { # url-base, unique -> median latency in ms at one connection
  TARGET=$2 UNIQUE=1 taskset -c 1 wrk -t1 -c1 -d"$DURATION" --latency -s bench/proxy/absolute.lua "$1" \
    | awk '$1=="50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'
}
echo
echo "miss latency (every request a new URI, so every one is a miss that is stored), wrk -c1, median"
direct=$(TARGET=/1k.bin UNIQUE=1 taskset -c 1 wrk -t1 -c1 -d"$DURATION" --latency -s bench/proxy/absolute.lua "http://127.0.0.1:$origin" \
  | awk '$1=="50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)}; print v}')
through=$(median_ms "http://127.0.0.1:$proxy_port" "$target")
printf "origin directly: %.3f ms   through proxy (miss): %.3f ms   added: %.3f ms\n" "$direct" "$through" "$(echo "$through - $direct" | bc -l)"
