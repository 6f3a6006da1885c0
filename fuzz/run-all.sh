#!/usr/bin/env bash
# Runs every fuzz target in turn (one at a time: fuzzing uses a whole core), each for
# SECONDS_PER_TARGET seconds (default 300), and prints one summary line per target.
#
#   bash fuzz/run-all.sh            # 5 minutes per target
#   bash fuzz/run-all.sh 60         # 1 minute per target
#   bash fuzz/run-all.sh 60 chunked # only the chunked target
#
# The toolchain is stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags, and `-s none`
# builds without a sanitizer (wire forbids unsafe code, so there is no memory error to catch;
# panics, hangs and out-of-memory are what libFuzzer reports).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-300}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(request_head response_head chunked trace_parse trace_render)
fi

if ! command -v cargo-fuzz >/dev/null; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

# A few well-formed inputs so each target starts from the shapes that matter.
seed() {
    local target="$1" name="$2"
    shift 2
    mkdir -p "corpus/$target"
    [ -e "corpus/$target/$name" ] || printf "$@" > "corpus/$target/$name"
}
seed request_head get 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n'
seed request_head post 'POST /echo HTTP/1.1\r\nHost: a:8080\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'
seed request_head absolute 'GET http://example.org:80/a?b=c HTTP/1.0\r\nUser-Agent: x\r\n\r\n'
seed request_head connect 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n'
seed request_head folded '\r\nOPTIONS * HTTP/1.1\nHost: h\nX: a\n  b\nY : c\n\n'
seed response_head ok 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\nDate: Thu, 01 Jan 2026 12:00:00 GMT\r\n\r\n'
seed response_head empty-reason 'HTTP/1.0 204 \r\nConnection: close\r\n\r\n'
seed response_head lenient 'HTTP/1.1 301 Moved\nLocation: /x\n  continued\nA : b\n\n'
seed chunked simple '\x00a\r\n0123456789\r\n0\r\n\r\n'
seed chunked extensions '\x07''4;a=b;c="d\\"e"\r\nWiki\r\n0\r\nX-T: 1\r\n\r\n'
seed chunked bare-lf '\x013\nabc\n0\n\n'
for file in ../tests/traces/*/*.trace; do
    name="$(basename "$(dirname "$file")")-$(basename "$file")"
    mkdir -p corpus/trace_parse
    [ -e "corpus/trace_parse/$name" ] || cp "$file" "corpus/trace_parse/$name"
done
seed trace_render mixed '\x00\x05hello\x01\x04\r\n \\\x38\x03<ab\x19\x02zz'

export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none >/dev/null

status=0
for target in "${targets[@]}"; do
    log="$(mktemp)"
    if cargo fuzz run "$target" -s none -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        result="ok"
    else
        result="FAILED (see fuzz/artifacts/$target/)"
        status=1
    fi
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')"
    corpus="$(find "corpus/$target" -type f | wc -l)"
    echo "$target: $result, ${seconds}s, $runs executions ($rate/s), coverage $cov, corpus $corpus"
    if [ "$result" != "ok" ]; then
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -20 >&2
    fi
    rm -f "$log"
done
exit "$status"
