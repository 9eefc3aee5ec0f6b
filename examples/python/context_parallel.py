"""Context-parallel attention under an ism plan, on torch.distributed (gloo, CPU).

    python3 context_parallel.py [--ranks R] [--layout L] [--paradigm P] [--block B] [--batch L]

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

``--batch L`` (repeatable) also runs, in the same process group, the batch of
the row and L, rows of one length each with its own documents: PyTorch's
``(B, N)`` form, each row gathered by its own row of ``plan.rearrange`` and
the sequence dimension cut into R equal slices, so rank r holds
``plan.tokens[r][b]`` of every row b. The plan balances the ranks' work
summed over the rows, and the bytes are the whole batch's.
"""

import argparse
import os
import socket
import sys
from typing import Dict, List, Optional

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
    """Every rank's rows of `local` (B, n_r, ...), padded to `longest` along the
    sequence dimension, since gloo gathers equal shapes."""
    padded = torch.zeros((local.shape[0], longest) + tuple(local.shape[2:]), dtype=local.dtype)
    padded[:, :local.shape[1]] = local
    gathered = [torch.empty_like(padded) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, padded)
    return gathered


def attend(torch, dist, rank: int, world: int, layouts: List[str], paradigm: str,
           block: int) -> Dict:
    """This rank's part of a batch of rows of one length (one row is a batch of
    one): its tokens of every row, attention over all-gathered keys and values,
    and its report; rank 0 also compares the whole batch with the reference."""
    import ism

    plan = ism.plan(list(layouts), paradigm, world, block_size=block)
    rows, n = plan.rearrange.shape
    # Row b's Q, K, V from seed b: the whole batch, as every process draws it.
    drawn = [inputs(n, seed=b) for b in range(rows)]
    q, k, v = (torch.from_numpy(np.stack([row[i] for row in drawn])) for i in range(3))
    # What this rank holds after the load balancer: its slice of each rearranged
    # row, row b gathered by its own permutation.
    mine = torch.from_numpy(plan.tokens[rank])  # (B, N_r)
    q_local, k_local, v_local = (torch.stack([x[b, mine[b]] for b in range(rows)])
                                 for x in (q, k, v))
    longest = int(np.diff(plan.offsets).max())

    # Keys and values of every rank, back in row order.
    k_slices = all_gather_rows(torch, dist, k_local, longest)
    v_slices = all_gather_rows(torch, dist, v_local, longest)
    k_rows = torch.empty_like(k)
    v_rows = torch.empty_like(v)
    for r in range(world):
        owned = torch.from_numpy(plan.tokens[r])
        for b in range(rows):
            k_rows[b, owned[b]] = k_slices[r][b, :owned.shape[1]]
            v_rows[b, owned[b]] = v_slices[r][b, :owned.shape[1]]
    kv_bytes = 2 * rows * longest * KV_HEADS * HEAD_DIM * 4

    # This rank's query rows, one call per run of consecutive tokens of a row.
    out_local = torch.empty((rows, mine.shape[1], HEADS, HEAD_DIM), dtype=torch.float32)
    for b in range(rows):
        at = 0
        for begin, end in plan.runs[rank][b]:
            count = int(end - begin)
            out_local[b, at:at + count] = ism.attention(
                q_local[b, at:at + count].contiguous(), k_rows[b], v_rows[b], layouts[b],
                paradigm, q_start=int(begin), threads=1)
            at += count

    # The outputs go to rank 0 alone.
    padded = torch.zeros((rows, longest, HEADS, HEAD_DIM), dtype=torch.float32)
    padded[:, :mine.shape[1]] = out_local
    outputs = [torch.empty_like(padded) for _ in range(world)] if rank == 0 else None
    dist.gather(padded, outputs, dst=0)
    out_bytes = padded.numel() * padded.element_size()
    report = {
        "rank": rank,
        "tokens": plan.work[rank].tokens,
        "runs": sum(len(runs) for runs in plan.runs[rank]),
        "pairs": plan.work[rank].pairs,
        "sent": (world - 1) * kv_bytes + (0 if rank == 0 else out_bytes),
        "received": (world - 1) * (kv_bytes + (out_bytes if rank == 0 else 0)),
    }
    if rank == 0:
        rearranged = torch.cat([outputs[r][:, :plan.tokens[r].shape[1]] for r in range(world)],
                               dim=1)
        error = 0.0
        for b in range(rows):
            out = rearranged[b, torch.from_numpy(plan.restore[b])].numpy()
            want = ism.reference_attention(q[b].numpy(), k[b].numpy(), v[b].numpy(), layouts[b],
                                           paradigm)
            error = max(error, float(np.abs(out - want).max()))
        report["max_error"] = error
        report["imbalance"] = plan.imbalance
        report["baselines"] = {name: s.imbalance for name, s in plan.baselines.items()}
    return report


def rank_main(rank: int, world: int, port: int, layout: str, paradigm: str, block: int,
              batch: List[str], results) -> None:
    import torch
    import torch.distributed as dist

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        report = attend(torch, dist, rank, world, [layout], paradigm, block)
        if batch:
            report["batch"] = attend(torch, dist, rank, world, [layout] + batch, paradigm, block)
        results.put(report)
    finally:
        dist.destroy_process_group()


def run(ranks: int, layout: str = LAYOUT, paradigm: str = PARADIGM, block: int = 16,
        batch: Optional[List[str]] = None) -> Dict:
    """Runs the ranks and returns rank 0's report, with "ranks" the reports of
    all; with `batch`, the same of the batch [layout] + batch under "batch"."""
    import torch.multiprocessing as mp

    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    mp.spawn(rank_main, args=(ranks, free_port(), layout, paradigm, block, batch or [], results),
             nprocs=ranks, join=True)
    reports = sorted((results.get() for _ in range(ranks)), key=lambda r: r["rank"])
    summary = dict(reports[0])
    summary["ranks"] = reports
    if batch:
        summary["batch"] = dict(reports[0]["batch"])
        summary["batch"]["ranks"] = [r["batch"] for r in reports]
    return summary


def print_summary(title: str, summary: Dict) -> bool:
    """Prints the imbalance, the rank table and the error; True when equal."""
    print(f"{title}: max/mean pairs {summary['imbalance']:.3f} (even "
          f"{summary['baselines']['even']:.3f}, head-tail "
          f"{summary['baselines']['head_tail']:.3f}, per-document head-tail "
          f"{summary['baselines']['per_document_head_tail']:.3f})")
    print("rank  tokens  runs  visible pairs  bytes sent  bytes received")
    for r in summary["ranks"]:
        print(f"{r['rank']:>4}  {r['tokens']:>6}  {r['runs']:>4}  {r['pairs']:>13,}  "
              f"{r['sent']:>10,}  {r['received']:>14,}")
    agree = summary["max_error"] <= TOLERANCE
    print(f"max |output - reference| = {summary['max_error']:.2e}: "
          f"{'equal' if agree else 'DIFFERENT'} within {TOLERANCE:g}")
    return agree


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--layout", default=LAYOUT)
    parser.add_argument("--paradigm", default=PARADIGM)
    parser.add_argument("--block", type=int, default=16)
    parser.add_argument("--batch", action="append", default=[], metavar="L",
                        help="also run the batch of --layout and this row (repeatable), "
                             "every row as long as --layout")
    args = parser.parse_args(argv)
    summary = run(args.ranks, args.layout, args.paradigm, args.block, args.batch)
    agree = print_summary(f"{args.ranks} ranks, {args.paradigm}, blocks of {args.block}",
                          summary)
    if args.batch:
        agree = print_summary(f"batch of {1 + len(args.batch)} rows, planned jointly",
                              summary["batch"]) and agree
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
