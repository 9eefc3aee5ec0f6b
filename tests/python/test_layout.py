"""ism.Layout: text form, declared documents, per-token roles, and its arrays."""

import random

import numpy as np
import pytest

import ism
import oracle
from conftest import layouts

LAYOUTS = layouts(seed=11, count=50)


def test_doc_example_parses_to_canonical_text():
    l = ism.Layout.parse("system:6, user:5, assistant:7 | u:4, a:2")
    assert str(l) == "system:6, user:5, assistant:7 | user:4, assistant:2"
    assert len(l) == 24
    assert l.documents == [[("system", 6), ("user", 5), ("assistant", 7)],
                           [("user", 4), ("assistant", 2)]]
    assert repr(l) == "ism.Layout.parse('" + str(l) + "')"


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_text_round_trip_and_arrays(index):
    d, l = LAYOUTS[index]
    assert str(l) == oracle.text(d)
    assert ism.Layout.parse(str(l)) == l
    varied = oracle.varied_text(d, random.Random(index))
    assert ism.Layout.parse(varied) == l, varied
    assert hash(ism.Layout.parse(varied)) == hash(l)
    assert len(l) == oracle.length(d)
    assert l.documents == d
    assert ism.Layout(d) == l
    assert ism.Layout(l.documents) == l

    ts = oracle.tokens(d)
    segs = []
    for t in ts:
        seg = (t.role, t.s0, t.s1, t.document)
        if not segs or segs[-1] != seg:
            segs.append(seg)
    assert l.segments == segs
    expect = {
        "roles": [oracle.ROLES.index(t.role) for t in ts],
        "segment_ids": [t.segment for t in ts],
        "document_ids": [t.document for t in ts],
        "positions": [t.position for t in ts],
    }
    for name, values in expect.items():
        a = getattr(l, name)
        assert a.dtype == np.int32 and a.shape == (len(ts),), name
        np.testing.assert_array_equal(a, values, err_msg=name)
    bounds = l.document_bounds
    assert bounds.dtype == np.int32
    np.testing.assert_array_equal(bounds, [0] + list(np.cumsum([sum(n for _, n in doc)
                                                              for doc in d])))


def test_declared_forms():
    one = ism.Layout([("system", 2), ("u", 3), (3, 4)])
    assert str(one) == "system:2, user:3, assistant:4"
    assert ism.Layout([[("s", 2)], [(1, 1), ("tool", 2)]]) == ism.Layout.parse(
        "system:2 | user:1, tool:2")
    assert ism.Layout([("user", 2), ("user", 3)]).documents == [[("user", 2), ("user", 3)]]
    # Adjacent segments of one role stay separate segments.
    assert len(ism.Layout.parse("user:2, user:3").segments) == 2
    assert ism.Layout.parse("user:2") != ism.Layout.parse("user:3")
    assert ism.ROLES == ("system", "user", "tool", "assistant")


@pytest.mark.parametrize("index", range(0, len(LAYOUTS), 2))
def test_from_roles(index):
    d, l = LAYOUTS[index]
    ids = oracle.role_ids(d)
    starts = list(l.document_bounds[:-1])
    expect = ism.Layout(oracle.merged(d))
    for array in (ids, ids.astype(np.int64), ids.astype(np.uint8), ids.astype(np.int16)):
        assert ism.Layout.from_roles(array, document_starts=starts) == expect
    names = [oracle.ROLES[i] for i in ids]
    assert ism.Layout.from_roles(names, starts) == expect
    assert ism.Layout.from_roles([int(i) for i in ids], starts) == expect
    assert ism.Layout.from_roles([n[0] for n in names], np.array(starts)) == expect
    one = ism.Layout.from_roles(ids)
    assert one.documents == oracle.merged([[seg for doc in d for seg in doc]])


def test_from_roles_merges_runs():
    l = ism.Layout.from_roles(np.array([0, 0, 1, 1, 1, 3, 3, 1]), document_starts=[0, 5])
    assert str(l) == "system:2, user:3 | assistant:2, user:1"
