#!/usr/bin/env bash
# Third-party checks of server, proxy and nginx side by side, on loopback:
#   - http-desync-guardian's corpus (the tests/*.yaml of the http_desync_guardian crate,
#     fetched with `cargo fetch`): every request sent to each, outcomes counted by the
#     corpus's verdict (desync_corpus.py);
#   - REDbot (PyPI `redbot`, in a venv under .deps/): its notes on the same resources.
#
#   bash bench/hostile/run.sh            (needs nginx, python3 with PyYAML; builds debug)
#
# Not obtainable from the registries reachable here (crates.io, PyPI, npm, Debian), so not run:
# h1spec, smuggler, the HTTP Garden's payloads.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/hostile
# BIN=DIR uses the server and proxy binaries there instead of building them.
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build -q -p server -p proxy; bin=./target/debug; fi
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# The corpus, through cargo's ordinary download of the crate.
mkdir -p "$work/fetch/src"
printf '[package]\nname = "fetch-corpus"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nhttp_desync_guardian = "=0.1.3"\n' > "$work/fetch/Cargo.toml"
touch "$work/fetch/src/lib.rs"
(cd "$work/fetch" && cargo fetch -q)
crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/http_desync_guardian-0.1.3.crate | head -1)
tar -xzf "$crate" -C "$work"
corpus="$work/http_desync_guardian-0.1.3/tests"

# REDbot in a venv of its own.
if [ ! -x .deps/redbot/bin/redbot ]; then
  python3 -m venv .deps/redbot
  .deps/redbot/bin/pip install -q 'redbot==2.7.1'
fi

# The same folder for every server.
root="$work/root"
mkdir -p "$root"
printf '<!doctype html>\n<title>hostile</title>\n<p>hello</p>\n' > "$root/index.html"
for _ in $(seq 40); do printf 'body { color: #222; }\n'; done > "$root/style.css"
printf 'plain text\n' > "$root/hello.txt"

server=$(free_port); proxy=$(free_port); nginx=$(free_port); nginx_proxy=$(free_port)
$bin/server --root "$root" --port "$server" >/dev/null 2>&1 & pids+=($!)
$bin/proxy --port "$proxy" --cache-dir "$work/cache" --only-loopback-upstreams >/dev/null 2>&1 & pids+=($!)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  gzip on;
  gzip_types text/css text/plain;
  server { listen 127.0.0.1:$nginx; root $root; }
  server { listen 127.0.0.1:$nginx_proxy; location / { proxy_pass http://127.0.0.1:$server; } }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)
for p in $server $proxy $nginx $nginx_proxy; do wait_port "$p"; done

echo "== http-desync-guardian corpus ($(grep -h '^- name' "$corpus"/*.yaml | wc -l) requests), refused = 400/414/431/501/505 or closed"
echo "-- server (static)";             python3 $here/desync_corpus.py "$corpus" "127.0.0.1:$server"
echo "-- nginx (static)";              python3 $here/desync_corpus.py "$corpus" "127.0.0.1:$nginx"
echo "-- proxy (absolute form, to server)"; python3 $here/desync_corpus.py "$corpus" "127.0.0.1:$proxy" --absolute "127.0.0.1:$server"
echo "-- nginx proxy_pass (to server)"; python3 $here/desync_corpus.py "$corpus" "127.0.0.1:$nginx_proxy"

echo
echo "== REDbot $(.deps/redbot/bin/pip show redbot | awk '/^Version/ {print $2}'): notes per resource (bad / warning / info+good)"
redbot_counts() {
  .deps/redbot/bin/redbot -o har "$1" > "$work/red.json" 2>/dev/null || true
  printf '%-52s %s\n' "$1" "$(python3 $here/redbot_counts.py < "$work/red.json")"
}
for path in / /style.css /hello.txt /missing; do
  redbot_counts "http://127.0.0.1:$server$path"
  redbot_counts "http://127.0.0.1:$nginx$path"
  redbot_counts "http://127.0.0.1:$proxy/http://127.0.0.1:$server$path"
done
