#!/usr/bin/env python3
"""Tables and a plot from one run of ism_bench_attention.

Reads the Google Benchmark JSON that --benchmark_out wrote, prints the Markdown
tables and goal checks of docs/benchmarks.md, and with --svg draws useful
throughput against N per paradigm (one panel per head dim) as a standalone
SVG. Needs only the Python standard library.

    python3 bench/report_attention.py attention.json --svg docs/images/attention_throughput.svg
"""

import argparse
import json
import math
import re
import sys

NAME = re.compile(r"^(?P<kind>[a-z_0-9]+)/(?:(?P<paradigm>[a-z]+)/)?N:(?P<n>\d+)/d:(?P<d>\d+)/threads:(?P<t>\d+)")
PARADIGMS = ["causal", "prefix", "ism", "bidirectional"]
COLORS = {"causal": "#1f77b4", "prefix": "#2ca02c", "ism": "#d62728", "bidirectional": "#9467bd"}
GOAL_MIN_N = 4096
GOAL_DIM = 128


def load(path):
    """{(kind, paradigm, n, d): benchmark entry}, paradigm None for the GEMM baseline.

    With --benchmark_repetitions the fastest repetition of each benchmark is
    kept: on a shared machine other work only ever slows a run down."""
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        m = NAME.match(b.get("run_name", b["name"]))
        if not m:
            continue
        key = (m["kind"], m["paradigm"], int(m["n"]), int(m["d"]))
        if key not in runs or b["real_time"] < runs[key]["real_time"]:
            runs[key] = b
    return data.get("context", {}), runs


def cpu_share(entry):
    """The part of its threads' wall time the run got on a CPU (1 on a quiet machine)."""
    threads = int(NAME.match(entry.get("run_name", entry["name"]))["t"])
    return entry["cpu_time"] / (threads * entry["real_time"])


def giga(x):
    return x / 1e9


def ms(entry):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[entry["time_unit"]]
    return entry["real_time"] * scale


def sizes(runs, d):
    return sorted({n for (_, _, n, dd) in runs if dd == d})


def dims(runs):
    return sorted({d for (_, _, _, d) in runs})


def throughput_table(runs, d):
    head = ["N", "GEMM baseline"] + PARADIGMS + [p + " bf16" for p in PARADIGMS] + ["dense-mask ism"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for n in sizes(runs, d):
        row = [str(n)]
        gemm = runs.get(("gemm_baseline", None, n, d))
        row.append(f"{giga(gemm['flops']):.0f}" if gemm else "")
        for kind in ("attention", "attention_bf16"):
            for p in PARADIGMS:
                e = runs.get((kind, p, n, d))
                row.append(f"{giga(e['useful_flops']):.0f}" if e else "")
        e = runs.get(("dense_mask", "ism", n, d))
        row.append(f"{giga(e['useful_flops']):.0f}" if e else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def time_table(runs, d):
    head = ["N", "GEMM baseline"] + PARADIGMS + ["ism bf16"] + ["dense-mask " + p for p in PARADIGMS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for n in sizes(runs, d):
        keys = [("gemm_baseline", None)] + [("attention", p) for p in PARADIGMS] + \
               [("attention_bf16", "ism")] + [("dense_mask", p) for p in PARADIGMS]
        row = [str(n)]
        for kind, p in keys:
            e = runs.get((kind, p, n, d))
            row.append(f"{ms(e):.1f}" if e else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def goals(runs):
    """Markdown lines, one per goal: the verdict on the goal's shapes (N >= 4096,
    head dim 128), then the ratio on every shape measured."""

    def ratios(value):
        out = []
        for d in reversed(dims(runs)):
            for n in sizes(runs, d):
                r = value(n, d)
                if r is not None:
                    out.append((n, d, r))
        return out

    def report(text, found, ok, unit="x"):
        goal_shapes = [(n, d, r) for n, d, r in found if n >= GOAL_MIN_N and d == GOAL_DIM]
        met = bool(goal_shapes) and all(ok(r) for _, _, r in goal_shapes)
        shown = ", ".join(f"N={n}: {r:.2f}{unit}" for n, _, r in goal_shapes)
        others = [(n, d, r) for n, d, r in found if (n, d, r) not in goal_shapes]
        failing = [f"N={n}, d={d}: {r:.2f}{unit}" for n, d, r in others if not ok(r)]
        elsewhere = ("; on the other shapes also met" if not failing else
                     "; not met on the other shapes " + ", ".join(failing))
        verdict = "**met**" if met else "**not met**"
        return f"- {text}: {verdict} at N >= {GOAL_MIN_N}, d = {GOAL_DIM} ({shown}){elsewhere}."

    def entry(kind, paradigm, n, d):
        return runs.get((kind, paradigm, n, d))

    def over_gemm(n, d):
        ism, gemm = entry("attention", "ism", n, d), entry("gemm_baseline", None, n, d)
        return ism["useful_flops"] / gemm["flops"] if ism and gemm else None

    def over_causal(n, d):
        ism, causal = entry("attention", "ism", n, d), entry("attention", "causal", n, d)
        return ms(ism) / ms(causal) if ism and causal else None

    def dense_over_ism(n, d):
        ism, dense = entry("attention", "ism", n, d), entry("dense_mask", "ism", n, d)
        return ms(dense) / ms(ism) if ism and dense else None

    return "\n".join([
        report("ISM useful throughput at least 0.9x the GEMM baseline's throughput",
               ratios(over_gemm), lambda r: r >= 0.9),
        report("ISM time at most 1.05x causal time on the same layout", ratios(over_causal),
               lambda r: r <= 1.05),
        report("ISM at least 1.8x faster than the dense-mask baseline", ratios(dense_over_ism),
               lambda r: r >= 1.8),
    ])


def svg(runs):
    """Useful GFLOP/s against N, one panel per head dim."""
    panel_w, panel_h = 420, 300
    left, right, top, bottom = 60, 20, 40, 50
    legend_h = 80
    ds = dims(runs)
    width = len(ds) * (panel_w + left + right)
    height = panel_h + top + bottom + legend_h
    ymax = 0.0
    for e in runs.values():
        ymax = max(ymax, giga(e.get("useful_flops", 0.0)), giga(e.get("flops", 0.0)))
    step = 100 if ymax > 400 else 50
    ymax = math.ceil(ymax / step) * step
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>']

    def series(d):
        lines = [(f"{p}", COLORS[p], "", [("attention", p)]) for p in PARADIGMS]
        lines += [(f"{p} bf16", COLORS[p], "6,4", [("attention_bf16", p)]) for p in PARADIGMS]
        lines.append(("GEMM baseline (all pairs)", "black", "2,3", [("gemm_baseline", None)]))
        lines.append(("dense-mask ism", "#888888", "8,3,2,3", [("dense_mask", "ism")]))
        return lines

    for i, d in enumerate(ds):
        x0 = i * (panel_w + left + right) + left
        ns = sizes(runs, d)
        if not ns:
            continue
        lo, hi = math.log2(ns[0]), math.log2(ns[-1])

        def px(n):
            return x0 + (math.log2(n) - lo) / max(hi - lo, 1e-9) * panel_w

        def py(g):
            return top + panel_h - g / ymax * panel_h

        parts.append(f'<text x="{x0 + panel_w / 2}" y="{top - 15}" text-anchor="middle" '
                     f'font-size="14">head dim {d}</text>')
        for g in range(0, int(ymax) + 1, step):
            y = py(g)
            parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" '
                         f'stroke="#dddddd"/>')
            parts.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{g}</text>')
        for n in ns:
            x = px(n)
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + panel_h}" '
                         f'stroke="#eeeeee"/>')
            parts.append(f'<text x="{x:.1f}" y="{top + panel_h + 16}" text-anchor="middle">'
                         f'{n // 1024}k</text>')
        parts.append(f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{panel_h}" '
                     f'fill="none" stroke="black"/>')
        parts.append(f'<text x="{x0 + panel_w / 2}" y="{top + panel_h + 34}" '
                     f'text-anchor="middle">N (tokens)</text>')
        parts.append(f'<text transform="translate({x0 - 45},{top + panel_h / 2}) rotate(-90)" '
                     f'text-anchor="middle">useful GFLOP/s</text>')
        for label, color, dash, keys in series(d):
            points = []
            for n in ns:
                for kind, p in keys:
                    e = runs.get((kind, p, n, d))
                    if e:
                        value = e["flops"] if kind == "gemm_baseline" else e["useful_flops"]
                        points.append((px(n), py(giga(value))))
            if not points:
                continue
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" '
                         f'stroke-width="2"{dash_attr}/>')
            for x, y in points:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>')

    # One legend for both panels.
    entries = series(ds[0])
    per_row = 4
    for j, (label, color, dash, _) in enumerate(entries):
        x = left + (j % per_row) * 230
        y = top + panel_h + bottom + 15 + (j // per_row) * 20
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 30}" y2="{y}" stroke="{color}" '
                     f'stroke-width="2"{dash_attr}/>')
        parts.append(f'<text x="{x + 36}" y="{y + 4}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="output of --benchmark_out=... --benchmark_out_format=json")
    parser.add_argument("--svg", help="write the throughput plot here")
    args = parser.parse_args()
    context, runs = load(args.json)
    if not runs:
        sys.exit(f"{args.json}: no ism_bench_attention results")
    print(f"Machine: {context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz, "
          f"run {context.get('date', '?')}.")
    shared = sorted((cpu_share(e), e.get("run_name", e["name"])) for e in runs.values())
    short = [x for x in shared if x[0] < 0.9]
    print(f"{len(short)} of the {len(shared)} runs shown had less than 90% of their cores "
          f"(least: {shared[0][0]:.0%}, {shared[0][1]}); other work on the machine, or a thread idle at the end of a short call.\n"
          if short else f"All {len(shared)} runs shown had at least 90% of their cores.\n")
    for d in reversed(dims(runs)):
        print(f"Useful GFLOP/s (4 x visible pairs x {d} x heads per second; the GEMM baseline "
              f"counts every pair), head dim {d}:\n")
        print(throughput_table(runs, d) + "\n")
        print(f"Milliseconds per call, head dim {d}:\n")
        print(time_table(runs, d) + "\n")
    print("Goals:\n")
    print(goals(runs))
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(runs))


if __name__ == "__main__":
    main()
