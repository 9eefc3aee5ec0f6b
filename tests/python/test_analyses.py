"""labels, density, training_cost and reusable_prefix against the oracle."""

import random

import numpy as np
import pytest

import ism
import oracle
from conftest import layouts

LAYOUTS = layouts(seed=51, count=40)


def test_semantics_examples():
    l = "system:2, user:2, assistant:2, user:1, assistant:2"
    lab = ism.labels(l, "prefix")
    assert lab.answer_targets == 4 and lab.trainable_count == 2
    np.testing.assert_array_equal(lab.leaking, [3, 4])
    np.testing.assert_array_equal(np.flatnonzero(lab.trainable), [6, 7])
    d = ism.density(l, "prefix")
    assert (d.tokens, d.visible_pairs) == (9, 66) and d.density == pytest.approx(66 / 81)
    cost = ism.training_cost(l, "prefix")
    assert cost == ism.TrainingCost("one_sample_per_answer", 2, 15, 93, 2, 0)
    assert oracle.prefix_sample_pairs(6, 4) == 27 and oracle.prefix_sample_pairs(9, 7) == 66


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_labels_density_cost(index, paradigm):
    d, l = LAYOUTS[index]
    name, given = paradigm
    lab, expect = ism.labels(l, given), oracle.labels(d, name)
    assert lab.trainable.dtype == np.bool_ and lab.leaking.dtype == np.int64
    np.testing.assert_array_equal(lab.trainable, expect.trainable)
    np.testing.assert_array_equal(lab.leaking, expect.leaking)
    assert (lab.answer_targets, lab.trainable_count) == (expect.answer_targets,
                                                         expect.trainable_count)
    den, e = ism.density(l, given), oracle.density(d, name)
    assert isinstance(den, ism.Density)
    assert (den.tokens, den.visible_pairs) == (e["tokens"], e["visible_pairs"])
    assert den.density == pytest.approx(e["density"], rel=1e-12)
    assert [(c.tokens, c.visible_pairs) for c in den.documents] == \
        [(c["tokens"], c["visible_pairs"]) for c in e["documents"]]
    for c, ec in zip(den.documents, e["documents"]):
        assert c.density == pytest.approx(ec["density"], rel=1e-12)
    cost, e = ism.training_cost(l, given), oracle.training_cost(d, name)
    assert cost.__dict__ == e, (name, str(l))


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_prefix_closed_form(index):
    d, l = LAYOUTS[index]
    total = samples = 0
    for doc in d:
        for s, (role, _) in enumerate(doc):
            if role != "assistant":
                continue
            cut = doc[:s + 1]
            L = sum(n for _, n in cut)
            P = L
            for r, n in reversed(cut):
                if r != "assistant":
                    break
                P -= n
            total += oracle.prefix_sample_pairs(L, P)
            samples += 1
    cost = ism.training_cost(l, "prefix")
    assert (cost.samples, cost.attention_pairs) == (samples, total)


def grow(d, rng: random.Random):
    """A random extension: the last segment longer, more segments, more documents."""
    b = [list(doc) for doc in d]
    if rng.random() < 0.5:
        role, n = b[-1][-1]
        b[-1][-1] = (role, n + rng.randint(1, 5))
    for _ in range(rng.randint(0, 2)):
        b[-1].append((rng.choice(oracle.ROLES), rng.randint(1, 6)))
    if rng.random() < 0.3:
        b.append(oracle.random_layout(rng, max_documents=1)[0])
    return b


@pytest.mark.parametrize("index", range(len(LAYOUTS)))
def test_reusable_prefix(index, paradigm):
    d, l = LAYOUTS[index]
    name, given = paradigm
    rng = random.Random(index)
    assert ism.reusable_prefix(l, l, given) == len(l)
    for _ in range(3):
        b = grow(d, rng)
        assert oracle.extends(d, b)
        got = ism.reusable_prefix(l, ism.Layout(b), given)
        assert got == oracle.reusable_prefix(d, b, name), (name, str(l), oracle.text(b))
        assert ism.reusable_prefix(str(l), oracle.text(b), given) == got


def test_reusable_prefix_rules():
    a = "system:3, user:2"
    assert ism.reusable_prefix(a, "system:3, user:4", "ism") == 3
    assert ism.reusable_prefix(a, "system:3, user:2, assistant:4", "ism") == 5
    assert ism.reusable_prefix("user:2, assistant:2", "user:2, assistant:2, user:3",
                               "prefix") == 0
    assert ism.reusable_prefix("user:2, assistant:2", "user:2, assistant:5", "prefix") == 4
    assert ism.reusable_prefix("user:2, assistant:2", "user:2, assistant:2 | user:1",
                               "bidirectional") == 4


@pytest.mark.parametrize("shorter,longer,fragment", [
    ("user:3", "system:3", "segment"),
    ("user:3, assistant:2", "user:3", "segment"),
    ("user:3, assistant:2", "user:2, assistant:2", "segment"),
    ("user:3 | user:2", "user:3, tool:1 | user:2", "segment"),
    ("user:3, assistant:4", "user:3, assistant:3", "segment"),
])
def test_reusable_prefix_needs_an_extension(shorter, longer, fragment):
    with pytest.raises(ism.LayoutError, match=fragment):
        ism.reusable_prefix(shorter, longer, "ism")
