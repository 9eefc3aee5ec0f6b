"""Shared pieces of the loader examples.

Every example reads one `ism export` file with NumPy, rebuilds from it the
boolean matrix of visible (query, key) pairs, and compares that with the
`intervals` export of the same layout and paradigm, the smallest exact form of
the mask. Then, when the engine is importable, it hands the arrays to the
engine the way the engine's documentation describes.

Positions are absolute (docs/semantics.md#chunks-and-absolute-positions): row
q of a matrix is query token q of the packed sequence, column k is key token k.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from typing import Callable, Dict, Sequence, Tuple

# The exit status that tells ctest "skipped": the example could not run at all.
EXIT_CANNOT_RUN = 77

try:
    import numpy as np
except ImportError:
    print(f"skipped: NumPy is not installed for {sys.executable}; the examples need it")
    sys.exit(EXIT_CANNOT_RUN)

# The paradigms the independent reading below knows: the four built-in ones and
# the data-driven family bidirectional-roles:ROLE[,ROLE...].
PARADIGMS = ("causal", "prefix", "ism", "bidirectional")
BIDIRECTIONAL_ROLES = "bidirectional-roles:"


class CheckFailed(Exception):
    """The export does not hold what its format promises, or disagrees with the
    intervals export."""


# --------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------


def load_npy(path: str) -> np.ndarray:
    # allow_pickle stays off: an export holds plain arrays only.
    return np.load(path, allow_pickle=False)


def load_npz(path: str, names: Sequence[str]) -> Dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        missing = [name for name in names if name not in archive.files]
        if missing:
            raise CheckFailed(f"{path}: missing arrays {missing}; it holds {archive.files}")
        return {name: archive[name] for name in names}


def expect_array(array: np.ndarray, name: str, dtypes: Sequence[str], ndim: int) -> None:
    """Checks the dtype (as NumPy spells it, e.g. '<i4') and the number of axes."""
    if array.dtype.str not in dtypes:
        raise CheckFailed(f"{name}: dtype {array.dtype.str}, expected {' or '.join(dtypes)}")
    if array.ndim != ndim:
        raise CheckFailed(f"{name}: shape {array.shape}, expected {ndim} axes")


def expect_shape(array: np.ndarray, name: str, shape: Tuple[int, ...]) -> None:
    if array.shape != tuple(shape):
        raise CheckFailed(f"{name}: shape {array.shape}, expected {tuple(shape)}")


# --------------------------------------------------------------------------
# The reference: the intervals export
# --------------------------------------------------------------------------


def read_intervals(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """lo and hi of the intervals export: row q sees keys lo[q]..hi[q]."""
    arrays = load_npz(path, ("lo", "hi"))
    lo, hi = arrays["lo"], arrays["hi"]
    for name, array in (("lo", lo), ("hi", hi)):
        expect_array(array, f"{path}: {name}", ("<i8",), 1)
    if lo.shape != hi.shape:
        raise CheckFailed(f"{path}: lo has {lo.size} rows but hi has {hi.size}")
    # A row that sees nothing has lo > hi; any other interval lies in 0..N-1.
    n = lo.size
    bad = np.flatnonzero((lo <= hi) & ((lo < 0) | (hi >= n)))
    if bad.size:
        q = int(bad[0])
        raise CheckFailed(f"{path}: row {q} has interval [{lo[q]}, {hi[q]}] outside 0..{n - 1}")
    return lo, hi


def visible_from_intervals(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    keys = np.arange(lo.size)
    return (keys[None, :] >= lo[:, None]) & (keys[None, :] <= hi[:, None])


def cu_seqlens_from_intervals(lo: np.ndarray) -> np.ndarray:
    """Document starts plus the total length. Every paradigm has lo(q) = the
    start of q's document, so a document starts exactly where lo[q] == q."""
    positions = np.arange(lo.size)
    starts = np.flatnonzero(lo == positions)
    document_of = np.searchsorted(starts, positions, side="right") - 1
    if starts.size == 0 or starts[0] != 0 or np.any(lo != starts[document_of]):
        raise CheckFailed("lo is not the start of each token's document "
                          "(docs/semantics.md#paradigms-and-the-segment-function)")
    return np.append(starts, lo.size)


def document_spans(cu_seqlens: np.ndarray):
    """(d0, d1) for each document."""
    return zip(cu_seqlens[:-1].tolist(), cu_seqlens[1:].tolist())


# --------------------------------------------------------------------------
# An independent reading of the table in
# docs/semantics.md#paradigms-and-the-segment-function, for the intervals example
# --------------------------------------------------------------------------

_ROLES = {"system": "system", "s": "system", "user": "user", "u": "user", "tool": "tool",
          "t": "tool", "assistant": "assistant", "a": "assistant"}


def parse_layout(text: str):
    """Documents as lists of (role, length), from the layout text form."""
    documents = []
    for document in text.split("|"):
        segments = []
        for segment in document.split(","):
            role, _, length = segment.partition(":")
            role = _ROLES.get(role.strip())
            if role is None or not length.strip().isdigit() or int(length) < 1:
                raise CheckFailed(f"cannot read segment '{segment.strip()}' of layout '{text}'")
            segments.append((role, int(length)))
        documents.append(segments)
    return documents


def block_roles(paradigm: str):
    """The roles whose segments are bidirectional blocks under
    bidirectional-roles:ROLE[,ROLE...], or None for another paradigm."""
    if not paradigm.startswith(BIDIRECTIONAL_ROLES):
        return None
    roles = [_ROLES.get(name.strip()) for name in paradigm[len(BIDIRECTIONAL_ROLES):].split(",")]
    if None in roles:
        raise CheckFailed(f"cannot read the roles of paradigm '{paradigm}'")
    return set(roles)


def intervals_from_layout(text: str, paradigm: str) -> Tuple[np.ndarray, np.ndarray]:
    if paradigm not in PARADIGMS and block_roles(paradigm) is None:
        raise CheckFailed(f"unknown paradigm '{paradigm}'")
    blocks = block_roles(paradigm)
    lo, hi = [], []
    d0 = 0
    for segments in parse_layout(text):
        d1 = d0 + sum(length for _, length in segments)
        # The trailing answer: the maximal run of assistant segments at the end.
        prefix_end = d1
        for role, length in reversed(segments):
            if role != "assistant":
                break
            prefix_end -= length
        s0 = d0
        for role, length in segments:
            s1 = s0 + length
            for q in range(s0, s1):
                if paradigm == "causal":
                    last = q
                elif paradigm == "bidirectional":
                    last = d1 - 1
                elif paradigm == "prefix":
                    last = max(q, prefix_end - 1)
                elif paradigm == "ism":
                    last = s1 - 1 if role != "assistant" else q
                else:
                    last = s1 - 1 if role in blocks else q
                lo.append(d0)
                hi.append(last)
            s0 = s1
        d0 = d1
    return np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64)


# --------------------------------------------------------------------------
# Comparing and reporting
# --------------------------------------------------------------------------


def check_equal(what: str, found: np.ndarray, expected: np.ndarray) -> None:
    found, expected = np.asarray(found), np.asarray(expected)
    if found.shape != expected.shape:
        raise CheckFailed(f"{what}: shape {found.shape}, expected {expected.shape}")
    differ = np.argwhere(found != expected)
    if differ.size:
        at = tuple(int(i) for i in differ[0])
        raise CheckFailed(f"{what}: {len(differ)} entries differ; the first at {at} is "
                          f"{found[at]}, expected {expected[at]}")


def check_close(what: str, found: np.ndarray, expected: np.ndarray, tolerance: float) -> None:
    error = float(np.max(np.abs(np.asarray(found, dtype=np.float64) - expected)))
    if not error <= tolerance:
        raise CheckFailed(f"{what}: largest difference {error:.3g}, allowed {tolerance:.3g}")
    print(f"ok: {what} (largest difference {error:.2g})")


def ok(message: str) -> None:
    print(f"ok: {message}")


def import_optional(module: str):
    """The module, or None when it (or something it needs) cannot be imported."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# --engine: "auto" hands the arrays to the engine when it can run, "off" never
# does, "required" treats an engine that cannot run as an example that cannot.
_engine_mode = "auto"


def engine_enabled() -> bool:
    return _engine_mode != "off"


def skipped(engine: str, why: str = "is not installed") -> None:
    if _engine_mode == "required":
        print(f"skipped: {engine} {why}")
        sys.exit(EXIT_CANNOT_RUN)
    print(f"skipped: {engine} {why}; arrays checked with NumPy only")


def argument_parser(description: str, export_help: str,
                    with_intervals: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("export", help=export_help)
    if with_intervals:
        parser.add_argument("--intervals", required=True, metavar="NPZ",
                            help="the intervals export of the same layout and paradigm, "
                                 "to check the decoded mask against")
    parser.add_argument("--engine", choices=("auto", "off", "required"), default="auto",
                        help="hand the arrays to the engine when it can run (auto), never "
                             "(off), or exit 77 when it cannot (required)")
    return parser


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    global _engine_mode
    args = parser.parse_args()
    _engine_mode = args.engine
    return args


def run(main: Callable[[], None]) -> None:
    """Runs an example: exit 0 when every check passes, 1 when one fails."""
    try:
        main()
    except (CheckFailed, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


# --------------------------------------------------------------------------
# Attention, to compare what an engine computes with the mask it was given
# --------------------------------------------------------------------------


def random_qkv(n: int, heads: int = 2, dim: int = 16, seed: int = 0):
    """Query, key and value as float32 (1, heads, n, dim)."""
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal((1, heads, n, dim)).astype(np.float32) for _ in range(3))


def reference_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                        visible: np.ndarray) -> np.ndarray:
    """softmax(Q K^T / sqrt(d) + M) V in float64, M = 0 visible and -inf hidden;
    a row that sees nothing gives zeros (docs/semantics.md#rows-that-see-nothing)."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    scores = np.where(visible, scores, -np.inf)
    peak = np.max(scores, axis=-1, keepdims=True)
    weights = np.exp(scores - np.where(np.isfinite(peak), peak, 0.0))
    total = np.sum(weights, axis=-1, keepdims=True)
    return (weights / np.where(total > 0, total, 1.0)) @ v


def check_sdpa(visible: np.ndarray, attn_mask_of: Callable, mask_name: str) -> None:
    """Hands attn_mask_of(torch), the export as a torch tensor, to PyTorch's
    scaled_dot_product_attention and compares the output with the float64
    reference under `visible`; says it skipped when torch is missing."""
    torch = import_optional("torch")
    if torch is None:
        skipped("torch")
        return
    q, k, v = random_qkv(visible.shape[0])
    expected = reference_attention(q, k, v, visible)
    out = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(x) for x in (q, k, v)), attn_mask=attn_mask_of(torch))
    check_close(f"torch {torch.__version__} scaled_dot_product_attention with {mask_name}",
                out.numpy(), expected, 1e-5)


def interval_mask_mod(lo, hi):
    """A FlexAttention mask_mod for the intervals, as torch tensors. Indexing a
    captured tensor is what FlexAttention supports inside a mask_mod."""

    def visible(batch, head, q_index, k_index):
        return (lo[q_index] <= k_index) & (k_index <= hi[q_index])

    return visible


def eager_flex_attention(flex, query, key, value, block_mask):
    """flex_attention without torch.compile. Its unfused path applies the mask_mod
    to every pair and reads no block list; it runs anywhere, which is what a
    check on a CPU wants, so its warning that a compiled kernel is faster is
    silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
        return flex.flex_attention(query, key, value, block_mask=block_mask)
