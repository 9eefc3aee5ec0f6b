"""ism.attention and ism.reference_attention against a NumPy float64 softmax
under the oracle's mask."""

import random

import numpy as np
import pytest

import ism
import oracle
from conftest import layouts

LAYOUTS = layouts(seed=61, count=30)


def qkv(rng, nq, nk, h=4, hkv=2, d=8, dtype=np.float32):
    return tuple(rng.standard_normal(shape).astype(dtype)
                 for shape in ((nq, h, d), (nk, hkv, d), (nk, hkv, d)))


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_attention_against_numpy(index, paradigm, nprng):
    d, l = LAYOUTS[index]
    name, given = paradigm
    n = len(l)
    q, k, v = qkv(nprng, n, n)
    mask = oracle.dense(d, name)
    out_e, lse_e = oracle.attention(q, k, v, mask)
    out, lse = ism.attention(q, k, v, l, given, return_lse=True, threads=2)
    assert out.dtype == np.float32 and out.shape == q.shape and lse.shape == (n, 4)
    np.testing.assert_allclose(out, out_e, atol=1e-5)
    np.testing.assert_allclose(lse, lse_e, atol=1e-5)
    ref, ref_lse = ism.reference_attention(q, k, v, l, given, return_lse=True)
    assert ref.dtype == np.float64
    np.testing.assert_allclose(ref, out_e, atol=1e-12)
    np.testing.assert_allclose(ref_lse, lse_e, atol=1e-12)
    np.testing.assert_array_equal(ism.attention(q, k, v, l, given, threads=1), out)


@pytest.mark.parametrize("index", range(0, len(LAYOUTS), 3))
def test_chunks_scale_and_groups(index, nprng):
    d, l = LAYOUTS[index]
    n = len(l)
    rng = random.Random(index)
    for name in ("ism", "prefix", "bidirectional-roles:tool,user"):
        for _ in range(3):
            q0 = rng.randint(0, n - 1)
            q1 = rng.randint(q0 + 1, n)
            k0 = rng.randint(0, n - 1)
            k1 = rng.randint(k0 + 1, n)
            h, hkv = rng.choice([(4, 1), (4, 2), (3, 3), (6, 2)])
            q, k, v = qkv(nprng, q1 - q0, k1 - k0, h, hkv, d=16)
            mask = oracle.dense(d, name, (q0, q1, k0, k1))
            out_e, lse_e = oracle.attention(q, k, v, mask, scale=0.3)
            out, lse = ism.attention(q, k, v, l, name, scale=0.3, q_start=q0, k_start=k0,
                                     return_lse=True)
            np.testing.assert_allclose(out, out_e, atol=1e-5)
            np.testing.assert_allclose(lse, lse_e, atol=1e-5)
            empty = ~mask.any(axis=1)
            assert (out[empty] == 0).all() and np.isneginf(lse[empty]).all()
            ref = ism.reference_attention(q, k, v, l, name, scale=0.3, q_start=q0, k_start=k0)
            np.testing.assert_allclose(ref, out_e, atol=1e-12)


def test_rows_that_see_nothing(nprng):
    # Queries of the second document against the keys of the first: nothing visible.
    d = [[("user", 5), ("assistant", 3)], [("user", 4), ("assistant", 4)]]
    l = ism.Layout(d)
    q, k, v = qkv(nprng, 8, 8)
    for f in (ism.attention, ism.reference_attention):
        out, lse = f(q, k, v, l, "ism", q_start=8, k_start=0, return_lse=True)
        assert (out == 0).all() and np.isneginf(lse).all() and not np.isnan(out).any()
    # A decode-like chunk: the first key row only, seen by rows 0..7.
    out, lse = ism.attention(q, k[:1], v[:1], l, "ism", q_start=0, k_start=0, return_lse=True)
    mask = oracle.dense(d, "ism", (0, 8, 0, 1))
    out_e, lse_e = oracle.attention(q, k[:1], v[:1], mask)
    np.testing.assert_allclose(out, out_e, atol=1e-6)
    np.testing.assert_allclose(lse, lse_e, atol=1e-5)


def test_bfloat16_numpy_and_torch_inputs(nprng):
    d, l = LAYOUTS[0]
    n = len(l)
    q, k, v = (x.astype(ism.bfloat16) for x in qkv(nprng, n, n))
    mask = oracle.dense(d, "ism")
    out_e, lse_e = oracle.attention(q.astype(np.float64), k.astype(np.float64),
                                    v.astype(np.float64), mask)
    out, lse = ism.attention(q, k, v, l, "ism", return_lse=True)
    assert out.dtype == np.float32
    # docs/semantics.md: bfloat16 adds at most 2^-9 max|V| to the float bound.
    tol = 2 ** -9 * np.abs(v.astype(np.float32)).max() + 1e-5
    np.testing.assert_allclose(out, out_e, atol=tol)
    np.testing.assert_allclose(lse, lse_e, atol=1e-4)
    ref = ism.reference_attention(q, k, v, l, "ism")
    np.testing.assert_allclose(ref, out_e, atol=1e-12)


@pytest.mark.torch
def test_torch_tensors_in_and_out(nprng):
    import torch
    d, l = LAYOUTS[1]
    n = len(l)
    q, k, v = qkv(nprng, n, n)
    mask = oracle.dense(d, "prefix")
    out_e, _ = oracle.attention(q, k, v, mask)
    tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
    out = ism.attention(tq, tk, tv, l, "prefix")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), out_e, atol=1e-5)
    out, lse = ism.attention(tq.requires_grad_(), tk, tv, l, "prefix", return_lse=True)
    assert isinstance(lse, torch.Tensor)
    ref = ism.reference_attention(tq, tk, tv, l, "prefix")
    assert isinstance(ref, torch.Tensor) and ref.dtype == torch.float64
    bq, bk, bv = (x.detach().to(torch.bfloat16) for x in (tq, tk, tv))
    out_b = ism.attention(bq, bk, bv, l, "prefix")
    e_b, _ = oracle.attention(*(x.float().numpy() for x in (bq, bk, bv)), mask)
    tol = 2 ** -9 * bv.float().abs().max().item() + 1e-5
    np.testing.assert_allclose(out_b.numpy(), e_b, atol=tol)
    np.testing.assert_allclose(ism.reference_attention(bq, bk, bv, l, "prefix").numpy(), e_b,
                               atol=1e-12)


def test_threads_and_concurrent_calls(nprng):
    """The result does not depend on the thread count, bit for bit, and calls from
    several Python threads at once (the GIL is released) give the same results."""
    from concurrent.futures import ThreadPoolExecutor
    d, l = LAYOUTS[2]
    n = len(l)
    q, k, v = qkv(nprng, n, n, h=4, hkv=1, d=32)
    one = ism.attention(q, k, v, l, "ism", threads=1)
    for t in (2, 3, 8):
        np.testing.assert_array_equal(ism.attention(q, k, v, l, "ism", threads=t), one)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: ism.attention(q, k, v, l, "ism", threads=2), range(8)))
    for out in outs:
        np.testing.assert_array_equal(out, one)
