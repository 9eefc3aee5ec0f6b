"""ism: attention masks for multi-turn LLMs, exact and in every engine's format.

Causal, prefix-LM, bidirectional and ISM (arXiv 2408.00539) masks of a packed
row of dialogues: the segment function and intervals, dense and block masks,
every engine format of the C++ library with decoders to verify an engine's own
arrays, and the CPU attention, from the same headers as the C++ library.
``ism.torch`` builds FlexAttention block masks and HF/SDPA masks, ``ism.hf``
turns a chat template's output into a layout, ``ism.testing`` has pytest
assertions for engine tests. docs/python.md is the guide; docs/semantics.md
defines every mask.
"""

from ._analyses import (Density, Labels, PairCount, TrainingCost, density, labels,
                        reusable_prefix, training_cost)
from ._arrays import bfloat16
from ._attention import attention, reference_attention
from ._ism import ROLES, BlockMask, Layout, Paradigm, VerifyReport, paradigm_names
from ._masks import block_mask, dense, export, formats, intervals, save
from ._plan import Plan, RankWork, Sharding, plan
from ._verify import verify
from .errors import (ArgumentError, BlockMaskMismatch, Error, FormatError, IOError, LayoutError,
                     LayoutParseError, OverflowError, ParadigmError, ShapeError,
                     UnknownFormatError, UnknownParadigmError)

__version__ = "0.1.0"

__all__ = [
    "Layout", "Paradigm", "BlockMask", "VerifyReport", "ROLES", "paradigm_names",
    "intervals", "dense", "block_mask", "export", "save", "formats", "verify",
    "labels", "density", "training_cost", "reusable_prefix",
    "Labels", "PairCount", "Density", "TrainingCost",
    "attention", "reference_attention", "bfloat16",
    "plan", "Plan", "Sharding", "RankWork",
    "Error", "LayoutError", "LayoutParseError", "UnknownParadigmError", "ParadigmError",
    "ShapeError", "ArgumentError", "BlockMaskMismatch", "UnknownFormatError", "FormatError",
    "OverflowError", "IOError",
]
