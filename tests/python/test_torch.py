"""ism.torch: FlexAttention block masks (eager and compiled on the CPU) equal
scaled_dot_product_attention with sdpa_mask; BlockMask.to_dense() against the
oracle's tiles; transformers' create_causal_mask with hf_mask_kwargs.

Skipped only with ISM_SKIP_TORCH=1; without torch these tests fail.
"""

import random

import numpy as np
import pytest

import ism
import oracle

pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")]

# One shape for every compiled call, so the kernel compiles once per paradigm at most:
# batches of 2 padded to LENGTH, H heads of dim D, blocks of BLOCK.
LENGTH, H, D, BLOCK = 256, 2, 16, 64
NAMES = ["causal", "prefix", "ism", "bidirectional", "bidirectional-roles:tool"]


def fixed_length_layout(rng: random.Random, n: int):
    """A random layout of exactly n tokens (segments up to 40 tokens)."""
    while True:
        d = oracle.random_layout(rng, max_documents=4, max_segments=6, max_length=40)
        total = oracle.length(d)
        if total >= n:
            # Cut at n tokens.
            out, left = [], n
            for doc in d:
                cut = []
                for role, k in doc:
                    if left == 0:
                        break
                    cut.append((role, min(k, left)))
                    left -= cut[-1][1]
                if cut:
                    out.append(cut)
                if left == 0:
                    return out


BATCH = [fixed_length_layout(random.Random(5), LENGTH),
         fixed_length_layout(random.Random(6), 201)]


@pytest.fixture(scope="module")
def torch():
    import torch
    torch.manual_seed(0)
    return torch


@pytest.fixture(scope="module")
def flex(torch):
    from torch.nn.attention import flex_attention
    return flex_attention


@pytest.fixture(scope="module")
def compiled(torch, flex):
    return torch.compile(flex.flex_attention, dynamic=False)


def qkv(torch, batch=2):
    g = torch.Generator().manual_seed(1)
    return tuple(torch.randn(batch, H, LENGTH, D, generator=g) for _ in range(3))


def sdpa_reference(torch, q, k, v, layouts, paradigm):
    import torch.nn.functional as F
    mask = ism.torch.sdpa_mask(layouts, paradigm)
    assert mask.shape == (len(layouts), 1, LENGTH, LENGTH) and mask.dtype == torch.bool
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def paradigm_of(name):
    return ism.Paradigm(bidirectional_roles={"tool"}) if name == "bidirectional-roles:tool" \
        else name


@pytest.mark.parametrize("name", NAMES)
def test_flex_eager_and_compiled_equal_sdpa(name, torch, flex, compiled):
    import ism.torch  # noqa: F401
    layouts = [ism.Layout(d) for d in BATCH]
    p = paradigm_of(name)
    bm = ism.torch.flex_block_mask(layouts, p, block_size=BLOCK)
    assert isinstance(bm, flex.BlockMask)
    assert bm.shape == (2, 1, LENGTH, LENGTH) and bm.BLOCK_SIZE == (BLOCK, BLOCK)
    q, k, v = qkv(torch)
    expect = sdpa_reference(torch, q, k, v, layouts, p)
    eager = flex.flex_attention(q, k, v, block_mask=bm)
    out = compiled(q, k, v, block_mask=bm)
    for b, d in enumerate(BATCH):
        n = oracle.length(d)
        torch.testing.assert_close(eager[b, :, :n], expect[b, :, :n], atol=2e-5, rtol=1e-5)
        torch.testing.assert_close(out[b, :, :n], expect[b, :, :n], atol=2e-5, rtol=1e-5)
        # And the exact oracle on the real rows.
        m = oracle.dense(d, name)
        e, _ = oracle.attention(q[b, :, :n].transpose(0, 1).numpy(),
                                k[b, :, :n].transpose(0, 1).numpy(),
                                v[b, :, :n].transpose(0, 1).numpy(), m)
        np.testing.assert_allclose(out[b, :, :n].transpose(0, 1).numpy(), e, atol=2e-5)
    # Additive SDPA masks agree with the bool one.
    add = ism.torch.sdpa_mask(layouts, p, dtype=torch.float32)
    for b, d in enumerate(BATCH):
        n = oracle.length(d)
        m = torch.from_numpy(oracle.dense(d, name))
        assert (add[b, 0, :n, :n] == 0).equal(m)
        assert torch.isneginf(add[b, 0][~torch.nn.functional.pad(m, (0, LENGTH - n, 0,
                                                                       LENGTH - n))]).all()


@pytest.mark.parametrize("name", NAMES)
def test_block_mask_to_dense_against_oracle(name, torch):
    import ism.torch  # noqa: F401
    layouts = [ism.Layout(d) for d in BATCH]
    for block in (BLOCK, (32, 16)):
        bm = ism.torch.flex_block_mask(layouts, paradigm_of(name), block_size=block)
        bq, bk = (block, block) if isinstance(block, int) else block
        dense = bm.to_dense()
        for b, d in enumerate(BATCH):
            n = oracle.length(d)
            lo, hi = oracle.intervals(d, name)
            # Padded to LENGTH: padded rows see nothing, padded keys are hidden.
            lo = np.concatenate([lo, np.ones(LENGTH - n, np.int64)])
            hi = np.concatenate([hi, np.zeros(LENGTH - n, np.int64)])
            classes = oracle.tile_classes(lo, hi, (bq, bk))
            np.testing.assert_array_equal(dense[b, 0].numpy(), classes != "empty")
            full = bm.full_kv_num_blocks[b, 0].numpy()
            np.testing.assert_array_equal(full, (classes == "full").sum(axis=1))
            np.testing.assert_array_equal(bm.kv_num_blocks[b, 0].numpy(),
                                          (classes == "partial").sum(axis=1))
            np.testing.assert_array_equal(bm.q_num_blocks[b, 0].numpy(),
                                          (classes == "partial").sum(axis=0))
            np.testing.assert_array_equal(bm.full_q_num_blocks[b, 0].numpy(),
                                          (classes == "full").sum(axis=0))
            # The mask_mod reads the intervals.
            mm = bm.mask_mod
            qi = torch.arange(LENGTH)[:, None]
            ki = torch.arange(LENGTH)[None, :]
            got = mm(torch.tensor(b), torch.tensor(0), qi, ki)
            np.testing.assert_array_equal(got[:n, :n].numpy(), oracle.dense(d, name))
            assert not got[n:].any() and not got[:, n:].any()


def test_single_layout_and_text(torch, flex):
    import ism.torch  # noqa: F401
    d = BATCH[1]
    text = oracle.text(d)
    bm = ism.torch.flex_block_mask(text, "ism", block_size=(32, 32))
    assert bm.shape == (1, 1, 201, 201)
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, H, 201, D, generator=g) for _ in range(3))
    out = flex.flex_attention(q, k, v, block_mask=bm)
    m = oracle.dense(d, "ism")
    e, _ = oracle.attention(*(x[0].transpose(0, 1).numpy() for x in (q, k, v)), m)
    np.testing.assert_allclose(out[0].transpose(0, 1).numpy(), e, atol=2e-5)
    mask = ism.torch.sdpa_mask(text, "ism")
    assert mask.shape == (1, 1, 201, 201)
    np.testing.assert_array_equal(mask[0, 0].numpy(), m)
    with pytest.raises(ism.ArgumentError, match="batch of layouts is empty"):
        ism.torch.flex_block_mask([], "ism")
    with pytest.raises(ism.ArgumentError, match="neither torch.bool nor a float dtype"):
        ism.torch.sdpa_mask(text, "ism", dtype=torch.int32)
    with pytest.raises(ism.ArgumentError, match="block size 0"):
        ism.torch.flex_block_mask(text, "ism", block_size=0)
    with pytest.raises(ism.ArgumentError, match=r"layouts\[1\] is a int"):
        ism.torch.sdpa_mask([text, 3], "ism")


# --- transformers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def create_causal_mask(torch):
    import transformers
    from transformers import masking_utils
    config = transformers.PretrainedConfig()
    config._attn_implementation = "sdpa"

    def make(n, batch=1, **kwargs):
        return masking_utils.create_causal_mask(
            config, torch.zeros(batch, n, 8), attention_mask=None, cache=None,
            allow_is_causal_skip=False, **kwargs)
    return make


HF_NAMES = ["causal", "ism", "prefix", "bidirectional", "bidirectional-roles:tool",
            "bidirectional-roles:tool,user", "bidirectional-roles:assistant"]


@pytest.mark.parametrize("name", HF_NAMES)
def test_create_causal_mask_equals_dense(name, torch, create_causal_mask):
    import ism.torch  # noqa: F401
    p = paradigm_of(name)
    for seed in range(3):
        d = oracle.random_layout(random.Random(100 + seed), max_documents=4)
        kwargs = ism.torch.hf_mask_kwargs(ism.Layout(d), p)
        assert set(kwargs) == {"block_sequence_ids", "position_ids"}
        assert kwargs["block_sequence_ids"].dtype == torch.int64
        n = oracle.length(d)
        mask = create_causal_mask(n, **kwargs)
        assert mask.shape == (1, 1, n, n) and mask.dtype == torch.bool
        np.testing.assert_array_equal(mask[0, 0].numpy(), oracle.dense(d, name),
                                      err_msg=f"{name} {oracle.text(d)}")
    # A padded batch: the shorter layout's padding is one more packed sequence.
    batch = [BATCH[0][:2], BATCH[1]]
    kwargs = ism.torch.hf_mask_kwargs([ism.Layout(x) for x in batch], p)
    length = max(oracle.length(x) for x in batch)
    mask = create_causal_mask(length, batch=2, **kwargs)
    assert mask.shape == (2, 1, length, length)
    for b, d in enumerate(batch):
        n = oracle.length(d)
        np.testing.assert_array_equal(mask[b, 0, :n, :n].numpy(), oracle.dense(d, name))
        assert not mask[b, 0, :n, n:].any()


def test_hf_mask_kwargs_values(torch):
    import ism.torch  # noqa: F401
    kw = ism.torch.hf_mask_kwargs(["user:3, assistant:2 | user:2", "user:2, assistant:1"], "ism")
    np.testing.assert_array_equal(kw["block_sequence_ids"].numpy(),
                                  [[0, 0, 0, -1, -1, 1, 1], [0, 0, -1, -1, -1, -1, -1]])
    np.testing.assert_array_equal(kw["position_ids"].numpy(),
                                  [[0, 1, 2, 3, 4, 0, 1], [0, 1, 2, 0, 1, 2, 3]])
    # prefix is a block overlay too: the prefix [d0, P) is one block.
    kw = ism.torch.hf_mask_kwargs("user:3, assistant:2, user:1, assistant:2", "prefix")
    np.testing.assert_array_equal(kw["block_sequence_ids"].numpy(),
                                  [[0, 0, 0, 0, 0, 0, -1, -1]])
