#!/usr/bin/env bash
# One-shot GET as a whole process: `client URL` against `curl -s URL`, same URL, same run.
# Needs: nginx, curl, hyperfine, a release build (cargo build --release -p client).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENT=${CLIENT:-target/release/client}
source bench/client/nginx.sh
URL="http://127.0.0.1:$NGINX_PORT/1k.html"
taskset -c 1 hyperfine -N --warmup 50 --runs "${RUNS:-1000}" \
  "curl -s $URL -o /dev/null" \
  "$CLIENT -s $URL -o /dev/null" \
  --export-markdown "${OUT:-/dev/stdout}"
