"""Fixtures of the package tests: seeded random layouts, and the torch switch.

ISM_SKIP_TORCH=1 skips the tests that need PyTorch or transformers (marked
``@pytest.mark.torch``), with a reason that says so. Without it they run, and
a missing torch fails them: CI runs everything with nothing skipped.
"""

import os
import random
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import oracle  # noqa: E402

import ism  # noqa: E402

SKIP_TORCH = os.environ.get("ISM_SKIP_TORCH") == "1"

#: Every paradigm as the tests name them, and what the package is given: a name, or the
#: keywords of an ism.Paradigm built in the fixture (module-level Paradigm objects would
#: outlive the extension at exit, which nanobind reports as leaks).
PARADIGMS = [
    ("causal", "causal"),
    ("prefix", "prefix"),
    ("ism", "ism"),
    ("bidirectional", "bidirectional"),
    ("bidirectional-roles:tool", {"bidirectional_roles": {"tool"}}),
    ("bidirectional-roles:tool,user", "bidirectional-roles:tool,user"),
    ("bidirectional-roles:assistant", {"bidirectional_roles": ["a"]}),
    ("bidirectional-roles:system,user,tool", "bidirectional-roles:s,u,t"),
]


def pytest_configure(config):
    config.addinivalue_line("markers", "torch: needs PyTorch/transformers; skipped only "
                                       "when ISM_SKIP_TORCH=1")


def pytest_collection_modifyitems(config, items):
    if not SKIP_TORCH:
        return
    skip = pytest.mark.skip(reason="ISM_SKIP_TORCH=1: PyTorch/transformers tests skipped")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=PARADIGMS, ids=[p[0] for p in PARADIGMS])
def paradigm(request):
    """(oracle name, what the package is given: a name or an ism.Paradigm)."""
    name, given = request.param
    return name, ism.Paradigm(**given) if isinstance(given, dict) else given


@pytest.fixture
def rng():
    return random.Random(20240805)


@pytest.fixture
def nprng():
    return np.random.default_rng(20240805)


def layouts(seed: int = 1, count: int = 40, **kwargs):
    """(oracle layout, ism.Layout) pairs, seeded."""
    return [(d, ism.Layout.parse(oracle.text(d)))
            for d in oracle.random_layouts(seed, count, **kwargs)]


@pytest.fixture
def random_layouts():
    return layouts(1, 40)
