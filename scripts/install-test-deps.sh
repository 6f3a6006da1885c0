#!/usr/bin/env bash
# Installs the real peers that protolab's interop tests and benchmarks talk to, on a fresh Debian
# machine. Idempotent: a second run only checks. Needs root (or sudo) for apt-get.
#
# Debian: openssl (self-signed certificates as learners make them), curl, nginx, swaks (+ the
#         Perl TLS modules its --tls needs), chromium (headless browser tests), python3, wrk and
#         hyperfine (the benchmarks under bench/), libxml2-utils (xmllint: labs' JUnit output
#         checked against a schema), tshark and tcpdump (labs trace pcap/import read back and fed real
#         loopback captures).
# Debian: nodejs (a learner's JavaScript server in labs' corpus; npm below needs it too).
# PyPI:   aiosmtpd (an SMTP server with STARTTLS and AUTH).
# npm:    http-cache-tests (the HTTP caching conformance suite), pinned by .deps/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(openssl curl nginx swaks libnet-ssleay-perl libio-socket-ssl-perl chromium python3 wrk hyperfine libxml2-utils tshark tcpdump nodejs)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-test-deps: apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 - <<'PY' 2>/dev/null || { echo "install-test-deps: pip install aiosmtpd"; python3 -m pip install -q aiosmtpd; }
import aiosmtpd
PY

if [ ! -d .deps/node_modules/http-cache-tests ]; then
  command -v npm >/dev/null || { echo "install-test-deps: npm (Node.js) is needed for the proxy's caching suite" >&2; exit 1; }
  echo "install-test-deps: npm ci in .deps (http-cache-tests)"
  (cd .deps && npm ci --no-audit --no-fund --silent)
fi

echo "install-test-deps: ready"
