#!/usr/bin/env bash
# `client load` against wrk, same nginx, same connections, both pinned to core 1 (nginx on 0).
# Rounds alternate between the two; the ratio of medians is printed at the end.
# Needs: nginx, wrk, a release build (cargo build --release -p client).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENT=${CLIENT:-target/release/client}
CONNS=${CONNS:-64}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
source bench/client/nginx.sh
URL="http://127.0.0.1:$NGINX_PORT/1k.html"
wrk_rps=(); client_rps=()
taskset -c 1 wrk -t1 -c"$CONNS" -d1s "$URL" >/dev/null   # warm-up
for round in $(seq "$ROUNDS"); do
  w=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" "$URL" | awk '/Requests\/sec/ {print $2}')
  c=$(taskset -c 1 "$CLIENT" load -c "$CONNS" -d "${SECS}s" --json "$URL" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["requests_per_second"]))')
  echo "round $round: wrk $w req/s, client load $c req/s"
  wrk_rps+=("$w"); client_rps+=("$c")
done
python3 - "${wrk_rps[*]}" "${client_rps[*]}" <<'PY'
import statistics, sys
w = [float(x) for x in sys.argv[1].split()]
c = [float(x) for x in sys.argv[2].split()]
mw, mc = statistics.median(w), statistics.median(c)
print(f"median: wrk {mw:.0f} req/s, client load {mc:.0f} req/s, ratio {mc/mw:.2f}")
PY
