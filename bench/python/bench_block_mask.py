"""Block masks from Python, in one run on the CPU (docs/benchmarks.md records the numbers):

  1. the package's ism.block_mask against the C++ make_block_mask from a layout
     (the BM_block_mask_from_layout benchmark of ism_bench_masks, same layout
     and calls) at 64k and 1M tokens, with the package's fixed per-call overhead;
  2. ism.torch.flex_block_mask against FlexAttention's own create_block_mask
     (eager, and compiled), both giving a BlockMask of the same mask, for the
     causal and ISM masks of packed multi-turn conversations of 4k, 16k and 64k
     tokens;
  3. the memory of FlexAttention's dense BlockMask index arrays against ism's
     CSR lists, 4k to 1M tokens.

    .venv/bin/python bench/python/bench_block_mask.py [--cpp-bench build/test/bench/ism_bench_masks]

The layout is the one of bench/ism_bench_masks.cpp: conversations of 4096
tokens, a 128-token system prompt and 32 turns whose user messages have 16 to
79 tokens (a fixed hash picks them), 128 x 128 blocks.
"""

import argparse
import gc
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

import ism

CONVERSATION, SYSTEM, TURNS = 4096, 128, 32
TURN = (CONVERSATION - SYSTEM) // TURNS
MIN_USER, USER_SPREAD = 16, 64
BLOCK = 128
MASK = 2 ** 64 - 1


def mix(x: int) -> int:
    """splitmix64's finalizer, as in bench/ism_bench_masks.cpp."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def packed_conversations(tokens: int) -> ism.Layout:
    documents = []
    for c in range(tokens // CONVERSATION):
        segments = [("system", SYSTEM)]
        for t in range(TURNS):
            user = MIN_USER + mix(c * TURNS + t) % USER_SPREAD
            segments += [("user", user), ("assistant", TURN - user)]
        documents.append(segments)
    return ism.Layout(documents)


def median_seconds(f, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        f()
    gc.collect()  # once: with torch loaded a collection takes milliseconds
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mean_seconds(f, calls: int) -> float:
    """For calls too short to time one at a time."""
    f()
    start = time.perf_counter()
    for _ in range(calls):
        f()
    return (time.perf_counter() - start) / calls


def repeats_for(tokens: int) -> int:
    return 20 if tokens <= 65536 else 5


def mask_mod_of(layout: ism.Layout, paradigm: str):
    import torch
    lo, hi = (torch.from_numpy(a) for a in ism.intervals(layout, paradigm))

    def mask_mod(b, h, q, kv):
        return (lo[q] <= kv) & (kv <= hi[q])
    return mask_mod


def fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size / 2**10:,.1f} KiB"


def flex_against_torch(sizes, eager_max: int) -> None:
    # Imported here, not at the top: the rounds of section 1 run this file in
    # fresh processes, and the package's per-call overhead is measured in this
    # one before; neither should pay for torch or see its allocator state.
    import torch
    from torch.nn.attention.flex_attention import create_block_mask

    import ism.torch
    torch.set_num_threads(1)
    print("## 2. BlockMask of the same mask: ism.torch.flex_block_mask vs create_block_mask\n")
    print("| paradigm | tokens | ism.torch.flex_block_mask | create_block_mask eager | "
          "create_block_mask compiled (first call) | compiled, later calls | "
          "eager / ism | compiled / ism |")
    print("|---|---|---|---|---|---|---|---|")
    compiled = torch.compile(create_block_mask)
    for paradigm in ("causal", "ism"):
        for n in sizes:
            layout = packed_conversations(n)
            mask_mod = mask_mod_of(layout, paradigm)
            ours = median_seconds(lambda: ism.torch.flex_block_mask(layout, paradigm, BLOCK),
                                  repeats_for(n))
            if n <= eager_max:
                eager = median_seconds(lambda: create_block_mask(mask_mod, 1, 1, n, n,
                                                                 device="cpu", BLOCK_SIZE=BLOCK),
                                       3 if n <= 16384 else 1, warmup=0)
                eager_cell, eager_ratio = fmt(eager), f"{eager / ours:,.0f}x"
            else:
                eager_cell, eager_ratio = "not run (N² mask in memory)", "-"
            start = time.perf_counter()
            compiled(mask_mod, 1, 1, n, n, device="cpu", BLOCK_SIZE=BLOCK)
            first = time.perf_counter() - start
            later = median_seconds(lambda: compiled(mask_mod, 1, 1, n, n, device="cpu",
                                                    BLOCK_SIZE=BLOCK), 3, warmup=0)
            print(f"| {paradigm} | {n:,} | {fmt(ours)} | {eager_cell} | {fmt(first)} | "
                  f"{fmt(later)} | {eager_ratio} | {later / ours:,.0f}x |", flush=True)
    print()


def cpp_benchmark(binary: pathlib.Path, sizes):
    pattern = "BM_block_mask_from_layout/(causal|ism)/tokens:(" + "|".join(map(str, sizes)) + ")$"
    run = subprocess.run([str(binary), f"--benchmark_filter={pattern}", "--benchmark_format=json",
                          "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True)
    out = {}
    for b in json.loads(run.stdout)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            _, paradigm, tokens = b["run_name"].split("/")
            out[(paradigm, int(tokens.split(":")[1]))] = b["real_time"] * 1e-6  # µs -> s
    return out


def package_against_cpp(binary: pathlib.Path, sizes, rounds: int) -> None:
    print("## 1. ism.block_mask (Python) vs make_block_mask (C++), both from the layout\n")
    tiny = ism.Layout.parse("user:1")
    overhead = min(mean_seconds(lambda: ism.block_mask(tiny, "ism", BLOCK), 2000)
                   for _ in range(5))
    print(f"Fixed per-call overhead of the package (ism.block_mask of a 1-token layout): "
          f"{fmt(overhead)}.\n")
    if binary is None or not binary.exists():
        print(f"C++ benchmark not found ({binary}); build ism_bench_masks and pass --cpp-bench.\n")
        return
    # The same native build runs up to 1.5x faster in one process than in
    # another on this virtual machine (where its pages and buffers land), and
    # the machine's speed drifts over minutes. So each round starts a fresh
    # process for each side, one after the other, and each side's time is its
    # median over the rounds.
    cpp, py = {}, {}
    for _ in range(rounds):
        for key, seconds in cpp_benchmark(binary, sizes).items():
            cpp.setdefault(key, []).append(seconds)
        for key, seconds in package_in_fresh_process(sizes).items():
            py.setdefault(key, []).append(seconds)
    print(f"Median over {rounds} rounds, each a fresh process per side timing the median of "
          f"5 repetitions (C++) or of 5 calls past 64k tokens, 20 up to it (Python); "
          f"the range over the rounds in brackets.\n")
    print("| paradigm | tokens | Python | C++ | Python / C++ | (Python - overhead) / C++ |")
    print("|---|---|---|---|---|---|")
    for paradigm in ("causal", "ism"):
        for n in sizes:
            ps, cs = py[(paradigm, n)], cpp[(paradigm, n)]
            p, c = statistics.median(ps), statistics.median(cs)
            print(f"| {paradigm} | {n:,} | {fmt(p)} [{fmt(min(ps))}–{fmt(max(ps))}] | "
                  f"{fmt(c)} [{fmt(min(cs))}–{fmt(max(cs))}] | {p / c:.3f} | "
                  f"{(p - overhead) / c:.3f} |", flush=True)
    print()


def package_in_fresh_process(sizes) -> dict:
    run = subprocess.run([sys.executable, __file__, "--time-package", *map(str, sizes)],
                         check=True, capture_output=True, text=True)
    return {(paradigm, n): seconds for paradigm, n, seconds in json.loads(run.stdout)}


def time_package(sizes) -> None:
    """The Python side of one round, printed as JSON for the parent process."""
    out = []
    for paradigm in ("causal", "ism"):
        for n in sizes:
            layout = packed_conversations(n)
            out.append((paradigm, n, median_seconds(
                lambda: ism.block_mask(layout, paradigm, BLOCK), repeats_for(n))))
    print(json.dumps(out))


def memory(sizes) -> None:
    print("## 3. Memory: FlexAttention's dense index arrays vs ism's CSR lists (ISM mask)\n")
    print("| tokens | blocks per side | BlockMask index arrays | ism CSR lists (both directions) |")
    print("|---|---|---|---|")
    for n in sizes:
        side = -(-n // BLOCK)
        # kv_indices, full_kv_indices, q_indices, full_q_indices: int32 [B, H, side, side] each,
        # plus four int32 count vectors.
        dense_bytes = 4 * side * side * 4 + 4 * side * 4
        b = ism.block_mask(packed_conversations(n), "ism", BLOCK)
        csr = sum(a.nbytes for pair in (b.full_kv, b.partial_kv, b.full_q, b.partial_q)
                  for a in pair)
        print(f"| {n:,} | {side:,} | {mib(dense_bytes)} | {mib(csr)} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpp-bench", type=pathlib.Path,
                        default=pathlib.Path("build/test/bench/ism_bench_masks"),
                        help="the ism_bench_masks executable (default: %(default)s)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384, 65536])
    parser.add_argument("--eager-max", type=int, default=16384,
                        help="largest size create_block_mask runs eagerly (it holds the N² mask)")
    parser.add_argument("--cpp-sizes", type=int, nargs="+", default=[65536, 1048576])
    parser.add_argument("--time-package", type=int, nargs="+", metavar="N",
                        help=argparse.SUPPRESS)  # one round's Python side, in its own process
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the package-against-C++ comparison (default: %(default)s)")
    args = parser.parse_args()
    if args.time_package:
        time_package(args.time_package)
        return
    print(f"ism {ism.__version__}, numpy {np.__version__}; 1 thread\n")
    package_against_cpp(args.cpp_bench, args.cpp_sizes, args.rounds)
    flex_against_torch(args.sizes, args.eager_max)
    memory([4096, 16384, 65536, 262144, 1048576])


if __name__ == "__main__":
    main()
