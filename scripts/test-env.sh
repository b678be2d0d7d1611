#!/usr/bin/env bash
# Installs and checks what the tests talk to, on a fresh Debian machine. Idempotent: on a machine
# that already has everything it only checks. Run as root (CI is); otherwise it says what is
# missing, and the tests that need it skip locally and fail under CI=true.
set -euo pipefail

# redis-server: real Redis for sessions, throttling and pub/sub tests.
# chromium: the browser the SDK's end-to-end tests drive (chromedp).
# nodejs: the SDK's unit tests (node --test); most machines already have Node.
packages=(redis-server chromium)
command -v node >/dev/null || packages+=(nodejs)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-env: missing ${missing[*]} and not root; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
  echo "test-env: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian package starts a system redis-server on 6379; tests start their own on free ports,
# so the system one is left as the package set it up.
command -v redis-server >/dev/null && echo "test-env: $(redis-server --version | cut -d' ' -f1-3)"
command -v chromium >/dev/null && echo "test-env: $(chromium --version 2>/dev/null)"
command -v node >/dev/null && echo "test-env: node $(node --version)"
echo "test-env: $(go version)"
