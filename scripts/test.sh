#!/usr/bin/env bash
# The whole test suite: formatting and lints, Rust unit and black-box tests
# against the real townhall binary, the web client's unit tests, and the
# browser tests in headless Chromium against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# Each phase prints how long the one before it took (CI has a time budget:
# see where it goes).
phase_start=$SECONDS
phase_name=""
phase() {
  if [ -n "$phase_name" ]; then
    echo "-- $phase_name: $((SECONDS - phase_start)) s (total $SECONDS s)"
  fi
  phase_name="$1"
  phase_start=$SECONDS
  echo "== $1"
}

phase "setup (toolchains, Chromium, slapd, oidc-provider, npm packages)"
scripts/setup.sh --browser

phase "cargo fmt --check"
cargo fmt --all -- --check
phase "cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

phase "web client: typecheck + build (the server serves client-web/dist)"
(cd client-web && npm run build)

phase "building the townhall binary for the black-box tests"
cargo build --locked -p townhall-server --bin townhall

phase "cargo test (unit, wire snapshots, the protocol schema, store on sled and memory, black-box, the Python example client)"
cargo test --locked --workspace

phase "Autobahn WebSocket conformance (kosoku, groups 1-10)"
scripts/autobahn.sh

phase "fuzzing decode + dispatch (short run; scripts/long-tests.sh runs 10 minutes)"
FUZZ_QUICK_BUILD=1 FUZZ_SECONDS=60 scripts/fuzz.sh > target/fuzz-ci.log 2>&1 || { tail -n 60 target/fuzz-ci.log; exit 1; }
tail -n 8 target/fuzz-ci.log

phase "load generator smoke run (every workload, tiny sizes, debug build: correctness, not speed)"
scripts/bench.sh --smoke --debug

phase "web client unit tests (vitest)"
(cd client-web && npm test)

phase "browser tests (Playwright + Debian Chromium, real townhall binary)"
(cd client-web && TOWNHALL_BIN="$PWD/../target/debug/townhall" npx playwright test)

phase "all tests passed"
