#!/usr/bin/env bash
# A/B of two townhall binaries (issue 18): the same short workloads, run
# old/new/old/new within the same minutes, because on this shared virtual
# machine only interleaved runs can be compared (docs/benchmarks.md, "How
# much the figures move"). One JSON line per run to $OUT, then a table.
#
#   scripts/ab.sh OLD_TOWNHALL NEW_TOWNHALL TOWNHALL_LOAD [ROUNDS]
#
# Both servers start on copies of one pool (made once by the first run, with
# OLD_TOWNHALL; both must read the same schema). ROUNDS (2) old/new pairs of
# each workload; each run is 2 s of warm-up and 6 s measured, so the whole
# thing takes about 3 minutes with the default 2 rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
old="$1" new="$2" load="$3" rounds="${4:-2}"
pool="${POOL:-target/bench-pool-ab}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p target/bench
out="${OUT:-target/bench/ab-$stamp.jsonl}"

pin=() server_pin=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin=(taskset -c 1)
  server_pin=(--server-cpus 0)
fi
common=(--warmup 2 --duration 6)

echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg); results: $out" >&2
run() {
  local label="$1" bin="$2"; shift 2
  echo "== $label ($(cut -d' ' -f1 /proc/loadavg)): $*" >&2
  "${pin[@]}" "$load" --pool "$pool" --server-bin "$bin" "${server_pin[@]}" --label "$label" "$@" >> "$out" \
    || echo "!! $label failed" >&2
}
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    bin="$old"; [ "$side" = new ] && bin="$new"
    run "fanout-1k-saturated/$side/$round" "$bin" "${common[@]}" fanout --members 1000 --senders 50 --window 256
  done
  for side in old new; do
    bin="$old"; [ "$side" = new ] && bin="$new"
    run "durable-1k-saturated/$side/$round" "$bin" "${common[@]}" durable --senders 1000 --window 4
  done
done
if command -v jq >/dev/null; then
  jq -r '[.label, (if .ok then "ok" else "CHECK FAILED" end),
          "deliveries/s=\(.figures.deliveries_per_sec)", "acks/s=\(.figures.acks_per_sec)",
          "server_cores=\(.figures.server_cpu_cores)", "us/delivery=\(.figures.server_cpu_us_per_delivery // "-")",
          "ack_p50_ms=\(.figures.ack_latency.p50_ms)", "ack_p99_ms=\(.figures.ack_latency.p99_ms)",
          "loadavg=\(.loadavg_at_start // "-")"] | @tsv' "$out" >&2
fi
