#!/usr/bin/env bash
# The long reliability suite (tens of minutes): more kill -9 runs, more
# model-test cases, a 10-minute fuzz run, and the Autobahn cases. The short
# versions of each run in scripts/test.sh (and so in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p townhall-server --bin townhall

echo "== kill -9 under load, 20 runs"
TOWNHALL_KILL_RUNS=20 cargo test --locked -p townhall-tests --test process sigkill -- --nocapture

echo "== cluster: kill -9 of a node and of the stream leader, 10 runs"
TOWNHALL_CLUSTER_KILL_RUNS=10 cargo test --locked -p townhall-tests --test cluster kill_9 -- --nocapture

echo "== model-based test, 2000 cases"
TOWNHALL_MODEL_CASES=2000 cargo test --locked -p townhall-server --test model

echo "== Autobahn"
scripts/autobahn.sh

echo "== fuzzing decode + dispatch for 10 minutes"
FUZZ_SECONDS=600 scripts/fuzz.sh

echo "== long suite passed"
