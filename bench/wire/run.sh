#!/usr/bin/env bash
# Instructions per request on wire::http1's hot path, counted by callgrind (repeatable on a busy
# machine, unlike wall-clock time). Each phase of bench/wire/http1_hot_path.rs runs twice, with
# LOW and HIGH iterations; the difference divided by HIGH - LOW is the cost of one iteration,
# start-up and the first allocations excluded.
#
#   bash bench/wire/run.sh                      # every phase
#   PHASES="exchange write" bash bench/wire/run.sh
#   BIN=/path/to/http1_hot_path bash bench/wire/run.sh   # an example built elsewhere (an older wire)
#
# Needs valgrind. Builds the example with the `profiling` profile (release with line tables).
set -euo pipefail
cd "$(dirname "$0")/../.."

PHASES=${PHASES:-raw-wrk raw-curl raw-browser raw-large httparse-wrk httparse-curl httparse-browser httparse-large head-wrk head-curl head-browser write exchange}
LOW=${LOW:-200}
HIGH=${HIGH:-2200}

command -v valgrind >/dev/null || { echo "bench: valgrind is missing (apt-get install valgrind)" >&2; exit 2; }

if [ -z "${BIN:-}" ]; then
  cargo build -q --profile profiling -p wire --example http1_hot_path
  BIN=$PWD/target/profiling/examples/http1_hot_path
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Total instructions of one run.
instructions() { # phase iterations
  valgrind --tool=callgrind --callgrind-out-file="$WORK/out" "$BIN" "$1" "$2" >/dev/null 2>"$WORK/err" \
    || { cat "$WORK/err" >&2; exit 1; }
  awk '/Collected :/ {print $NF}' "$WORK/err"
}

printf '%-18s %14s\n' phase 'instr/iter'
for phase in $PHASES; do
  low=$(instructions "$phase" "$LOW")
  high=$(instructions "$phase" "$HIGH")
  printf '%-18s %14d\n' "$phase" $(( (high - low) / (HIGH - LOW) ))
done
