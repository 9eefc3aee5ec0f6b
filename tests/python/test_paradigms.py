"""Paradigms by name and by object: the intervals of every paradigm against the oracle."""

import numpy as np
import pytest

import ism
import oracle
from conftest import layouts

LAYOUTS = layouts(seed=21, count=50)


def test_names_and_objects():
    assert ism.paradigm_names() == ["causal", "prefix", "ism", "bidirectional"]
    for name in ism.paradigm_names():
        p = ism.Paradigm(name)
        assert p.name == str(p) == name
        assert repr(p) == f"ism.Paradigm('{name}')"
        assert p == ism.Paradigm(name) and hash(p) == hash(ism.Paradigm(name))
    tool = ism.Paradigm(bidirectional_roles={"tool"})
    assert tool.name == "bidirectional-roles:tool"
    assert tool == ism.Paradigm("bidirectional-roles:t")
    # Roles are spelled back in the order system, user, tool, assistant.
    assert ism.Paradigm(bidirectional_roles=["tool", "user"]).name == "bidirectional-roles:user,tool"
    assert ism.Paradigm("bidirectional-roles:tool,user") == ism.Paradigm(bidirectional_roles={"user", "tool"})
    assert ism.Paradigm("bidirectional-roles:u,t").name == "bidirectional-roles:user,tool"
    assert ism.Paradigm("causal") != ism.Paradigm("ism")


def test_semantics_example_table():
    l = "system:2, user:2, assistant:2, user:1, assistant:2"
    table = {"causal": [0, 1, 2, 3, 4, 5, 6, 7, 8], "bidirectional": [8] * 9,
             "prefix": [6, 6, 6, 6, 6, 6, 6, 7, 8], "ism": [1, 1, 3, 3, 4, 5, 6, 7, 8]}
    for name, hi in table.items():
        lo_got, hi_got = ism.intervals(l, name)
        assert lo_got.dtype == np.int64 and hi_got.dtype == np.int64
        np.testing.assert_array_equal(lo_got, [0] * 9)
        np.testing.assert_array_equal(hi_got, hi, err_msg=name)


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_intervals_against_oracle(index, paradigm):
    d, l = LAYOUTS[index]
    name, given = paradigm
    lo, hi = ism.intervals(l, given)
    elo, ehi = oracle.intervals(d, name)
    np.testing.assert_array_equal(lo, elo, err_msg=f"{name} {l}")
    np.testing.assert_array_equal(hi, ehi, err_msg=f"{name} {l}")
    # The text form is taken wherever a layout is.
    lo2, hi2 = ism.intervals(str(l), given)
    np.testing.assert_array_equal(hi2, ehi)
    # Contract: inside the document, not empty, monotone.
    assert (lo <= hi).all() and (np.diff(lo) >= 0).all() and (np.diff(hi) >= 0).all()


@pytest.mark.parametrize("index", range(0, len(LAYOUTS), 5))
def test_bidirectional_roles_of_context_is_ism(index):
    _, l = LAYOUTS[index]
    np.testing.assert_array_equal(ism.intervals(l, "bidirectional-roles:system,user,tool")[1],
                                  ism.intervals(l, "ism")[1])
    np.testing.assert_array_equal(
        ism.intervals(l, ism.Paradigm(bidirectional_roles={"system", "user", "tool"}))[1],
        ism.intervals(l, "ism")[1])
