#!/usr/bin/env bash
# Fuzz the client-frame path (raw bytes → decode → dispatch to the real
# handlers) with cargo-fuzz on stable (-s none: no sanitizer). Installs
# cargo-fuzz if missing. FUZZ_SECONDS sets the duration (default 60).
#
# FUZZ_QUICK_BUILD=1 (CI's short run): build the target in cargo's dev
# profile (`--dev`: no optimisation) instead of cargo-fuzz's release
# default of one codegen unit per crate, which compiles the whole server
# (tantivy, async-nats, ldap3, image) slowly on one core per crate: the
# fuzz phase was 895 s of CI's 37 minutes. Measured on this machine while
# it was loaded: the dev build took 700 s of CPU; the unoptimised target
# runs about 6x fewer executions a second (1,570/s against ~10,000/s),
# enough for a one-minute smoke run. An opt-level 1 build with 16 codegen
# units (tried first) saved nothing measurable. scripts/long-tests.sh
# fuzzes the full-speed release build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
cd fuzz
mkdir -p target/corpus
build=()
if [ "${FUZZ_QUICK_BUILD:-0}" = 1 ]; then
  build=(--dev)
fi
cargo fuzz run -s none "${build[@]}" client_frame target/corpus seeds/client_frame -- \
  -max_total_time="${FUZZ_SECONDS:-60}" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1
