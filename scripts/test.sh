#!/usr/bin/env bash
# The whole test suite: formatting and lints, Rust unit and black-box tests
# against the real townhall binary, the web client's unit tests, and the
# browser tests in headless Chromium against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

scripts/setup.sh --browser

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

echo "== web client: typecheck + build (the server serves client-web/dist)"
(cd client-web && npm run build)

echo "== building the townhall binary for the black-box tests"
cargo build --locked -p townhall-server --bin townhall

echo "== cargo test (unit, wire snapshots, the protocol schema, store on sled and memory, black-box, the Python example client)"
cargo test --locked --workspace

echo "== Autobahn WebSocket conformance (kosoku, groups 1-10)"
scripts/autobahn.sh

echo "== fuzzing decode + dispatch (short run; scripts/long-tests.sh runs 10 minutes)"
FUZZ_SECONDS=60 scripts/fuzz.sh > target/fuzz-ci.log 2>&1 || { tail -n 60 target/fuzz-ci.log; exit 1; }
tail -n 8 target/fuzz-ci.log

echo "== load generator smoke run (every workload, tiny sizes: correctness, not speed)"
scripts/bench.sh --smoke

echo "== web client unit tests (vitest)"
(cd client-web && npm test)

echo "== browser tests (Playwright + Debian Chromium, real townhall binary)"
(cd client-web && TOWNHALL_BIN="$PWD/../target/debug/townhall" npx playwright test)

echo "== all tests passed"
