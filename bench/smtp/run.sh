#!/usr/bin/env bash
# bench/smtp: `smtp send` against swaks, one whole process each, sending the same message to
# the same local sink in one hyperfine run; then base64 of a 25 MiB attachment.
#
#   bash bench/smtp/run.sh            (needs hyperfine and swaks: scripts/install-test-deps.sh)
#
# The sink (`smtp serve`, release build) is pinned to core 0, the senders to core 1. Results are
# printed and written to target/bench-smtp/ (hyperfine JSON and markdown).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in hyperfine swaks taskset; do
  command -v "$tool" >/dev/null || { echo "bench/smtp: $tool is missing (bash scripts/install-test-deps.sh)" >&2; exit 1; }
done

cargo build --release -q -p smtp --bin smtp --example base64_throughput
smtp=target/release/smtp
out=target/bench-smtp
rm -rf "$out" && mkdir -p "$out"

# The message: headers, a paragraph of text and a small base64 attachment (about 5 KiB), built
# once by smtp send itself so both senders send the same bytes.
cat > "$out/body.txt" <<'TEXT'
Hello Bob,

this is the benchmark message. It is an ordinary short mail with a small attachment,
the kind a lab sends: a few header fields, some text, one file.
.A line that starts with a dot, to be stuffed.
TEXT
head -c 3000 /dev/urandom > "$out/attachment.bin"

taskset -c 0 "$smtp" serve --port 0 --no-tls --maildir "$out/maildir" > "$out/serve.log" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  addr=$(head -1 "$out/serve.log" 2>/dev/null | sed -n 's/^smtp sink listening on //p')
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "bench/smtp: the sink did not start" >&2; exit 1; }
port=${addr##*:}

"$smtp" send --server "$addr" --from alice@example.org --to bob@example.org --subject "bench" \
  --body-file "$out/body.txt" --attach "$out/attachment.bin" > /dev/null
cp "$(ls "$out"/maildir/new/* | head -1)" "$out/message.eml"
echo "bench/smtp: message of $(wc -c < "$out/message.eml") bytes, sink on $addr"

hyperfine -N --warmup 5 --runs 60 \
  --export-json "$out/send.json" --export-markdown "$out/send.md" \
  -n "smtp send" "taskset -c 1 $smtp send --server $addr --helo bench.example --from alice@example.org --to bob@example.org --raw $out/message.eml" \
  -n "swaks" "taskset -c 1 swaks --silent 2 --server 127.0.0.1 --port $port --helo bench.example --from alice@example.org --to bob@example.org --data @$out/message.eml"

python3 - "$out/send.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ours, swaks = r["smtp send"]["mean"], r["swaks"]["mean"]
print(f"smtp send {ours*1e3:.2f} ms, swaks {swaks*1e3:.2f} ms: ratio {ours/swaks:.3f} (target <= 0.200)")
PY

echo
taskset -c 1 target/release/examples/base64_throughput
