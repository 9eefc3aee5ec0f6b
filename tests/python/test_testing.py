"""ism.testing: assert_mask_equal and assert_attention_close, passing and failing."""

import numpy as np
import pytest

import ism
import ism.testing
import oracle
from conftest import layouts

LAYOUTS = layouts(seed=71, count=12)


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_assert_mask_equal(index, paradigm):
    d, l = LAYOUTS[index]
    name, given = paradigm
    m = oracle.dense(d, name)
    ism.testing.assert_mask_equal(m, l, given)
    ism.testing.assert_mask_equal(m[None, None], str(l), given)
    ism.testing.assert_mask_equal(oracle.additive(m), l, given)
    ism.testing.assert_mask_equal(oracle.additive(m, np.float16), l, given)
    ism.testing.assert_mask_equal(ism.export(l, given, "flex", block_size=4), l, given,
                                  format="flex")
    ism.testing.assert_mask_equal(ism.export(l, given, "intervals"), l, given,
                                  format="intervals")
    ism.testing.assert_mask_equal(ism.export(l, given, "hf")["block_sequence_ids"], l, given,
                                  format="hf")
    q = len(l) // 2
    k = int(np.flatnonzero(m[q])[0])
    bad = m.copy()
    bad[q, k] = False
    with pytest.raises(AssertionError, match=rf"query {q}, key {k}: hidden in the mask, "
                                             "visible by the contract"):
        ism.testing.assert_mask_equal(bad, l, given)
    bias = oracle.additive(m)
    bias[q, k] = -np.inf
    with pytest.raises(AssertionError, match=rf"in 1 of {len(l)} x {len(l)} pairs"):
        ism.testing.assert_mask_equal(bias, l, given)


@pytest.mark.torch
def test_assert_mask_equal_torch_and_formats():
    import torch
    d, l = LAYOUTS[0]
    m = oracle.dense(d, "ism")
    ism.testing.assert_mask_equal(torch.from_numpy(m)[None, None], l, "ism")
    bias = torch.from_numpy(oracle.additive(m)).to(torch.bfloat16)
    ism.testing.assert_mask_equal(bias[None, None], l, "ism")
    assert ism.verify(l, "ism", "additive", bias).equal
    bias[0, 0] = float("-inf")
    with pytest.raises(AssertionError, match="query 0, key 0: hidden in the mask"):
        ism.testing.assert_mask_equal(bias, l, "ism")
    bad = ism.export(l, "ism", "intervals")
    bad = {"lo": bad["lo"], "hi": bad["hi"].copy()}
    bad["hi"][0] -= 1 if bad["hi"][0] > 0 else -1
    with pytest.raises(AssertionError, match="query 0"):
        ism.testing.assert_mask_equal(bad, l, "ism", format="intervals")


def test_assert_mask_equal_shape_error():
    with pytest.raises(ism.ShapeError, match="expected"):
        ism.testing.assert_mask_equal(np.zeros((2, 3, 3), bool), "user:3", "ism")


def _inputs(seed, n, h=4, hkv=2, dim=16):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, h, dim)).astype(np.float32),
            rng.standard_normal((n, hkv, dim)).astype(np.float32),
            rng.standard_normal((n, hkv, dim)).astype(np.float32))


@pytest.mark.parametrize("index", range(0, len(LAYOUTS), 3))
def test_assert_attention_close_numpy(index):
    d, l = LAYOUTS[index]
    q, k, v = _inputs(index, len(l))
    out, lse = ism.attention(q, k, v, l, "ism", return_lse=True)
    ism.testing.assert_attention_close(out, q, k, v, l, "ism", lse=lse)
    exact, exact_lse = oracle.attention(q, k, v, oracle.dense(d, "ism"))
    ism.testing.assert_attention_close(exact.astype(np.float32), q, k, v, l, "ism",
                                       lse=exact_lse.astype(np.float32))
    # A single wrong mask element: the row that gains a key changes.
    m = oracle.dense(d, "ism")
    row = len(l) - 1
    hidden = np.flatnonzero(~m[row])
    hidden = hidden[hidden < row] if (hidden < row).any() else hidden
    bad_mask = m.copy()
    if hidden.size:
        bad_mask[row, hidden[0]] = True
    else:
        bad_mask[row, row] = False if m[row].sum() > 1 else True
    wrong, _ = oracle.attention(q, k, v, bad_mask)
    with pytest.raises(AssertionError, match=rf"worst: row {row}, head \d"):
        ism.testing.assert_attention_close(wrong.astype(np.float32), q, k, v, l, "ism")


def test_assert_attention_close_names_row_and_head():
    d = [[("system", 4), ("user", 3), ("assistant", 5)]]
    l = ism.Layout(d)
    q, k, v = _inputs(3, 12, h=2, hkv=1)
    out = ism.attention(q, k, v, l, "ism")
    bad = out.copy()
    bad[7, 1, 3] += 0.01
    with pytest.raises(AssertionError, match=r"1 \(row, head\) pairs; worst: row 7, head 1"):
        ism.testing.assert_attention_close(bad, q, k, v, l, "ism")
    _, lse = ism.attention(q, k, v, l, "ism", return_lse=True)
    bad_lse = lse.copy()
    bad_lse[2, 0] += 0.01
    with pytest.raises(AssertionError, match=r"attention lse .* row 2, head 0"):
        ism.testing.assert_attention_close(out, q, k, v, l, "ism", lse=bad_lse)
    nan = out.copy()
    nan[5, 0, 0] = np.nan
    with pytest.raises(AssertionError, match="row 5, head 0"):
        ism.testing.assert_attention_close(nan, q, k, v, l, "ism")
    with pytest.raises(ism.ShapeError):
        ism.testing.assert_attention_close(out[:, :1], q, k, v, l, "ism")


def test_assert_attention_close_empty_rows():
    l = "user:4, assistant:2 | user:3, assistant:3"
    q, k, v = _inputs(5, 6)
    out, lse = ism.attention(q, k[:6], v[:6], l, "ism", q_start=6, k_start=0, return_lse=True)
    assert np.isneginf(lse).all()
    ism.testing.assert_attention_close(out, q, k[:6], v[:6], l, "ism", lse=lse, q_start=6)
    with pytest.raises(AssertionError):
        ism.testing.assert_attention_close(out + 1, q, k[:6], v[:6], l, "ism", q_start=6)


def test_unit_roundoff():
    assert ism.testing.unit_roundoff(ism.bfloat16) == 2.0 ** -8
    assert ism.testing.unit_roundoff(np.float16) == 2.0 ** -11
    assert ism.testing.unit_roundoff(np.float32) == 2.0 ** -24
    assert ism.testing.unit_roundoff(np.float64) == 2.0 ** -53


@pytest.mark.torch
def test_assert_attention_close_torch_engines():
    import torch
    import torch.nn.functional as F
    d, l = LAYOUTS[4]
    n = len(l)
    q, k, v = _inputs(11, n, h=4, hkv=4)
    m = oracle.dense(d, "ism")
    tq, tk, tv = (torch.from_numpy(x).transpose(0, 1)[None] for x in (q, k, v))  # (1, H, N, D)
    mask = torch.from_numpy(m)
    out = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mask)[0].transpose(0, 1)
    ism.testing.assert_attention_close(out, q, k, v, l, "ism")
    bq, bk, bv = (x.to(torch.bfloat16) for x in (tq, tk, tv))
    out_b = F.scaled_dot_product_attention(bq, bk, bv, attn_mask=mask)[0].transpose(0, 1)
    ism.testing.assert_attention_close(out_b, *(x[0].transpose(0, 1) for x in (bq, bk, bv)), l,
                                       "ism")
    # One wrong mask element in the engine.
    bad = m.copy()
    row = n - 1
    hidden = np.flatnonzero(~m[row] & (np.arange(n) < row))
    if hidden.size:
        bad[row, hidden[0]] = True
    else:
        bad[row, 0] = False
    wrong = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(bad))
    with pytest.raises(AssertionError, match=rf"worst: row {row}, head \d"):
        ism.testing.assert_attention_close(wrong[0].transpose(0, 1).contiguous(), q, k, v, l,
                                           "ism")
