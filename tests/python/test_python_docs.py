"""The Python examples of docs/python.md and README.md run as written: each
page's ```python blocks execute in order, in one namespace, as a reader would
paste them. With ISM_SKIP_TORCH=1 the blocks that need PyTorch or
transformers are skipped."""

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = {"docs/python.md": 8, "README.md": 1}  # page: the fewest blocks it has
NEEDS_TORCH = re.compile(r"\b(torch|transformers)\b")


def blocks(page: str):
    return re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), flags=re.S)


# The guide shows eager flex_attention, which torch suggests compiling.
@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
@pytest.mark.parametrize("page", sorted(PAGES))
def test_examples_run_in_order(page):
    found = blocks(page)
    assert len(found) >= PAGES[page], f"{page} lost its Python examples"
    namespace = {"__name__": "docs_example"}
    skipped = 0
    for number, code in enumerate(found):
        if os.environ.get("ISM_SKIP_TORCH") == "1" and NEEDS_TORCH.search(code):
            skipped += 1
            continue
        try:
            exec(compile(code, f"{page}, Python block {number}", "exec"), namespace)
        except Exception as e:
            pytest.fail(f"{page} Python block {number} failed: {type(e).__name__}: {e}\n{code}")
    if skipped:
        pytest.skip(f"{page}: {skipped} blocks need PyTorch or transformers (ISM_SKIP_TORCH=1)")
