#!/usr/bin/env python3
"""Prints the markdown tables and goal checks of docs/benchmarks.md (block masks,
dense masks) from the JSON that ism_bench_masks writes with
--benchmark_out=FILE --benchmark_out_format=json. Standard library only."""
import json
import sys

PARADIGMS = ["causal", "prefix", "ism", "bidirectional"]
UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(run):
    return run["cpu_time"] * UNITS[run["time_unit"]]


def shown_time(s):
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} µs"


def rate(x):
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if x >= scale:
            return f"{x / scale:.1f}{suffix}"
    return f"{x:.0f}"


def main(path):
    runs = {r["name"]: r for r in json.load(open(path))["benchmarks"] if r["run_type"] == "iteration"}
    sizes = sorted({int(n.rsplit(":", 1)[1]) for n in runs if n.startswith("BM_block_mask/")})

    print("| paradigm | N | listed (full) | block mask | blocks/s | tiles/s "
          "| with make_interval_mask | every pair | speedup |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for paradigm in PARADIGMS:
        for n in sizes:
            run = runs[f"BM_block_mask/{paradigm}/tokens:{n}"]
            layout = runs[f"BM_block_mask_from_layout/{paradigm}/tokens:{n}"]
            pairs = runs.get(f"BM_block_mask_every_pair/{paradigm}/tokens:{n}")
            every = shown_time(seconds(pairs)) if pairs else "—"
            speedup = f"{seconds(pairs) / seconds(run):,.0f}×" if pairs else "—"
            print(f"| {paradigm} | {n:,} | {int(run['listed']):,} ({int(run['full']):,}) "
                  f"| {shown_time(seconds(run))} | {rate(run['blocks/s'])} | {rate(run['tiles/s'])} "
                  f"| {shown_time(seconds(layout))} | {every} | {speedup} |")

    big = runs[f"BM_block_mask/ism/tokens:{sizes[-1]}"]
    print(f"\nGoal, 1M-token ISM in under 10 ms: {shown_time(seconds(big))} "
          f"({'met' if seconds(big) < 10e-3 else 'not met'}).")
    ratios = {p: seconds(runs[f"BM_block_mask_every_pair/{p}/tokens:32768"]) /
              seconds(runs[f"BM_block_mask/{p}/tokens:32768"]) for p in PARADIGMS}
    print("Goal, 100x the every-pair baseline at 32k: " +
          ", ".join(f"{p} {r:,.0f}×" for p, r in ratios.items()) +
          (" (met)." if min(ratios.values()) >= 100 else " (not met)."))

    memset = runs["BM_memset/bytes:8388608"]
    print("\n| paradigm | N | dtype | time per 8 MiB | GiB/s | of memset |")
    print("|---|---:|---|---:|---:|---:|")
    dense = sorted((n for n in runs if n.startswith("BM_dense_mask/")),
                   key=lambda n: (n.split("/")[2], int(n.rsplit(":", 1)[1]), n.split("/")[1]))
    for name in dense:
        _, dtype, paradigm, tokens = name.split("/")
        run = runs[name]
        print(f"| {paradigm} | {int(tokens.split(':')[1]):,} | {dtype} | {shown_time(seconds(run))} "
              f"| {run['bytes_per_second'] / 2**30:.1f} | {seconds(memset) / seconds(run):.0%} |")
    print(f"| memset | — | bytes | {shown_time(seconds(memset))} "
          f"| {memset['bytes_per_second'] / 2**30:.1f} | 100% |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report_masks.py BENCHMARK_JSON")
    main(sys.argv[1])
