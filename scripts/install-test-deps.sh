#!/usr/bin/env bash
# Installs the real peers that protolab's interop tests and benchmarks talk to, on a stock Debian
# 12 (bookworm) or 13 (trixie). Idempotent: a second run only checks. Needs root (or sudo) for
# apt-get. Nothing is installed into the system Python with pip (Debian refuses it, PEP 668).
#
# Debian: openssl (self-signed certificates as learners make them), curl, nginx, swaks (+ the
#         Perl TLS modules its --tls needs), chromium (headless browser tests), python3, wrk and
#         hyperfine (the benchmarks under bench/), libxml2-utils (xmllint: labs' JUnit output
#         checked against a schema), tshark and tcpdump (labs trace pcap/import read back and fed real
#         loopback captures), nodejs (a learner's JavaScript server in labs' corpus).
# Python: aiosmtpd (an SMTP server with STARTTLS and AUTH): Debian's python3-aiosmtpd; when the
#         python3 first on PATH cannot import it (a python3 of your own, say), a virtual
#         environment in .deps/venv that the interop tests use (pip installs into it only).
# npm:    http-cache-tests (the HTTP caching conformance suite), pinned by .deps/package-lock.json;
#         Debian's npm when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_updated=""
# apt_install PACKAGE...: installs those not installed yet.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "install-test-deps: apt-get install ${missing[*]}"
  if [ -z "$apt_updated" ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install openssl curl nginx swaks libnet-ssleay-perl libio-socket-ssl-perl chromium python3 \
  python3-aiosmtpd wrk hyperfine libxml2-utils tshark tcpdump nodejs

# aiosmtpd for the python3 the tests run: Debian's package serves Debian's python3; any other
# python3 first on PATH gets a virtual environment (the tests prefer .deps/venv/bin/python3).
has_aiosmtpd() { "$1" -c 'import aiosmtpd' 2>/dev/null; }
if ! has_aiosmtpd python3 && ! { [ -x .deps/venv/bin/python3 ] && has_aiosmtpd .deps/venv/bin/python3; }; then
  echo "install-test-deps: python3 ($(command -v python3)) has no aiosmtpd: a virtual environment in .deps/venv"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt_install python3-venv   # Debian splits venv's pip bootstrap out of python3
  fi
  rm -rf .deps/venv
  python3 -m venv .deps/venv
  .deps/venv/bin/python3 -m pip install -q aiosmtpd
  has_aiosmtpd .deps/venv/bin/python3
fi

if [ ! -d .deps/node_modules/http-cache-tests ]; then
  command -v npm >/dev/null || apt_install npm
  echo "install-test-deps: npm ci in .deps (http-cache-tests)"
  (cd .deps && npm ci --no-audit --no-fund --silent)
fi

echo "install-test-deps: ready"
