#!/usr/bin/env bash
# How long `labs check http` takes against protolab's own server, per I/O model (target: the
# whole track, optional steps included, in under 5 s). Most of the time is labs' deliberate
# pauses (a request sent in pieces, a body trickled in): about 1.8 s of the total.
#
#   bash bench/labs/run.sh            # release build, 3 rounds per model
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-3}
cargo build --release -q -p server -p labs
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
printf '%-8s %s\n' model "seconds per round (all 23 steps)"
for model in epoll pool threads; do
  times=()
  for _ in $(seq "$rounds"); do
    start=$EPOCHREALTIME
    PROTOLAB_DATA_DIR=$data target/release/labs check http --optional \
      --run "$PWD/target/release/server --model $model --port {port} --root {dir} --lab" >/dev/null
    end=$EPOCHREALTIME
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')")
  done
  printf '%-8s %s\n' "$model" "${times[*]}"
done
