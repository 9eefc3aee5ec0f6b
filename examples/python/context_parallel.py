"""Context-parallel attention under an ism plan, on torch.distributed (gloo, CPU).

    python3 context_parallel.py [--ranks R] [--layout L] [--paradigm P] [--block B]

R processes on this machine, talking over loopback only, each play one rank
the way PyTorch's context parallelism does after its load balancer: the row
is rearranged by ``plan.rearrange`` and cut into R contiguous slices, so rank
r holds the queries, keys and values of ``plan.tokens[r]``. Each rank
all-gathers the keys and values of every rank, puts them back in row order
(``plan.restore``), and computes its own query rows under the mask: one
``ism.attention`` call per run of consecutive tokens, with ``q_start`` at the
run's first token, against all keys. Rank 0 gathers the outputs, restores
the row order and compares them with the float64 ``ism.reference_attention``
of the whole row on one process.

Prints, per rank, its tokens, runs, visible pairs and the bytes it sent and
received: all_gather sends a rank's keys and values to each other rank and
receives theirs, then each rank sends its outputs to rank 0 (slices padded to
the longest, as gloo gathers equal shapes). It exits 0 when the outputs
agree to float32 tolerance, 1 otherwise. The test suite runs it with 2 and 4
processes (tests/python/test_context_parallel.py).
"""

import argparse
import os
import socket
import sys
from typing import Dict, List

import numpy as np

LAYOUT = ("system:96,user:80,assistant:150,user:40,assistant:90 | "
          "user:120,assistant:200 | tool:30,user:20,assistant:70")
PARADIGM = "ism"
HEADS, KV_HEADS, HEAD_DIM = 4, 2, 16
TOLERANCE = 2e-5


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def inputs(n: int, seed: int = 0):
    """Q (N, H, D), K and V (N, Hkv, D), float32: the whole row, which every
    process draws alike and then keeps only its own slice of."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, HEADS, HEAD_DIM), dtype=np.float32)
    k = rng.standard_normal((n, KV_HEADS, HEAD_DIM), dtype=np.float32)
    v = rng.standard_normal((n, KV_HEADS, HEAD_DIM), dtype=np.float32)
    return q, k, v


def all_gather_rows(torch, dist, local, longest: int) -> List:
    """Every rank's rows of `local` (its first dimension), padded to `longest`
    rows, since gloo gathers equal shapes."""
    padded = torch.zeros((longest,) + tuple(local.shape[1:]), dtype=local.dtype)
    padded[:local.shape[0]] = local
    gathered = [torch.empty_like(padded) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, padded)
    return gathered


def rank_main(rank: int, world: int, port: int, layout: str, paradigm: str, block: int,
              results) -> None:
    import torch
    import torch.distributed as dist

    import ism

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        plan = ism.plan(layout, paradigm, world, block_size=block)
        n = plan.rearrange.shape[1]
        q, k, v = (torch.from_numpy(x) for x in inputs(n))
        mine = torch.from_numpy(plan.tokens[rank])
        # What this rank holds after the load balancer: its slice of the rearranged row.
        q_local, k_local, v_local = q[mine], k[mine], v[mine]
        longest = int(np.diff(plan.offsets).max())

        # Keys and values of every rank, back in row order.
        k_slices = all_gather_rows(torch, dist, k_local, longest)
        v_slices = all_gather_rows(torch, dist, v_local, longest)
        k_row = torch.empty_like(k)
        v_row = torch.empty_like(v)
        for r in range(world):
            owned = torch.from_numpy(plan.tokens[r])
            k_row[owned] = k_slices[r][:len(owned)]
            v_row[owned] = v_slices[r][:len(owned)]
        kv_bytes = 2 * longest * KV_HEADS * HEAD_DIM * 4

        # This rank's query rows, one call per run of consecutive tokens.
        out_local = torch.empty((len(mine), HEADS, HEAD_DIM), dtype=torch.float32)
        at = 0
        for begin, end in plan.runs[rank]:
            count = int(end - begin)
            out_local[at:at + count] = ism.attention(
                q_local[at:at + count].contiguous(), k_row, v_row, layout, paradigm,
                q_start=int(begin), threads=1)
            at += count

        # The outputs go to rank 0 alone.
        padded = torch.zeros((longest, HEADS, HEAD_DIM), dtype=torch.float32)
        padded[:len(mine)] = out_local
        outputs = [torch.empty_like(padded) for _ in range(world)] if rank == 0 else None
        dist.gather(padded, outputs, dst=0)
        out_bytes = padded.numel() * padded.element_size()
        report = {
            "rank": rank,
            "tokens": len(mine),
            "runs": len(plan.runs[rank]),
            "pairs": plan.work[rank].pairs,
            "sent": (world - 1) * kv_bytes + (0 if rank == 0 else out_bytes),
            "received": (world - 1) * (kv_bytes + (out_bytes if rank == 0 else 0)),
        }
        if rank == 0:
            rearranged = torch.cat([outputs[r][:len(plan.tokens[r])] for r in range(world)])
            out = rearranged[torch.from_numpy(plan.restore[0])].numpy()
            want = ism.reference_attention(q.numpy(), k.numpy(), v.numpy(), layout, paradigm)
            report["max_error"] = float(np.abs(out - want).max())
            report["imbalance"] = plan.imbalance
            report["baselines"] = {name: s.imbalance for name, s in plan.baselines.items()}
        results.put(report)
    finally:
        dist.destroy_process_group()


def run(ranks: int, layout: str = LAYOUT, paradigm: str = PARADIGM, block: int = 16) -> Dict:
    """Runs the ranks and returns rank 0's report, with "ranks" the reports of all."""
    import torch.multiprocessing as mp

    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    mp.spawn(rank_main, args=(ranks, free_port(), layout, paradigm, block, results),
             nprocs=ranks, join=True)
    reports = sorted((results.get() for _ in range(ranks)), key=lambda r: r["rank"])
    summary = dict(reports[0])
    summary["ranks"] = reports
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--layout", default=LAYOUT)
    parser.add_argument("--paradigm", default=PARADIGM)
    parser.add_argument("--block", type=int, default=16)
    args = parser.parse_args(argv)
    summary = run(args.ranks, args.layout, args.paradigm, args.block)
    print(f"{args.ranks} ranks, {args.paradigm}, blocks of {args.block}: max/mean pairs "
          f"{summary['imbalance']:.3f} (even {summary['baselines']['even']:.3f}, head-tail "
          f"{summary['baselines']['head_tail']:.3f}, per-document head-tail "
          f"{summary['baselines']['per_document_head_tail']:.3f})")
    print("rank  tokens  runs  visible pairs  bytes sent  bytes received")
    for r in summary["ranks"]:
        print(f"{r['rank']:>4}  {r['tokens']:>6}  {r['runs']:>4}  {r['pairs']:>13,}  "
              f"{r['sent']:>10,}  {r['received']:>14,}")
    agree = summary["max_error"] <= TOLERANCE
    print(f"max |output - reference| = {summary['max_error']:.2e}: "
          f"{'equal' if agree else 'DIFFERENT'} within {TOLERANCE:g}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
