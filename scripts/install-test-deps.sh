#!/usr/bin/env bash
# Installs the real peers that protolab's interop tests talk to, on a fresh Debian machine.
# Idempotent: a second run only checks. Needs root (or sudo) for apt-get.
#
# Debian: curl, nginx, swaks, chromium (headless browser tests), wrk (bench/server, bench/client), hyperfine (bench/client).
# PyPI:   aiosmtpd (an SMTP server with STARTTLS and AUTH).
# npm:    http-cache-tests (the HTTP caching conformance suite), installed under .deps/.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(curl nginx swaks chromium python3 wrk hyperfine)
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

# npm: the HTTP caching test suite for the proxy, pinned by .deps/package-lock.json.
if [ ! -d .deps/node_modules/http-cache-tests ]; then
  command -v npm >/dev/null || { echo "install-test-deps: npm (Node.js) is needed for the proxy's caching suite" >&2; exit 1; }
  echo "install-test-deps: npm ci in .deps (http-cache-tests)"
  (cd .deps && npm ci --no-audit --no-fund --silent)
fi

# wrk: the load generator of the benchmarks under bench/.
command -v wrk >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
}

# smtp: swaks needs Net::SSLeay and IO::Socket::SSL for --tls (the interop tests run STARTTLS
# against `smtp serve`); hyperfine times bench/smtp.
smtp_missing=()
for p in libnet-ssleay-perl libio-socket-ssl-perl hyperfine; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || smtp_missing+=("$p")
done
if [ ${#smtp_missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-test-deps: apt-get install ${smtp_missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${smtp_missing[@]}" >/dev/null
fi

echo "install-test-deps: ready"
