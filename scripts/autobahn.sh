#!/usr/bin/env bash
# Autobahn WebSocket conformance (groups 1-10; 12/13 are compression, not
# negotiated) against the real binary's echo route (--test-echo), with the
# production WebSocket settings, using kosoku (Autobahn's case files on
# Python 3). Fails if any case's result differs from
# tests/autobahn/expected.json. The 9.* cases over the 128 KiB message cap
# fail by design (the server closes with 1009).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${TOWNHALL_BIN:-target/debug/townhall}"
venv=target/kosoku-venv
if [ ! -x "$venv/bin/kosoku" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check kosoku==0.1.0
fi
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
TOWNHALL_ADMIN_PASSWORD=autobahn-only "$bin" serve --bind 127.0.0.1:0 --data "$work/data" --test-echo >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's|listening on http://||p' "$work/out")
[ -n "$addr" ] || { echo "server did not start"; cat "$work/err"; exit 1; }
"$venv/bin/kosoku" -m fuzzingclient -p 2 -x '12.*' -x '13.*' -o "$work/reports" "$addr" >"$work/kosoku.log" 2>&1 || true
python3 - "$work/reports/index.json" tests/autobahn/expected.json <<'PY'
import json, sys
(agent, cases), = json.load(open(sys.argv[1])).items()
got = {k: v["behavior"] for k, v in cases.items()}
want = json.load(open(sys.argv[2]))
diff = {k: (want.get(k), got.get(k)) for k in set(got) | set(want) if want.get(k) != got.get(k)}
ok = sum(1 for v in got.values() if v in ("OK", "NON-STRICT", "INFORMATIONAL"))
print(f"autobahn: {len(got)} cases, {ok} passed, {len(got) - ok} failed by design (9.* over the 128 KiB cap)")
if diff:
    for k in sorted(diff, key=lambda s: [int(x) for x in s.split(".")]):
        print(f"  {k}: expected {diff[k][0]}, got {diff[k][1]}")
    sys.exit(1)
bad = [k for k, v in got.items() if v not in ("OK", "NON-STRICT", "INFORMATIONAL") and not k.startswith("9.")]
if bad:
    print("failed outside 9.*:", bad); sys.exit(1)
PY
