"""Every error path: the exception class (an ism.Error and the built-in
category) and a meaningful fragment of the library's message. Nothing crashes."""

import numpy as np
import pytest

import ism

L = "user:3, assistant:2"


def test_hierarchy():
    for name in ("LayoutError", "LayoutParseError", "UnknownParadigmError", "ParadigmError",
                 "ShapeError", "ArgumentError", "BlockMaskMismatch", "UnknownFormatError",
                 "FormatError"):
        cls = getattr(ism, name)
        assert issubclass(cls, ism.Error) and issubclass(cls, ValueError), name
    assert issubclass(ism.LayoutParseError, ism.LayoutError)
    assert issubclass(ism.IOError, OSError) and issubclass(ism.IOError, ism.Error)
    assert issubclass(ism.OverflowError, OverflowError) and issubclass(ism.OverflowError, ism.Error)
    assert ism.errors.Error is ism.Error


@pytest.mark.parametrize("text,fragment", [
    ("", "layout is empty"),
    ("   ", "layout is empty"),
    ("bot:3", "unknown role 'bot'"),
    ("User:3", "unknown role 'User'"),
    ("us er:3", "unknown role 'us'"),
    ("user 3", "expected ':' after role 'user'"),
    ("user:", "expected a segment length"),
    ("user:0", "segment length must be >= 1"),
    ("user:+3", "expected a segment length"),
    ("user:-3", "expected a segment length"),
    ("user:2147483648", "larger than 2147483647"),
    ("user:2147483647, user:1", "longer than 2147483647"),
    ("user:3,", "dangling ','"),
    ("user:3, | user:1", "expected a segment"),
    ("| user:3", "empty document"),
    ("user:3 |", "empty document after '|'"),
    ("user:3 x", "unexpected character 'x'"),
    ("user:1 2", "unexpected character '2'"),
])
def test_parse_errors(text, fragment):
    with pytest.raises(ism.LayoutParseError, match=fragment) as e:
        ism.Layout.parse(text)
    assert "at character" in str(e.value)
    assert isinstance(e.value, ValueError)
    # Every function that takes a layout takes its text and raises the same.
    with pytest.raises(ism.LayoutParseError):
        ism.intervals(text, "ism")


@pytest.mark.parametrize("documents,fragment", [
    ([], "layout has no document"),
    ([[("user", 2)], []], "document 1 (0-based) has no segment"),
    ([("user", 0)], "has length 0"),
    ([("user", -1)], "has length -1"),
    ([("bot", 1)], "has role 'bot'"),
    ([("User", 1)], "has role 'User'"),
    ([(4, 1)], "has role id 4"),
    ([(-1, 1)], "has role id -1"),
    ([(2 ** 63, 1)], "has role id 9223372036854775808"),
    ([("user", 1.5)], "not an integer"),
    ([("user", 2 ** 63)], "has length 9223372036854775808"),
    ([("user", 2 ** 31)], "longer than 2147483647"),
    ([("user", 2 ** 31 - 1), ("user", 1)], "longer than 2147483647"),
    ([("user", 1, 2)], "not a (role, length) pair"),
    ([[("user", 1)], 5], "document 1 (0-based) is not a list"),
    ("user:3", "use Layout.parse for text"),
    (3, "list of (role, length) pairs"),
    ([[("user", 1)], [("assistant", 1), ("tool", 0)]], "segment 1 of document 1"),
])
def test_declared_layout_errors(documents, fragment):
    with pytest.raises(ism.LayoutError) as e:
        ism.Layout(documents)
    assert fragment in str(e.value)


@pytest.mark.parametrize("roles,starts,fragment", [
    (np.array([0, 5]), None, "token 1 has role id 5"),
    (np.array([0, -1]), None, "token 1 has role id -1"),
    (["user", "bot"], None, "token 1 has role 'bot'"),
    ([0, 2 ** 70], None, "token 1 has role id"),
    (np.array([], dtype=np.int64), None, "is empty"),
    ([], None, "is empty"),
    (np.array([0.0, 1.0]), None, "a role of type float64"),
    ("user", None, "roles must be a 1-D integer array"),
    (5, None, "roles must be a 1-D integer array"),
    ([0, 1, 1], [1], "must begin with 0"),
    ([0, 1, 1], [], "must begin with 0"),
    ([0, 1, 1], [0, 2, 1], "must strictly increase"),
    ([0, 1, 1], [0, 1, 1], "must strictly increase"),
    ([0, 1, 1], [0, 3], "must strictly increase"),
    ([0, 1, 1], [0, 5], "past the 3 tokens"),
])
def test_from_roles_errors(roles, starts, fragment):
    with pytest.raises(ism.LayoutError, match=None) as e:
        ism.Layout.from_roles(roles, starts)
    assert fragment in str(e.value)


@pytest.mark.parametrize("make,fragment", [
    (lambda: ism.Paradigm("lm"), "unknown paradigm 'lm'"),
    (lambda: ism.Paradigm("Causal"), "unknown paradigm 'Causal'"),
    (lambda: ism.Paradigm("bidirectional-roles:"), "no role is listed"),
    (lambda: ism.Paradigm("bidirectional-roles:bot"), "'bot' is not a role"),
    (lambda: ism.Paradigm("bidirectional-roles:tool,t"), "listed twice"),
    (lambda: ism.Paradigm(bidirectional_roles="tool"), "collection of role names"),
    (lambda: ism.Paradigm(bidirectional_roles=[1]), "expected role names"),
    (lambda: ism.Paradigm(bidirectional_roles=["bot"]), "'bot' is not a role"),
    (lambda: ism.Paradigm(bidirectional_roles=set()), "bidirectional_roles is empty"),
    (lambda: ism.dense(L, "lm"), "unknown paradigm 'lm'"),
])
def test_paradigm_errors(make, fragment):
    with pytest.raises(ism.UnknownParadigmError) as e:
        make()
    assert fragment in str(e.value) and isinstance(e.value, ValueError)


@pytest.mark.parametrize("call,cls,fragment", [
    (lambda: ism.intervals(L, 3), ism.ArgumentError, "paradigm is a int"),
    (lambda: ism.intervals(3, "ism"), ism.ArgumentError, "layout is a int"),
    (lambda: ism.reusable_prefix(L, 3, "ism"), ism.ArgumentError, "longer is a int"),
    (lambda: ism.export(L, "ism", "png"), ism.UnknownFormatError, "unknown format 'png'"),
    (lambda: ism.verify(L, "ism", "png", {}), ism.UnknownFormatError, "unknown format 'png'"),
    (lambda: ism.block_mask(L, "ism", 0), ism.ArgumentError, "block size 0 x 0"),
    (lambda: ism.block_mask(L, "ism", (4, -1)), ism.ArgumentError, "block size 4 x -1"),
    (lambda: ism.block_mask(L, "ism", "4"), ism.ArgumentError, "block_size must be an integer"),
    (lambda: ism.block_mask(L, "ism", (1, 2, 3)), ism.ArgumentError, "pair (Bq, Bk)"),
    (lambda: ism.block_mask(L, "ism", 2 ** 64), ism.ArgumentError, "does not fit 64 bits"),
    (lambda: ism.export(L, "ism", "flex", block_size=0), ism.ArgumentError, "block size 0"),
    (lambda: ism.export(L, "ism", "intervals", dtype="int32"), ism.ArgumentError,
     "format intervals takes no dtype option"),
    (lambda: ism.export(L, "ism", "cu_seqlens", dtype="int64"), ism.ArgumentError,
     "takes no dtype"),
    (lambda: ism.export(L, "ism", "dense", dtype="float32"), ism.ArgumentError,
     "does not apply to format dense"),
    (lambda: ism.export(L, "ism", "additive", dtype="bool"), ism.ArgumentError,
     "does not apply to format additive"),
    (lambda: ism.export(L, "ism", "dense", dtype="foo"), ism.ArgumentError, "dtype 'foo'"),
    (lambda: ism.export(L, "ism", "dense", pad=64), ism.ArgumentError,
     "format dense takes no pad option"),
    (lambda: ism.export(L, "ism", "additive", pad=64), ism.ArgumentError, "takes no pad"),
    (lambda: ism.export(L, "ism", "llamacpp", pad=0), ism.ArgumentError, "row padding 0"),
    (lambda: ism.export(L, "ism", "dense", causal=True), ism.ArgumentError, "takes no causal"),
    (lambda: ism.export(L, "ism", "dense", block_size=4), ism.ArgumentError,
     "takes no block_size"),
    (lambda: ism.export(L, "prefix", "cu_seqlens"), ism.FormatError, "cu_seqlens cannot express"),
    (lambda: ism.export(L, "ism", "cu_seqlens"), ism.FormatError, "cu_seqlens cannot express"),
    (lambda: ism.dense(L, "ism", dtype="int32"), ism.ArgumentError, "dtype 'int32'"),
    (lambda: ism.dense(L, "ism", dtype=object()), ism.ArgumentError, "is not a dtype"),
    (lambda: ism.dense(L, "ism", chunk=(0, 1, 2)), ism.ArgumentError, "four integers"),
    (lambda: ism.dense(L, "ism", chunk=(0, 1.0, 0, 2)), ism.ArgumentError, "four integers"),
    (lambda: ism.dense(L, "ism", chunk=(2, 1, 0, 3)), ism.ShapeError, "0 <= begin <= end"),
    (lambda: ism.dense(L, "ism", chunk=(-1, 1, 0, 3)), ism.ShapeError, "0 <= begin <= end"),
    (lambda: ism.dense(L, "ism", chunk=(0, 6, 0, 3)), ism.ShapeError, "leaves the mask's 5"),
    (lambda: ism.block_mask(L, "ism", 2, chunk=(0, 1, 0, 6)), ism.ShapeError, "leaves the mask"),
    (lambda: ism.block_mask(L, "ism", 2).classify(5, 0), ism.ArgumentError,
     "outside the 3 x 3 grid"),
    (lambda: ism.block_mask(L, "ism", 2).classify(0, -1), ism.ArgumentError, "outside"),
])
def test_argument_errors(call, cls, fragment):
    with pytest.raises(cls) as e:
        call()
    assert fragment in str(e.value), str(e.value)
    assert isinstance(e.value, ism.Error)


def f32(*shape):
    return np.zeros(shape, np.float32)


Q, K, V = f32(5, 2, 4), f32(5, 1, 4), f32(5, 1, 4)


@pytest.mark.parametrize("args,kwargs,cls,fragment", [
    ((Q.astype(np.float64), K, V), {}, ism.ArgumentError, "Q has dtype float64"),
    ((Q, K.astype(np.float16), V), {}, ism.ArgumentError, "K has dtype float16"),
    ((Q, K.astype(ism.bfloat16), V), {}, ism.ArgumentError, "they must share one"),
    ((Q, K, V.astype(np.int32)), {}, ism.ArgumentError, "V has dtype int32"),
    ((f32(5, 8), K, V), {}, ism.ShapeError, "Q has 2 dimensions"),
    ((f32(1, 5, 2, 4), K, V), {}, ism.ShapeError, "Q has 4 dimensions"),
    ((f32(5, 4, 2).transpose(0, 2, 1), K, V), {}, ism.ArgumentError, "Q is not C-contiguous"),
    ((Q, f32(5, 2, 4)[:, :1], V), {}, ism.ArgumentError, "K is not C-contiguous"),
    ((f32(5, 3, 4), f32(5, 2, 4), f32(5, 2, 4)), {}, ism.ShapeError, "not a multiple of the 2 KV"),
    ((Q, f32(5, 1, 3), f32(5, 1, 3)), {}, ism.ShapeError, "head dim 4 differs"),
    ((Q, K, f32(4, 1, 4)), {}, ism.ShapeError, "K and V shapes differ"),
    ((Q, K, f32(5, 2, 4)), {}, ism.ShapeError, "K and V shapes differ"),
    ((f32(5, 0, 4), f32(5, 0, 4), f32(5, 0, 4)), {}, ism.ShapeError, "heads and dim must be >= 1"),
    ((f32(5, 2, 0), f32(5, 1, 0), f32(5, 1, 0)), {}, ism.ShapeError, "heads and dim must be >= 1"),
    ((f32(6, 2, 4), f32(6, 1, 4), f32(6, 1, 4)), {}, ism.ShapeError, "leaves the mask's 5"),
    ((Q, K, V), {"q_start": 3}, ism.ShapeError, "leaves the mask's 5"),
    ((Q, K, V), {"k_start": -1}, ism.ShapeError, "0 <= begin <= end"),
    ((Q, K, V), {"threads": 0}, ism.ArgumentError, "threads is 0"),
    ((Q, K, V), {"scale": float("nan")}, ism.ArgumentError, "scale must be finite"),
    ((Q, K, V), {"scale": float("inf")}, ism.ArgumentError, "scale must be finite"),
    ((np.full((5, 2, 4), np.nan, np.float32), K, V), {}, ism.ArgumentError, "Q(0, 0, 0) is nan"),
    ((Q, K, np.full((5, 1, 4), np.inf, np.float32)), {}, ism.ArgumentError, "V(0, 0, 0) is inf"),
    ((np.full((5, 2, 4), 1e30, np.float32), np.full((5, 1, 4), 1e30, np.float32), V), {},
     ism.ArgumentError, "beyond float's range"),
    (([[1.0]], K, V), {}, ism.ArgumentError, "Q is a list"),
])
def test_attention_errors(args, kwargs, cls, fragment):
    with pytest.raises(cls) as e:
        ism.attention(*args, L, "ism", **kwargs)
    assert fragment in str(e.value), str(e.value)
    if cls is ism.ShapeError or "scale" in fragment or "is nan" in fragment or "is inf" in fragment:
        # The reference refuses the same shapes and values (it takes any float dtype).
        args64 = tuple(np.ascontiguousarray(a, dtype=np.float64) if isinstance(a, np.ndarray)
                       else a for a in args)
        with pytest.raises(ism.Error):
            ism.reference_attention(*args64, L, "ism", **{k: v for k, v in kwargs.items()
                                                          if k != "threads"})


def test_reference_attention_errors():
    with pytest.raises(ism.ArgumentError, match="Q has dtype int32; expected floats"):
        ism.reference_attention(Q.astype(np.int32), K, V, L, "ism")
    with pytest.raises(ism.ShapeError, match="Q has 2 dimensions"):
        ism.reference_attention(Q[0], K, V, L, "ism")


def test_empty_query_chunk_is_allowed():
    out, lse = ism.attention(f32(0, 2, 4), f32(0, 1, 4), f32(0, 1, 4), L, "ism", return_lse=True)
    assert out.shape == (0, 2, 4) and lse.shape == (0, 2)


@pytest.mark.torch
def test_attention_torch_errors():
    import torch
    z = lambda *s, **kw: torch.zeros(*s, **kw)  # noqa: E731
    with pytest.raises(ism.ArgumentError, match="Q has dtype torch.float64"):
        ism.attention(z(5, 2, 4, dtype=torch.float64), z(5, 1, 4), z(5, 1, 4), L, "ism")
    with pytest.raises(ism.ArgumentError, match="Q is on meta; ism.attention runs on the CPU"):
        ism.attention(z(5, 2, 4, device="meta"), z(5, 1, 4), z(5, 1, 4), L, "ism")
    with pytest.raises(ism.ArgumentError, match="K is on meta"):
        ism.attention(z(5, 2, 4), z(5, 1, 4, device="meta"), z(5, 1, 4), L, "ism")
    with pytest.raises(ism.ArgumentError, match="Q is not C-contiguous"):
        ism.attention(z(5, 4, 2).transpose(1, 2), z(5, 1, 4), z(5, 1, 4), L, "ism")
    with pytest.raises(ism.ShapeError, match="Q has 2 dimensions"):
        ism.attention(z(5, 8), z(5, 1, 4), z(5, 1, 4), L, "ism")


@pytest.mark.parametrize("arrays,cls,fragment", [
    ({"mask": np.zeros((5, 5), np.int32)}, ism.FormatError, "mask has dtype int32"),
    ({"mask": np.zeros((5, 5), np.float32)}, ism.FormatError, "mask has dtype float32"),
    ({"mask": np.zeros((5, 4), bool)}, ism.FormatError, "mask has shape [5, 4], expected [5, 5]"),
    ({"mask": np.zeros(25, bool)}, ism.FormatError, "mask has shape [25]"),
    ({"mask": np.bool_(True)}, ism.FormatError, "expected [5, 5]"),
    ({"mask": np.zeros((5, 5), bool), "x": np.zeros(1)}, ism.FormatError, "unexpected array"),
    ({}, ism.FormatError, "missing array 'mask'"),
    ({1: np.zeros((5, 5), bool)}, ism.ArgumentError, "array names must be strings"),
    ({"mask": object()}, ism.ArgumentError, "array 'mask'"),
    ({"mask": "abc"}, ism.ArgumentError, "array 'mask'"),
    ({"mask": np.zeros((5, 5), np.complex64)}, ism.ArgumentError, "dtype ism does not read"),
])
def test_verify_dense_errors(arrays, cls, fragment):
    with pytest.raises(cls) as e:
        ism.verify(L, "ism", "dense", arrays)
    assert fragment in str(e.value), str(e.value)


def test_verify_other_errors():
    good = ism.export(L, "ism", "intervals")
    with pytest.raises(ism.FormatError, match="intervals: missing array 'hi'"):
        ism.verify(L, "ism", "intervals", {"lo": good["lo"]})
    with pytest.raises(ism.FormatError, match="intervals: unexpected array 'x'"):
        ism.verify(L, "ism", "intervals", {**good, "x": np.zeros(1)})
    with pytest.raises(ism.FormatError, match="intervals"):
        ism.verify(L, "ism", "intervals", {"lo": good["lo"], "hi": good["hi"].astype(np.float32)})
    with pytest.raises(ism.FormatError, match="intervals"):
        ism.verify(L, "ism", "intervals", {"lo": good["lo"][:4], "hi": good["hi"]})
    with pytest.raises(ism.ArgumentError, match="examples is -1"):
        ism.verify(L, "ism", "dense", ism.dense(L, "ism"), examples=-1)
    with pytest.raises(ism.ArgumentError, match="format dense takes no causal"):
        ism.verify(L, "ism", "dense", ism.dense(L, "ism"), causal=True)
    with pytest.raises(TypeError):  # the arrays hold their own padding
        ism.verify(L, "ism", "dense", ism.dense(L, "ism"), pad=2)
    fi = ism.export(L, "ism", "flashinfer")
    with pytest.raises(ism.FormatError, match="flashinfer"):
        ism.verify(L, "ism", "flashinfer", {**fi, "packed_mask": np.zeros(1, np.uint8)})
    flex = {k: np.array(v) for k, v in ism.export(L, "ism", "flex", block_size=2).items()}
    flex["seq_lengths"][:] = 6
    with pytest.raises(ism.FormatError, match="flex: seq_lengths is"):
        ism.verify(L, "ism", "flex", flex)
    flex["seq_lengths"][:] = 5
    flex["block_size"][:] = 0
    with pytest.raises(ism.FormatError, match="block_size is"):
        ism.verify(L, "ism", "flex", flex)
    # Big-endian and Fortran-ordered copies are read by value.
    assert ism.verify(L, "ism", "intervals", {k: v.astype(">i8") for k, v in good.items()})
    assert ism.verify(L, "ism", "dense", np.asfortranarray(ism.dense(L, "ism")))
    # A one-array format's single array may come under any name (a .npy has none).
    assert ism.verify(L, "ism", "dense", {"Mask": ism.dense(L, "ism")})
    # A different layout: the arrays do not fit.
    with pytest.raises(ism.FormatError, match="dense"):
        ism.verify("user:4", "ism", "dense", ism.dense(L, "ism"))


def test_save_errors(tmp_path):
    with pytest.raises(ism.IOError, match="No such file or directory"):
        ism.save(tmp_path / "missing" / "x.npy", L, "ism", "dense")
    with pytest.raises(ism.IOError, match="Is a directory"):
        ism.save(tmp_path, L, "ism", "dense")
    assert list(tmp_path.iterdir()) == []


def test_wrong_types_are_type_errors_not_crashes():
    # nanobind rejects values outside the argument types with TypeError.
    for call in (lambda: ism.Layout.parse(3),
                 lambda: ism.dense(L, "ism", chunk=(0, 2 ** 63, 0, 1)),
                 lambda: ism.export(L, "ism", "llamacpp", pad=2 ** 63),
                 lambda: ism.Layout.from_roles([0, 1], [0, 2 ** 63]),
                 lambda: ism.attention(Q, K, V, L, "ism", q_start=2 ** 63)):
        with pytest.raises((TypeError, ism.Error)):
            call()


def test_random_text_parses_or_raises_layout_parse_error():
    """Valid texts with one character deleted, inserted or replaced: each parses
    (and round-trips) or raises LayoutParseError with a position."""
    import random
    import oracle
    rng = random.Random(3)
    alphabet = "usta:,|0123456789 \t-+xU"
    parsed = 0
    for _ in range(2000):
        text = oracle.varied_text(oracle.random_layout(rng, max_documents=2, max_segments=3), rng)
        i = rng.randrange(len(text))
        op = rng.randrange(3)
        if op == 0:
            text = text[:i] + text[i + 1:]
        elif op == 1:
            text = text[:i] + rng.choice(alphabet) + text[i:]
        else:
            text = text[:i] + rng.choice(alphabet) + text[i + 1:]
        try:
            layout = ism.Layout.parse(text)
        except ism.LayoutParseError as e:
            assert "at character" in str(e)
            continue
        parsed += 1
        assert ism.Layout.parse(str(layout)) == layout
    assert 100 < parsed < 1900


def test_overflow_error():
    # Nine prefix samples of about 2^60 pairs each: the sum passes 2^63.
    layout = ism.Layout.parse("user:1073741800" + ", a:1" * 9)
    with pytest.raises(ism.OverflowError, match="exceed 2\\^63") as e:
        ism.training_cost(layout, "prefix")
    assert isinstance(e.value, OverflowError)
    # Seven still fit, in closed form (no token is visited).
    import oracle
    layout = ism.Layout.parse("user:1073741800" + ", a:1" * 7)
    cost = ism.training_cost(layout, "prefix")
    P = 1073741800
    assert cost.samples == 7
    assert cost.attention_pairs == sum(oracle.prefix_sample_pairs(P + i, P) for i in range(1, 8))
    assert cost.tokens == sum(P + i for i in range(1, 8))
