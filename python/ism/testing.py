"""Assertions for engine tests (pytest or any runner): does an engine's mask,
or an engine's attention output, match the contract of docs/semantics.md?

    ism.testing.assert_mask_equal(my_engine_mask, layout, "ism")
    ism.testing.assert_attention_close(out, q, k, v, layout, "ism", lse=lse)
"""

from typing import Optional

import numpy as np

from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm
from ._arrays import bfloat16, to_numpy
from ._attention import reference_attention
from ._verify import verify
from .errors import ShapeError

# float32's unit roundoff: engines accumulate logits and softmax sums in float32.
_ACCUMULATION_ROUNDOFF = 2.0 ** -24


def assert_mask_equal(mask, layout: LayoutLike, paradigm: ParadigmLike, *,
                      format: Optional[str] = None, causal: Optional[bool] = None) -> None:
    """Asserts that ``mask`` holds the paradigm's mask of ``layout``, pair by pair.

    ``mask`` is a dense (N, N) array or tensor (leading dimensions of size 1,
    as in (1, 1, N, N), are dropped): bool with True for visible, or additive
    with 0 for visible and -inf for hidden; or, with ``format``, the arrays of
    any export format (a dict, or the single array of a one-array format;
    ``causal`` is cu_seqlens' causal flag). Raises
    AssertionError naming the number of differing pairs and the first few."""
    if format is None:
        dense = to_numpy(mask, "mask")
        while dense.ndim > 2 and dense.shape[0] == 1:
            dense = dense[0]
        if dense.ndim != 2:
            raise ShapeError(f"assert_mask_equal: the mask has shape {dense.shape}; expected "
                             "(N, N), or pass format= for another export format")
        format = "dense" if dense.dtype == np.bool_ else "additive"
        mask = dense
    report = verify(layout, paradigm, format, mask, causal=causal, examples=5)
    if report.equal:
        return
    lines = [f"the {format} mask differs from {as_paradigm(paradigm).name} over "
             f"'{as_layout(layout)}' in {report.differing_pairs} of "
             f"{report.queries} x {report.keys} pairs; first:"]
    for query, key, in_mask in report.first_differences:
        lines.append(f"  query {query}, key {key}: {'visible' if in_mask else 'hidden'} in the "
                     f"mask, {'hidden' if in_mask else 'visible'} by the contract")
    raise AssertionError("\n".join(lines))


def unit_roundoff(dtype) -> float:
    """2^-p for a float type with p significand bits (bfloat16 2^-8, float16
    2^-11, float32 2^-24, float64 2^-53)."""
    dtype = np.dtype(dtype)
    if dtype == bfloat16:
        return 2.0 ** -8
    return float(np.finfo(dtype).eps) / 2


def assert_attention_close(output, q, k, v, layout: LayoutLike, paradigm: ParadigmLike, *,
                           lse=None, scale: Optional[float] = None, q_start: int = 0,
                           k_start: int = 0) -> None:
    """Asserts that an engine's attention output (and log-sum-exp, if given)
    matches the exact float64 attention of the same inputs under the mask.

    ``output`` is (Nq, H, D) and ``lse`` (Nq, H), NumPy or torch, any float
    dtype; ``q``, ``k``, ``v`` are the inputs the engine saw, as for
    :func:`ism.attention` (any float dtype). The tolerance scales with the
    precision: with u the unit roundoff of the coarsest of the inputs' and the
    output's dtypes, D the head dim, L the bound scale * |q_t| * max_k |k_k| on
    the row's logits and M = max(1, max |v|) over the head's values,

        |out - exact| <= M * (4u + 4 * 2^-24 * sqrt(D) * (1 + L))     per element
        |lse - exact| <= 4 (u_lse + 2^-24 * sqrt(D)) * (1 + L)         per row and head

    (the output and softmax weights rounded to the engine's precision, logits
    accumulated in float32). A row that sees no key must give zeros and an lse
    of -inf. On failure the message names the worst row and head."""
    qn, kn, vn = (to_numpy(x, name) for x, name in ((q, "Q"), (k, "K"), (v, "V")))
    out = to_numpy(output, "output")
    exact, exact_lse = reference_attention(qn, kn, vn, layout, paradigm, scale=scale,
                                           return_lse=True, q_start=q_start, k_start=k_start)
    if out.shape != exact.shape:
        raise ShapeError(f"assert_attention_close: output has shape {out.shape}; expected "
                         f"{exact.shape} (tokens, heads, dim)")
    tokens, heads, dim = exact.shape
    u = max(unit_roundoff(a.dtype) for a in (qn, kn, vn, out))
    group = heads // kn.shape[1]
    q64, k64, v64 = (np.asarray(a, dtype=np.float64) for a in (qn, kn, vn))
    s = 1.0 / np.sqrt(dim) if scale is None else scale
    key_norm = np.linalg.norm(k64, axis=2).max(axis=0, initial=0.0)           # (Hkv,)
    largest_value = np.maximum(1.0, np.abs(v64).max(axis=(0, 2), initial=0.0))  # (Hkv,)
    kv_head = np.arange(heads) // group
    logit_bound = abs(s) * np.linalg.norm(q64, axis=2) * key_norm[kv_head]   # (Nq, H)
    accumulation = 4 * _ACCUMULATION_ROUNDOFF * np.sqrt(dim) * (1 + logit_bound)
    allowed = largest_value[kv_head] * (4 * u + accumulation)                # (Nq, H)

    error = np.abs(out.astype(np.float64) - exact)
    error[~np.isfinite(out)] = np.inf
    _check("output", error.max(axis=2), allowed, exact, out)
    if lse is not None:
        got = to_numpy(lse, "lse")
        if got.shape != exact_lse.shape:
            raise ShapeError(f"assert_attention_close: lse has shape {got.shape}; expected "
                             f"{exact_lse.shape} (tokens, heads)")
        got64 = got.astype(np.float64)
        with np.errstate(invalid="ignore"):  # -inf - -inf in rows that see nothing
            lse_error = np.abs(got64 - exact_lse)
        lse_error[np.isneginf(exact_lse) & np.isneginf(got64)] = 0.0
        lse_error[np.isnan(lse_error)] = np.inf
        allowed_lse = 4 * (unit_roundoff(got.dtype) + _ACCUMULATION_ROUNDOFF * np.sqrt(dim)) \
            * (1 + logit_bound)
        _check("lse", lse_error, allowed_lse, exact_lse, got)


def _check(what: str, error: np.ndarray, allowed: np.ndarray, exact: np.ndarray,
           got: np.ndarray) -> None:
    excess = error / allowed
    if not (excess > 1).any():
        return
    row, head = np.unravel_index(np.argmax(excess), excess.shape)
    failing = int((excess > 1).sum())
    raise AssertionError(
        f"attention {what} differs from the exact result in {failing} (row, head) pairs; worst: "
        f"row {row}, head {head}, error {error[row, head]:.3g} > allowed {allowed[row, head]:.3g}"
        f"\n  exact: {np.array2string(np.asarray(exact[row, head]), precision=6, threshold=8)}"
        f"\n  got:   {np.array2string(np.asarray(got[row, head]), precision=6, threshold=8)}")


__all__ = ["assert_mask_equal", "assert_attention_close", "unit_roundoff"]
