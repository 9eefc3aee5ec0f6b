"""examples/python/context_parallel.py on torch.distributed (gloo, CPU, loopback):
with 2 and 4 processes, each rank computes its rows of an ism plan against
all-gathered keys and values, and the gathered output equals the float64
reference of the whole row. Skipped only with ISM_SKIP_TORCH=1."""

import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.torch

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "context_parallel.py"


@pytest.mark.parametrize("ranks", [2, 4])
def test_distributed_output_equals_the_reference(ranks):
    done = subprocess.run([sys.executable, str(EXAMPLE), "--ranks", str(ranks)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"max \|output - reference\| = \S+: equal within", done.stdout)
    rows = re.findall(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$",
                      done.stdout, flags=re.M)
    assert [int(r[0]) for r in rows] == list(range(ranks))
    assert all(int(r[4].replace(",", "")) > 0 and int(r[5].replace(",", "")) > 0 for r in rows)
    imbalance = re.search(r"max/mean pairs (\S+) \(even (\S+), head-tail (\S+), per-document "
                          r"head-tail (\S+)\)", done.stdout)
    plan, *baselines = (float(x) for x in imbalance.groups())
    assert plan <= min(baselines)
