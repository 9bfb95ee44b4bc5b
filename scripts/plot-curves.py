#!/usr/bin/env python3
"""Draw the cost curves of docs/benchmarks.md (issue 19) from the JSON lines
of `scripts/bench.sh --curves`: one SVG per curve, log-log, with a dotted
line of slope 1 (linear growth) through the first point for reference.
Prints a table of each point and the local slope between neighbours
(0 = flat, 1 = linear in x, above 1 = faster than linear).

    scripts/plot-curves.py target/bench/results-STAMP.jsonl [OUT_DIR]

Standard library only (no plotting package on the CI machines).
"""
import json
import math
import sys
from pathlib import Path


def load(path):
    lines = []
    for raw in Path(path).read_text().splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def get(line, dotted):
    v = line
    for part in dotted.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v


# (file, title, label prefix, x key, x label, y key, y label, reference
# slope: 1 where the cost should grow with what is delivered, 0 where it is
# a cost per item and should stay flat)
CURVES = [
    ("curve-backlog.svg", "Catch-up: connect to caught_up against the backlog",
     "curve-backlog-", "params.messages", "messages in the backlog (20 rooms)",
     "figures.connect_to_caught_up.p50_ms", "connect → caught_up, p50 (ms)", 1),
    ("curve-summary-time.svg", "summary round trip against rooms with news",
     "curve-rooms-", "params.rooms", "rooms the user is in, each with 2 new messages",
     "figures.summary_round_trip.p50_ms", "summary round trip, p50 (ms)", 1),
    ("curve-summary-bytes.svg", "summary reply size against rooms with news",
     "curve-rooms-", "params.rooms", "rooms the user is in, each with 2 new messages",
     "figures.summary_reply_bytes", "summary reply (bytes)", 1),
    ("curve-login-rooms.svg", "Login to caught_up against rooms with news",
     "curve-rooms-", "params.rooms", "rooms with news (2 new messages each)",
     "figures.connect_to_caught_up.p50_ms", "connect → caught_up, p50 (ms)", 1),
    ("curve-fanout-cpu.svg", "Fan-out: server CPU per delivery against room size",
     "curve-fanout-", "params.members", "members of the room (all online)",
     "figures.server_cpu_us_per_delivery", "server CPU per delivery (µs)", 0),
]

W, H, ML, MR, MT, MB = 640, 400, 80, 20, 40, 60


def decades(lo, hi):
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return a, b


def svg(title, xlabel, ylabel, pts, ref):
    xa, xb = decades(min(p[0] for p in pts), max(p[0] for p in pts))
    ya, yb = decades(min(p[1] for p in pts), max(p[1] for p in pts))

    def sx(x):
        return ML + (math.log10(x) - xa) / (xb - xa) * (W - ML - MR)

    def sy(y):
        return H - MB - (math.log10(y) - ya) / (yb - ya) * (H - MT - MB)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for d in range(xa, xb + 1):
        x = sx(10 ** d)
        out.append(f'<line x1="{x:.1f}" y1="{MT}" x2="{x:.1f}" y2="{H - MB}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{H - MB + 16}" text-anchor="middle">{10 ** d:g}</text>')
    for d in range(ya, yb + 1):
        y = sy(10 ** d)
        out.append(f'<line x1="{ML}" y1="{y:.1f}" x2="{W - MR}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{ML - 6}" y="{y + 4:.1f}" text-anchor="end">{10 ** d:g}</text>')
    out.append(f'<text x="{(ML + W - MR) / 2}" y="{H - 16}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text transform="translate(16,{(MT + H - MB) / 2}) rotate(-90)" '
               f'text-anchor="middle">{ylabel}</text>')
    # The reference through the first point: linear growth, or flat.
    x0, y0 = pts[0]
    x1 = 10 ** xb
    y1 = y0 * (x1 / x0) ** ref
    if y1 > 10 ** yb:
        x1, y1 = x0 * (10 ** yb / y0) ** (1 / ref), 10 ** yb
    out.append(f'<line x1="{sx(x0):.1f}" y1="{sy(y0):.1f}" x2="{sx(x1):.1f}" y2="{sy(y1):.1f}" '
               f'stroke="#999" stroke-dasharray="4 4"/>')
    word = "linear" if ref == 1 else "flat"
    out.append(f'<text x="{sx(x1) - 4:.1f}" y="{sy(y1) + 14:.1f}" text-anchor="end" fill="#777">{word}</text>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(pts))
    out.append(f'<path d="{path}" fill="none" stroke="#1f5fbf" stroke-width="2"/>')
    for x, y in pts:
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="#1f5fbf"/>')
        out.append(f'<text x="{sx(x) + 6:.1f}" y="{sy(y) - 6:.1f}" fill="#1f5fbf">{y:.3g}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    lines = load(sys.argv[1])
    out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/bench")
    out_dir.mkdir(parents=True, exist_ok=True)
    for file, title, prefix, xk, xl, yk, yl, ref in CURVES:
        pts = sorted((get(l, xk), get(l, yk)) for l in lines
                     if str(l.get("label", "")).startswith(prefix)
                     and get(l, xk) is not None and get(l, yk) is not None and get(l, yk) > 0)
        if len(pts) < 2:
            print(f"{file}: fewer than two points, not drawn")
            continue
        (out_dir / file).write_text(svg(title, xl, yl, pts, ref))
        print(f"\n{title} ({out_dir / file})\n| {xl} | {yl} | local slope |\n|---|---|---|")
        for i, (x, y) in enumerate(pts):
            slope = ""
            if i > 0:
                px, py = pts[i - 1]
                slope = f"{math.log(y / py) / math.log(x / px):.2f}"
            print(f"| {x:,} | {y:.4g} | {slope} |")


if __name__ == "__main__":
    main()
