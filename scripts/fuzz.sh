#!/usr/bin/env bash
# Fuzz the client-frame path (raw bytes → decode → dispatch to the real
# handlers) with cargo-fuzz on stable (-s none: no sanitizer). Installs
# cargo-fuzz if missing. FUZZ_SECONDS sets the duration (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
cd fuzz
mkdir -p target/corpus
cargo fuzz run -s none client_frame target/corpus seeds/client_frame -- \
  -max_total_time="${FUZZ_SECONDS:-60}" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1
