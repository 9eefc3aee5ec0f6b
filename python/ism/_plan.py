"""Context-parallel plans (docs/context_parallel.md): a row's query tokens dealt
to ranks so that each computes the same attention work, in the form PyTorch's
context-parallel load balancers use, beside the baselines engines use."""

from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from . import _ism
from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm
from .errors import ArgumentError


@dataclass(frozen=True)
class RankWork:
    """One rank's share of the attention work."""
    tokens: int
    pairs: int                #: visible (q, k) pairs of its query rows
    tiles: int                #: its query blocks x the key blocks each touches


@dataclass(frozen=True)
class Sharding:
    """The tokens of one row dealt to ranks. ``q[:, rearrange[0]]`` puts rank
    r's queries in the r-th of ``ranks`` contiguous slices (``offsets``);
    ``x[:, restore[0]]`` puts a rearranged row back."""
    rearrange: np.ndarray     #: int64 (1, N): position i holds token rearrange[0, i]
    restore: np.ndarray       #: int64 (1, N): the inverse permutation
    offsets: np.ndarray       #: int64 (R + 1,): rank r: rearrange[0, offsets[r]:offsets[r + 1]]
    tokens: List[np.ndarray]  #: int64, per rank: its tokens, ascending
    runs: List[np.ndarray]    #: int64 (K, 2), per rank: its tokens as runs [begin, end)
    work: List[RankWork]      #: per rank
    imbalance: float          #: max / mean visible pairs over the ranks
    tile_imbalance: float     #: max / mean tiles over the ranks

    @property
    def ranks(self) -> int:
        return len(self.work)


@dataclass(frozen=True)
class Plan(Sharding):
    """ism's balanced plan, and the baselines computed the same way:
    ``"even"``, ``"head_tail"`` and ``"per_document_head_tail"``."""
    block_size: int = 128
    baselines: Dict[str, Sharding] = None


def _sharding_fields(d: dict) -> dict:
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


def plan(layout: LayoutLike, paradigm: ParadigmLike, ranks: int, *,
         block_size: int = 128) -> Plan:
    """Deals the row's query tokens to ``ranks`` ranks, N / R tokens each (the
    even split's counts when R does not divide N) in whole blocks of
    ``block_size`` where the row allows, so that each computes the same number
    of visible pairs. Raises
    :class:`ism.ArgumentError` for fewer than one rank, more ranks than
    tokens, or a block under one token."""
    for name, value in (("ranks", ranks), ("block_size", block_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ArgumentError(f"{name} is a {type(value).__name__}; expected an int")
    p = _ism.plan(as_layout(layout), as_paradigm(paradigm), int(ranks), int(block_size))
    baselines = {name: Sharding(**_sharding_fields(p[name]))
                 for name in ("even", "head_tail", "per_document_head_tail")}
    return Plan(block_size=int(block_size), baselines=baselines,
                **_sharding_fields(p["balanced"]))
