#!/usr/bin/env bash
# Fuzz the client-frame path (raw bytes → decode → dispatch to the real
# handlers) with cargo-fuzz on stable (-s none: no sanitizer). Installs
# cargo-fuzz if missing. FUZZ_SECONDS sets the duration (default 60).
#
# FUZZ_QUICK_BUILD=1 (CI's short run): build the target with opt-level 1 and
# 16 codegen units instead of cargo-fuzz's release default of one codegen
# unit per crate, which compiles the whole server (tantivy and async-nats
# included) on one core per crate and was ~750 s of CI's 34 minutes. The
# target then runs fewer executions per second: fine for a one-minute
# smoke run; scripts/long-tests.sh fuzzes the full-speed build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
cd fuzz
mkdir -p target/corpus
build=()
if [ "${FUZZ_QUICK_BUILD:-0}" = 1 ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
  build=(--codegen-units 16)
fi
cargo fuzz run -s none "${build[@]}" client_frame target/corpus seeds/client_frame -- \
  -max_total_time="${FUZZ_SECONDS:-60}" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1
