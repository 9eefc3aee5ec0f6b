"""ism.export for every format, verified back; corrupted copies; ism.save's files."""

import os
import random

import numpy as np
import pytest

import ism
import oracle
from conftest import layouts

LAYOUTS = layouts(seed=41, count=30)
FORMATS = [f["name"] for f in ism.formats()]


def test_formats_registry():
    assert FORMATS == ["dense", "additive", "intervals", "flex", "flashinfer", "flashmask", "hf",
                       "vllm", "llamacpp", "cu_seqlens", "flashinfer_ranges", "cudnn_endpoints",
                       "magi", "vllm_ids", "fa4_block_sparse"]
    for f in ism.formats():
        assert set(f) == {"name", "summary", "arrays", "dtypes", "takes_block_size",
                          "takes_pad", "takes_causal", "quadratic"}


def expressible(fmt: str, name: str) -> bool:
    return fmt != "cu_seqlens" or name in ("causal", "bidirectional")


def cu_options(fmt, name):
    if fmt == "cu_seqlens":
        return {"causal": name == "causal"}
    return {}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_export_then_verify(fmt, index, paradigm):
    d, l = LAYOUTS[index]
    name, given = paradigm
    info = next(f for f in ism.formats() if f["name"] == fmt)
    if not expressible(fmt, name):
        # Every random layout has a context segment of 2+ tokens or an answer
        # followed by context somewhere, or is causal within documents.
        lo, hi = oracle.intervals(d, name)
        ts = oracle.tokens(d)
        causal = all(hi[q] == q for q in range(len(ts)))
        full = all(hi[q] == ts[q].d1 - 1 for q in range(len(ts)))
        if causal or full:
            arrays = ism.export(l, given, fmt)
            assert ism.verify(l, given, fmt, arrays, causal=causal).equal
        else:
            with pytest.raises(ism.FormatError, match="cu_seqlens cannot express"):
                ism.export(l, given, fmt)
        return
    arrays = ism.export(l, given, fmt)
    assert list(arrays) == info["arrays"]
    if info["dtypes"]:
        assert str(next(iter(arrays.values())).dtype) == info["dtypes"][0]
    report = ism.verify(l, given, fmt, arrays, **cu_options(fmt, name))
    assert report.equal and bool(report) and report.differing_pairs == 0, report
    assert report.first_differences == []
    # The single array of a one-array format is taken as it is.
    if len(arrays) == 1:
        assert ism.verify(l, given, fmt, next(iter(arrays.values())),
                          **cu_options(fmt, name)).equal


def test_export_contents_against_oracle():
    d, l = LAYOUTS[0]
    for name in ("causal", "prefix", "ism", "bidirectional"):
        lo, hi = oracle.intervals(d, name)
        m = oracle.dense(d, name)
        e = ism.export(l, name, "intervals")
        np.testing.assert_array_equal(e["lo"], lo)
        np.testing.assert_array_equal(e["hi"], hi)
        np.testing.assert_array_equal(ism.export(l, name, "dense")["mask"], m)
        np.testing.assert_array_equal(ism.export(l, name, "dense", dtype="uint8")["mask"],
                                      m.astype(np.uint8))
        for dtype in ("float32", "float16", "bfloat16"):
            bias = ism.export(l, name, "additive", dtype=dtype)["bias"]
            assert str(bias.dtype) == dtype
            np.testing.assert_array_equal(bias.astype(np.float32), oracle.additive(m))
        kq = ism.export(l, name, "llamacpp", pad=64)["kq_mask"]
        assert kq.dtype == np.float16 and kq.shape[0] % 64 == 0 and kq.shape[1] == len(l)
        np.testing.assert_array_equal(kq[:len(l)].astype(np.float32), oracle.additive(m))
        assert np.isneginf(kq[len(l):].astype(np.float32)).all()
        assert ism.verify(l, name, "llamacpp", {"kq_mask": kq}).equal
        flex = ism.export(l, name, "flex", block_size=(16, 8))
        classes = oracle.tile_classes(lo, hi, (16, 8))
        np.testing.assert_array_equal(flex["block_size"], [16, 8])
        np.testing.assert_array_equal(flex["seq_lengths"], [len(l), len(l)])
        for qb in range(classes.shape[0]):
            partial = [j for j in range(classes.shape[1]) if classes[qb, j] == "partial"]
            full = [j for j in range(classes.shape[1]) if classes[qb, j] == "full"]
            assert flex["kv_num_blocks"][qb] == len(partial)
            assert list(flex["kv_indices"][qb, :len(partial)]) == partial
            assert flex["full_kv_num_blocks"][qb] == len(full)
            assert list(flex["full_kv_indices"][qb, :len(full)]) == full
        assert ism.verify(l, name, "flex", flex).equal
        fi = ism.export(l, name, "flashinfer")
        np.testing.assert_array_equal(fi["qo_indptr"], l.document_bounds)
        np.testing.assert_array_equal(fi["kv_indptr"], l.document_bounds)
        bits = np.unpackbits(fi["packed_mask"], bitorder="little")
        for doc in range(len(d)):
            d0, d1 = l.document_bounds[doc], l.document_bounds[doc + 1]
            L = d1 - d0
            start = fi["mask_indptr"][doc] * 8
            assert fi["mask_indptr"][doc + 1] - fi["mask_indptr"][doc] == -(-L * L // 8)
            np.testing.assert_array_equal(bits[start:start + L * L].reshape(L, L),
                                          m[d0:d1, d0:d1])
            assert not bits[start + L * L:fi["mask_indptr"][doc + 1] * 8].any()
        ids = ism.export(l, name, "hf")["block_sequence_ids"]
        q = np.arange(len(l))
        same_doc = l.document_ids[:, None] == l.document_ids[None, :]
        hf_mask = same_doc & ((q[None, :] <= q[:, None]) | ((ids[:, None] == ids[None, :])
                                                             & (ids[:, None] >= 0)))
        np.testing.assert_array_equal(hf_mask, m)
    np.testing.assert_array_equal(ism.export(l, "causal", "cu_seqlens")["cu_seqlens"],
                                  l.document_bounds)


def corrupt(fmt: str, arrays: dict) -> dict:
    """A copy with one element changed where it changes the mask: under ism for
    a layout that starts with 'system:3, user:2, assistant:3'."""
    a = {k: np.array(v, copy=True) for k, v in arrays.items()}
    if fmt == "dense":
        a["mask"][0, 1] = not a["mask"][0, 1]
    elif fmt in ("additive", "llamacpp"):
        key = "bias" if fmt == "additive" else "kq_mask"
        a[key][0, 0] = -np.inf
    elif fmt == "intervals":
        a["hi"][0] += 1
    elif fmt == "flex":
        a["kv_indices"][0, 0] += 1
    elif fmt == "flashinfer":
        a["packed_mask"][0] ^= 2
    elif fmt == "flashmask":
        a["startend_row_indices"][0, 0] -= 1
    elif fmt == "hf":
        a["block_sequence_ids"][1] = -1
    elif fmt == "vllm":
        a["ranges"][0, 0, 1] -= 1
    elif fmt == "cu_seqlens":
        a["cu_seqlens"][1] += 1
    elif fmt == "flashinfer_ranges":
        a["ranges"][0] = -1
    elif fmt == "cudnn_endpoints":
        a["endpoints"][0, 0, 0] -= 1
    elif fmt == "magi":
        a["k_ranges"][0, 1] -= 1
    elif fmt == "vllm_ids":
        a["range_ids"][1] = -1
    elif fmt == "fa4_block_sparse":
        a["mask_block_cnt"][0, 0, 0] = 0
    return a


CORRUPTIBLE = "system:3, user:2, assistant:3, user:2, assistant:2 | user:4, assistant:3"


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupted_copy_is_caught(fmt):
    name = "causal" if fmt == "cu_seqlens" else "ism"
    options = {"causal": True} if fmt == "cu_seqlens" else {}
    arrays = ism.export(CORRUPTIBLE, name, fmt)
    bad = corrupt(fmt, arrays)
    try:
        report = ism.verify(CORRUPTIBLE, name, fmt, bad, **options)
    except ism.FormatError as e:
        assert fmt in str(e)
        return
    assert not report.equal and not report and report.differing_pairs > 0, report
    assert 0 < len(report.first_differences) <= 5
    q, k, in_file = report.first_differences[0]
    m = oracle.dense([[("system", 3), ("user", 2), ("assistant", 3), ("user", 2), ("assistant", 2)],
                      [("user", 4), ("assistant", 3)]], name)
    assert m[q, k] != in_file
    assert "differing pairs" in repr(report)
    assert len(ism.verify(CORRUPTIBLE, name, fmt, bad, examples=1, **options)
               .first_differences) == 1


def test_verify_reports_every_difference():
    l = "user:3, assistant:3"
    mask = ism.dense(l, "causal")
    report = ism.verify(l, "ism", "dense", {"mask": mask})
    # ism lets rows 0..2 see keys up to 2; causal does not: 3 pairs differ.
    assert report.differing_pairs == 3 and (report.queries, report.keys) == (6, 6)
    assert report.first_differences == [(0, 1, False), (0, 2, False), (1, 2, False)]
    assert len(ism.verify(l, "ism", "dense", mask, examples=0).first_differences) == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_single_element_change_is_handled(fmt):
    """Bumping each element in turn never crashes: a FormatError or a report."""
    layout = "system:2, user:1, assistant:2 | user:1, assistant:2"
    name = "causal" if fmt == "cu_seqlens" else "prefix"
    arrays = ism.export(layout, name, fmt, **({"block_size": 2} if fmt == "flex" else {}))
    for key, value in arrays.items():
        for i in range(value.size):
            bad = {k: np.array(v, copy=True) for k, v in arrays.items()}
            flat = bad[key].reshape(-1)
            if flat.dtype == np.bool_:
                flat[i] = not flat[i]
            elif flat.dtype.kind == "f" or str(flat.dtype) == "bfloat16":
                flat[i] = -np.inf if flat[i] == 0 else 0
            else:
                flat[i] = flat[i] + 1 if i % 2 == 0 else flat[i] - 1
            try:
                ism.verify(layout, name, fmt, bad)
            except ism.FormatError:
                pass


@pytest.mark.parametrize("fmt", FORMATS)
def test_save_writes_the_export(fmt, tmp_path):
    d, l = LAYOUTS[3]
    name = "causal" if fmt == "cu_seqlens" else "ism"
    path = tmp_path / f"out.{fmt}"
    ism.save(path, l, name, fmt)
    arrays = ism.export(l, name, fmt)
    loaded = np.load(path)
    if len(arrays) == 1:
        (key, value), = arrays.items()
        got = {key: loaded}
    else:
        got = dict(loaded)
        assert sorted(got) == sorted(arrays)
    for key, value in arrays.items():
        g = got[key]
        if str(value.dtype) == "bfloat16":
            g = g.view(value.dtype)
        assert g.dtype == value.dtype and g.shape == value.shape, key
        np.testing.assert_array_equal(g, value, err_msg=key)
    assert os.listdir(tmp_path) == [path.name]
    mode = os.stat(path).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_save_bfloat16_and_str_path(tmp_path):
    path = str(tmp_path / "bias.npy")
    ism.save(path, "user:3, assistant:2", "ism", "additive", dtype="bfloat16")
    raw = np.load(path)
    assert raw.dtype == np.dtype("<u2")
    np.testing.assert_array_equal(raw.view(ism.bfloat16).astype(np.float32),
                                  oracle.additive(oracle.dense([[("user", 3), ("assistant", 2)]],
                                                               "ism")))
    # Same arguments, same bytes.
    again = tmp_path / "again.npy"
    ism.save(again, "user:3, assistant:2", "ism", "additive", dtype="bfloat16")
    assert open(path, "rb").read() == open(again, "rb").read()


def test_save_is_atomic(tmp_path):
    target = tmp_path / "cu.npy"
    with pytest.raises(ism.FormatError, match="cu_seqlens cannot express"):
        ism.save(target, "user:3, assistant:2", "prefix", "cu_seqlens")
    assert os.listdir(tmp_path) == []
    target.write_bytes(b"old")
    with pytest.raises(ism.FormatError):
        ism.save(target, "user:3, assistant:2", "ism", "cu_seqlens")
    with pytest.raises(ism.ArgumentError):
        ism.save(target, "user:3, assistant:2", "ism", "dense", pad=8)
    with pytest.raises(ism.UnknownFormatError):
        ism.save(target, "user:3, assistant:2", "ism", "nope")
    with pytest.raises(ism.LayoutParseError):
        ism.save(target, "user:0", "ism", "dense")
    assert os.listdir(tmp_path) == ["cu.npy"] and target.read_bytes() == b"old"


def test_save_to_missing_directory(tmp_path):
    with pytest.raises(ism.IOError, match="cannot write") as e:
        ism.save(tmp_path / "missing" / "x.npy", "user:3", "ism", "dense")
    assert isinstance(e.value, OSError) and isinstance(e.value, ism.Error)
