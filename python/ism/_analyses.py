"""What a paradigm means for a layout, as plain dataclasses
(docs/semantics.md: labels and leakage, density, training cost, reusable prefix)."""

from dataclasses import dataclass
from typing import List

import numpy as np

from . import _ism
from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm



@dataclass(frozen=True)
class Labels:
    """Which positions may carry a next-token loss
    (docs/semantics.md#label-positions-and-leakage)."""
    trainable: np.ndarray     #: bool (N,): position q carries a loss
    leaking: np.ndarray       #: int64: positions that see the assistant token they predict
    answer_targets: int       #: positions whose target is an assistant token of their document
    trainable_count: int      #: answer_targets minus the leaking positions


@dataclass(frozen=True)
class PairCount:
    tokens: int
    visible_pairs: int
    density: float            #: visible_pairs / tokens**2


@dataclass(frozen=True)
class Density(PairCount):
    """Visible pairs of the row, and per document (docs/semantics.md#density)."""
    documents: List[PairCount]


@dataclass(frozen=True)
class TrainingCost:
    """What training every answer once costs (docs/semantics.md#training-cost)."""
    scheme: str               #: "one_pass", or "one_sample_per_answer" (triplet expansion)
    samples: int
    tokens: int               #: summed over the samples
    attention_pairs: int      #: visible pairs, summed over the samples
    answer_segments: int
    untrainable_segments: int  #: answers that leak even in their own sample


def labels(layout: LayoutLike, paradigm: ParadigmLike) -> Labels:
    """Trainable label positions and the positions that leak their target."""
    return Labels(**_ism.labels(as_layout(layout), as_paradigm(paradigm)))


def density(layout: LayoutLike, paradigm: ParadigmLike) -> Density:
    """Visible pairs and density of the row and of each document."""
    d = _ism.density(as_layout(layout), as_paradigm(paradigm))
    documents = [PairCount(**c) for c in d.pop("documents")]
    return Density(documents=documents, **d)


def training_cost(layout: LayoutLike, paradigm: ParadigmLike) -> TrainingCost:
    """Samples, tokens and attention pairs needed to train every answer once."""
    return TrainingCost(**_ism.training_cost(as_layout(layout), as_paradigm(paradigm)))


def reusable_prefix(shorter: LayoutLike, longer: LayoutLike, paradigm: ParadigmLike) -> int:
    """How many tokens of ``shorter``'s KV cache stay valid when the dialogue
    grows to ``longer`` (docs/semantics.md#reusable-kv-prefix). Raises
    :class:`ism.LayoutError` when ``longer`` does not extend ``shorter``."""
    return _ism.reusable_prefix(as_layout(shorter, "shorter"), as_layout(longer, "longer"),
                                as_paradigm(paradigm))
