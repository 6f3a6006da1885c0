#!/usr/bin/env bash
# Runs the HTTP caching test suite (npm http-cache-tests, installed in .deps/ by
# scripts/install-test-deps.sh) through a proxy already listening on PROXY_ADDR, with the
# suite's own origin on a free loopback port; prints the summary line of summarize.mjs.
#   proxy/cache-suite/run.sh 127.0.0.1:8888 [results.json]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
suite="$root/.deps/node_modules/http-cache-tests"
proxy_addr="$1"
results="${2:-$(mktemp)}"
[ -d "$suite" ] || { echo "run.sh: $suite is missing; run scripts/install-test-deps.sh" >&2; exit 2; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
workdir=$(mktemp -d)
( cd "$workdir" && npm_config_port=$port npm_config_protocol=http npm_config_pidfile="$workdir/server.pid" \
    exec node -r "$here/loopback.cjs" "$suite/server/server.mjs" >"$workdir/origin.log" 2>&1 ) &
origin=$!
trap 'kill $origin 2>/dev/null || true; wait $origin 2>/dev/null || true; rm -rf "$workdir"' EXIT
for _ in $(seq 100); do grep -q Listening "$workdir/origin.log" 2>/dev/null && break; sleep 0.05; done
( cd "$suite" && npm_config_base="http://$proxy_addr/http://127.0.0.1:$port" npm_config_id="" npm_package_config_id="" \
    node --no-warnings cli.mjs ) >"$results"
node "$here/summarize.mjs" "$suite" "$results"
