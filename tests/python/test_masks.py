"""ism.dense (whole row, chunks, every dtype) and ism.block_mask against the oracle."""

import random

import ml_dtypes
import numpy as np
import pytest

import ism
import oracle
from conftest import layouts

LAYOUTS = layouts(seed=31, count=40)


def random_chunk(rng: random.Random, n: int):
    q0 = rng.randint(0, n)
    q1 = rng.randint(q0, n)
    k0 = rng.randint(0, n)
    k1 = rng.randint(k0, n)
    return q0, q1, k0, k1


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_dense_against_oracle(index, paradigm):
    d, l = LAYOUTS[index]
    name, given = paradigm
    expect = oracle.dense(d, name)
    got = ism.dense(l, given)
    assert got.dtype == np.bool_ and got.shape == expect.shape
    np.testing.assert_array_equal(got, expect)
    rng = random.Random(index)
    for _ in range(4):
        c = random_chunk(rng, len(l))
        got = ism.dense(l, given, chunk=c)
        assert got.shape == (c[1] - c[0], c[3] - c[2])
        np.testing.assert_array_equal(got, oracle.dense(d, name, c), err_msg=str(c))
    # A decode step, as in docs/semantics.md#chunks-and-absolute-positions.
    q = len(l) - 1
    np.testing.assert_array_equal(ism.dense(l, given, chunk=[q, q + 1, 0, q + 1]),
                                  expect[q:q + 1, :q + 1])


@pytest.mark.parametrize("dtype,numpy_dtype", [
    ("float32", np.float32), (np.float32, np.float32), ("float16", np.float16),
    (np.float16, np.float16), ("bfloat16", ml_dtypes.bfloat16), (ism.bfloat16, ml_dtypes.bfloat16),
    (ml_dtypes.bfloat16, ml_dtypes.bfloat16), ("bool", np.bool_), (bool, np.bool_),
    (np.bool_, np.bool_)])
def test_dense_dtypes(dtype, numpy_dtype):
    rng = random.Random(7)
    for d, l in LAYOUTS[:10]:
        for name in ("ism", "prefix"):
            c = random_chunk(rng, len(l))
            got = ism.dense(l, name, chunk=c, dtype=dtype)
            assert got.dtype == np.dtype(numpy_dtype)
            mask = oracle.dense(d, name, c)
            if numpy_dtype is np.bool_:
                np.testing.assert_array_equal(got, mask)
            else:
                f = got.astype(np.float32)
                assert ((f == 0) == mask).all() and np.isneginf(f[~mask]).all()


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_block_mask_against_oracle(index, paradigm):
    d, l = LAYOUTS[index]
    name, given = paradigm
    lo, hi = oracle.intervals(d, name)
    rng = random.Random(index)
    cases = [((4, 4), None), ((3, 5), None), ((16, 16), None),
             ((rng.randint(1, 9), rng.randint(1, 9)), random_chunk(rng, len(l)))]
    for block, chunk in cases:
        b = ism.block_mask(l, given, block_size=block if block[0] != block[1] else block[0],
                           chunk=chunk)
        classes = oracle.tile_classes(lo, hi, block, chunk)
        assert b.block_size == block
        assert b.chunk == (chunk or (0, len(l), 0, len(l)))
        assert (b.query_blocks, b.key_blocks) == classes.shape
        assert b.full_blocks == (classes == "full").sum()
        assert b.partial_blocks == (classes == "partial").sum()
        for qb in range(classes.shape[0]):
            for kb in range(classes.shape[1]):
                assert b.classify(qb, kb) == classes[qb, kb], (block, chunk, qb, kb)
        for attr, kind, transpose in (("full_kv", "full", False), ("partial_kv", "partial", False),
                                      ("full_q", "full", True), ("partial_q", "partial", True)):
            offsets, indices = getattr(b, attr)
            eo, ei = oracle.csr(classes, kind, transpose)
            assert offsets.dtype == np.int64 and indices.dtype == np.int32, attr
            np.testing.assert_array_equal(offsets, eo, err_msg=attr)
            np.testing.assert_array_equal(indices, ei, err_msg=attr)


def test_block_mask_default_tile_and_views_outlive_the_object():
    d = [[("system", 100), ("user", 60), ("assistant", 90)], [("user", 20), ("assistant", 30)]]
    l = ism.Layout(d)
    b = ism.block_mask(l, "ism")
    assert b.block_size == (128, 128)
    offsets, indices = b.partial_kv
    classes = oracle.tile_classes(*oracle.intervals(d, "ism"), (128, 128))
    del b
    eo, ei = oracle.csr(classes, "partial")
    np.testing.assert_array_equal(offsets, eo)
    np.testing.assert_array_equal(indices, ei)


def test_intervals_arrays_outlive_their_call():
    lo, hi = ism.intervals("user:3, assistant:2", "ism")
    import gc
    gc.collect()
    np.testing.assert_array_equal(hi, [2, 2, 2, 3, 4])
    # No copies: the arrays view the library's own buffers.
    assert not lo.flags.owndata and not hi.flags.owndata
    assert not ism.export("user:3", "ism", "dense")["mask"].flags.owndata
