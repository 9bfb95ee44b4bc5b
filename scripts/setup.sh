#!/usr/bin/env bash
# Install what building and testing Townhall needs beyond Rust: Node packages
# for the web client and, for the browser tests, Debian's Chromium.
# Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_browser="${1:-}"
if [ "$need_browser" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium (Debian package) for the browser tests"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "Chromium is missing: install it with 'sudo apt-get install -y --no-install-recommends chromium'" >&2
    exit 1
  fi
fi

if [ ! -d client-web/node_modules ] || [ client-web/package-lock.json -nt client-web/node_modules/.package-lock.json ]; then
  echo "== npm ci (client-web)"
  # Never download a browser: the tests drive Debian's /usr/bin/chromium.
  (cd client-web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
