"""Context-parallel plans (docs/context_parallel.md): a row's query tokens, or a
batch of rows', dealt to ranks so that each computes the same attention work,
in the form PyTorch's context-parallel load balancers use, beside the
baselines engines use."""

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from . import _ism
from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm
from .errors import ArgumentError


@dataclass(frozen=True)
class RankWork:
    """One rank's share of the attention work (over a batch: summed over its rows)."""
    tokens: int
    pairs: int                #: visible (q, k) pairs of its query rows
    tiles: int                #: its query blocks x the key blocks each touches


@dataclass(frozen=True)
class Sharding:
    """The tokens of one row, or of each row of a batch of B rows, dealt to
    ranks. ``q[b, rearrange[b]]``, row b gathered by its own permutation as
    PyTorch gathers a ``(B, N)`` index, puts rank r's queries in the r-th of
    ``ranks`` contiguous slices of the sequence dimension (``offsets``), the
    same slice of every row; ``x[b, restore[b]]`` puts a rearranged row
    back. For one row, ``tokens[r]`` is 1-D and ``runs[r]`` one ``(K, 2)``
    array; for a batch, ``tokens[r]`` is ``(B, N_r)`` and
    ``runs[r]`` a list of B arrays. A plan's rows always share their slices;
    a baseline's rows may not, where its chunks round differently in rows of
    different documents: ``offsets`` is then ``(B, R + 1)`` and ``tokens[r]``
    a list of B arrays, and it is a yardstick, not a batch PyTorch can cut."""
    rearrange: np.ndarray     #: int64 (1 or B, N): position i of row b holds token rearrange[b, i]
    restore: np.ndarray       #: int64 (1 or B, N): each row's inverse permutation
    offsets: np.ndarray       #: int64 (R + 1,): rank r: rearrange[:, offsets[r]:offsets[r + 1]]
    tokens: List[np.ndarray]  #: int64, per rank: its tokens, ascending (per row for a batch)
    runs: list                #: per rank: int64 (K, 2) runs [begin, end) (a list per row for a batch)
    work: List[RankWork]      #: per rank, summed over a batch's rows
    imbalance: float          #: max / mean visible pairs over the ranks
    tile_imbalance: float     #: max / mean tiles over the ranks
    batch_rows: Tuple["Sharding", ...] = ()  #: a batch's rows; empty for one row

    @property
    def ranks(self) -> int:
        return len(self.work)

    @property
    def rows(self) -> Tuple["Sharding", ...]:
        """Each row's own sharding, B of them: for one row, the sharding itself."""
        return self.batch_rows or (self,)


@dataclass(frozen=True)
class Plan(Sharding):
    """ism's balanced plan, and the baselines computed the same way:
    ``"even"``, ``"head_tail"`` and ``"per_document_head_tail"``."""
    block_size: int = 128
    baselines: Dict[str, Sharding] = None


def _row_fields(d: dict) -> dict:
    rearrange = d["rearrange"]
    offsets = d["offsets"]
    return dict(
        rearrange=rearrange.reshape(1, -1),
        restore=d["restore"].reshape(1, -1),
        offsets=offsets,
        tokens=[rearrange[offsets[r]:offsets[r + 1]] for r in range(len(offsets) - 1)],
        runs=list(d["runs"]),
        work=[RankWork(*(int(x) for x in row)) for row in d["work"]],
        imbalance=d["imbalance"],
        tile_imbalance=d["tile_imbalance"],
    )


def _sharding_fields(d: dict, batch: bool) -> dict:
    """One row's fields as they always were; a batch's stacked row by row, its
    work the batch's sums."""
    if not batch:
        return _row_fields(d["rows"][0])
    rows = [Sharding(**_row_fields(row)) for row in d["rows"]]
    ranks = len(rows[0].offsets) - 1
    rearrange = np.concatenate([row.rearrange for row in rows])
    if all(np.array_equal(row.offsets, rows[0].offsets) for row in rows):
        offsets = rows[0].offsets
        tokens = [rearrange[:, offsets[r]:offsets[r + 1]] for r in range(ranks)]
    else:
        # A baseline whose chunks round differently in different rows: no
        # equal cut of the batch, each row's own slices.
        offsets = np.stack([row.offsets for row in rows])
        tokens = [[row.tokens[r] for row in rows] for r in range(ranks)]
    return dict(
        rearrange=rearrange,
        restore=np.concatenate([row.restore for row in rows]),
        offsets=offsets,
        tokens=tokens,
        runs=[[row.runs[r] for row in rows] for r in range(ranks)],
        work=[RankWork(*(int(x) for x in row)) for row in d["work"]],
        imbalance=d["imbalance"],
        tile_imbalance=d["tile_imbalance"],
        batch_rows=tuple(rows),
    )


def plan(layout: Union[LayoutLike, Sequence[LayoutLike]], paradigm: ParadigmLike, ranks: int, *,
         block_size: int = 128) -> Plan:
    """Deals the row's query tokens to ``ranks`` ranks, N / R tokens each (the
    even split's counts when R does not divide N) in whole blocks of
    ``block_size`` where the row allows, so that each computes the same number
    of visible pairs.

    A list or tuple of layouts is a batch of rows of the same token count N,
    each its own packed documents: every rank holds the same slice of each
    row's rearranged tokens, and the rows are balanced jointly, so that each
    rank's work summed over the rows is the same (``rearrange`` and
    ``restore`` are then ``(B, N)``, and ``rows`` holds each row's own
    sharding). Raises :class:`ism.ArgumentError` for fewer than one rank, more
    ranks than tokens, a block under one token or an empty batch, and
    :class:`ism.ShapeError` for rows of different lengths."""
    for name, value in (("ranks", ranks), ("block_size", block_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ArgumentError(f"{name} is a {type(value).__name__}; expected an int")
    batch = isinstance(layout, (list, tuple))
    rows = ([as_layout(row, f"layout[{b}]") for b, row in enumerate(layout)] if batch
            else [as_layout(layout)])
    p = _ism.plan(rows, as_paradigm(paradigm), int(ranks), int(block_size))
    baselines = {name: Sharding(**_sharding_fields(p[name], batch))
                 for name in ("even", "head_tail", "per_document_head_tail")}
    return Plan(block_size=int(block_size), baselines=baselines,
                **_sharding_fields(p["balanced"], batch))
