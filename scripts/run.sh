#!/usr/bin/env bash
# Quick start: build the web client and a release server, then run Townhall on
# the embedded sled store in ./data (or $TOWNHALL_DATA) at http://127.0.0.1:8080
# (or $TOWNHALL_BIND). The first start makes the 'admin' account and prints
# its password once (or uses $TOWNHALL_ADMIN_PASSWORD).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building the web client"
(cd client-web && npm run build)
echo "== building townhall (release)"
cargo build --release --locked -p townhall-server --bin townhall
exec target/release/townhall serve \
  --bind "${TOWNHALL_BIND:-127.0.0.1:8080}" \
  --data "${TOWNHALL_DATA:-./data}" "$@"
