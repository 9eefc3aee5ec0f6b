#!/usr/bin/env python3
"""ism's GPU forward against PyTorch on the same shapes and masks, in one run.

For each size N and paradigm, on the multi-turn row of ism_bench_cuda (32
query heads over 8 KV heads, head dim 128, bfloat16):

  ism     ism_bench_cuda's forward/<paradigm>/N:<n>/d:128 (its JSON output)
  flex    torch.compile(flex_attention) with a mask_mod reading the same
          intervals (lo[q] <= k <= hi[q], written by ism_bench_cuda
          --dump_intervals) and its block mask built outside the timing
  sdpa    F.scaled_dot_product_attention(is_causal=True): the engine's own
          causal kernel (flash or cuDNN), the speed ISM is measured against

and prints times, useful TFLOP/s (4 x visible pairs x dim x heads / time) and
the ratios the issue's goals name: ism vs flex with the same mask, and ISM's
time vs causal. Needs PyTorch with CUDA and a GPU; numpy is not needed.

  python3 bench/cuda/flex_vs_ism.py --bench build/gpu-check/bench/cuda/ism_bench_cuda
"""
import argparse
import ast
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HEADS, KV_HEADS, DIM = 32, 8, 128


def read_intervals(path):
    """The int64 (2, n) array ism writes, as two CUDA tensors, without numpy."""
    import torch

    raw = Path(path).read_bytes()
    header_length = int.from_bytes(raw[8:10], "little")
    header = ast.literal_eval(raw[10:10 + header_length].decode("latin1"))
    if header["descr"] != "<i8" or header["fortran_order"] or len(header["shape"]) != 2:
        raise SystemExit(f"{path}: expected a C-ordered int64 (2, n) array, got {header}")
    n = header["shape"][1]
    values = torch.frombuffer(bytearray(raw[10 + header_length:]), dtype=torch.int64)
    lo, hi = values.view(2, n).cuda()
    return lo, hi


def cuda_time_ms(fn, warmup=3, iterations=10):
    """The median of CUDA-event times of fn() on the current stream."""
    import torch

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def ism_times(bench, sizes, paradigms, dump_dir):
    """ism_bench_cuda's forward times in ms, by (paradigm, n), and the intervals dumped."""
    pattern = "forward/({})/N:({})/".format("|".join(paradigms), "|".join(map(str, sizes)))
    result = subprocess.run(
        [bench, f"--dump_intervals={dump_dir}", f"--benchmark_filter={pattern}",
         "--benchmark_format=json"],
        check=True, capture_output=True, text=True)
    times = {}
    for b in json.loads(result.stdout)["benchmarks"]:
        _, paradigm, n, _ = b["name"].split("/", 3)
        assert b["time_unit"] == "ms"
        times[(paradigm, int(n.split(":")[1]))] = b["real_time"]
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True, help="path of the ism_bench_cuda binary")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384])
    parser.add_argument("--paradigms", nargs="+", default=["ism", "causal"],
                        help="of causal, prefix, ism, bidirectional")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    if not torch.cuda.is_available():
        print("skipped: PyTorch sees no CUDA device")
        return 77
    flex = torch.compile(flex_attention)
    with tempfile.TemporaryDirectory() as dump_dir:
        ism_ms = ism_times(args.bench, args.sizes, args.paradigms, dump_dir)
        rows = []
        for n in args.sizes:
            q = torch.randn(1, HEADS, n, DIM, device="cuda", dtype=torch.bfloat16)
            k = torch.randn(1, KV_HEADS, n, DIM, device="cuda", dtype=torch.bfloat16)
            v = torch.randn(1, KV_HEADS, n, DIM, device="cuda", dtype=torch.bfloat16)
            sdpa_ms = cuda_time_ms(lambda: F.scaled_dot_product_attention(
                q, k, v, is_causal=True, enable_gqa=True))
            for paradigm in args.paradigms:
                lo, hi = read_intervals(Path(dump_dir) / f"{paradigm}-{n}.npy")

                def mask_mod(b, h, q_idx, kv_idx):
                    return (lo[q_idx] <= kv_idx) & (kv_idx <= hi[q_idx])

                block_mask = create_block_mask(mask_mod, None, None, n, n, device="cuda")
                flex_ms = cuda_time_ms(lambda: flex(q, k, v, block_mask=block_mask, enable_gqa=True))
                pairs = int((hi - lo + 1).clamp(min=0).sum())
                flops = 4.0 * pairs * DIM * HEADS
                rows.append((n, paradigm, ism_ms[(paradigm, n)], flex_ms, sdpa_ms, flops))

    print(f"{'N':>6} {'paradigm':<14} {'ism ms':>8} {'flex ms':>8} {'sdpa causal ms':>15} "
          f"{'ism TF/s':>9} {'flex TF/s':>9} {'ism/flex speed':>15} {'ism/causal time':>16}")
    for n, paradigm, ism, flex_ms, sdpa, flops in rows:
        print(f"{n:>6} {paradigm:<14} {ism:>8.3f} {flex_ms:>8.3f} {sdpa:>15.3f} "
              f"{flops / ism / 1e9:>9.1f} {flops / flex_ms / 1e9:>9.1f} {flex_ms / ism:>15.2f} "
              f"{ism / sdpa:>16.2f}")
    print("ism/flex speed > 1: ism is faster with the same mask; ism/causal time: ism's time on"
          " this mask over SDPA's causal kernel on the same shapes (the goal is <= 1.1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
