# Sourced by the client benchmarks: starts nginx on a free loopback port with a 1 KiB file,
# pinned to core 0, one worker; sets NGINX_PORT and stops it on exit.
set -euo pipefail
BENCH_DIR=$(mktemp -d)
mkdir -p "$BENCH_DIR/www"
head -c 1024 /dev/zero | tr '\0' 'x' > "$BENCH_DIR/www/1k.html"
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$BENCH_DIR/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $BENCH_DIR/nginx.pid;
error_log $BENCH_DIR/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $BENCH_DIR/body;
  proxy_temp_path $BENCH_DIR/proxy;
  fastcgi_temp_path $BENCH_DIR/fastcgi;
  uwsgi_temp_path $BENCH_DIR/uwsgi;
  scgi_temp_path $BENCH_DIR/scgi;
  server { listen 127.0.0.1:$NGINX_PORT backlog=4096; root $BENCH_DIR/www; }
}
CONF
taskset -c 0 nginx -p "$BENCH_DIR" -c "$BENCH_DIR/nginx.conf" -e "$BENCH_DIR/error.log" &
NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$BENCH_DIR"' EXIT
for _ in $(seq 200); do
  curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/1k.html" && break
  sleep 0.05
done
