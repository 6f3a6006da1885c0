#!/usr/bin/env bash
# Instructions per cache hit, counted by callgrind (stable on a busy machine, unlike req/s).
#
#   bash bench/proxy/callgrind.sh          (needs valgrind, python3; builds the `profiling` profile)
#
# The proxy runs under callgrind twice, serving N1 and then N2 hits of a 1 KiB object on one
# keep-alive connection (hits.py); (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one hit with
# start-up, the first miss and shutdown cancelled out. KEEP=1 keeps the callgrind.out files for
# callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/../.."
N1=${N1:-200}
N2=${N2:-2200}
cargo build --profile profiling -q -p proxy -p server
bin=./target/profiling
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

mkdir -p "$work/root"
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$work/root/1k.bin"
touch -d '2020-01-01 00:00:00' "$work/root/1k.bin"
origin=$(free_port)
$bin/server --root "$work/root" --port "$origin" --model epoll --workers 1 >/dev/null 2>&1 &
pids+=($!)
wait_port "$origin"
target="http://127.0.0.1:$origin/1k.bin"

count() { # hits -> instructions of the whole proxy run
  local n=$1 port out
  port=$(free_port)
  out="$work/callgrind.out.$n"
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    $bin/proxy --port "$port" --cache-dir "$work/cache-$n" --only-loopback-upstreams 2>/dev/null &
  local pid=$!
  wait_port "$port"
  curl -s -o /dev/null -x "http://127.0.0.1:$port" "$target"   # the miss that stores it
  python3 bench/proxy/hits.py "$port" "$target" "$n"
  kill -INT "$pid"; wait "$pid" || true
  awk '/^summary:/ {print $2}' "$out"
}
a=$(count "$N1"); b=$(count "$N2")
echo "instructions: $N1 hits $a, $N2 hits $b"
echo "per hit: $(( (b - a) / (N2 - N1) ))"
[ "${KEEP:-0}" = 1 ] && echo "kept: $work/callgrind.out.$N2"
