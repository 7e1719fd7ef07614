"""The README's code runs (the docs never lie) and its picture exists."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_blocks_run(block: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import eslab.domain.bank  # noqa: F401  (the examples must not clash with the domain)

    module = types.ModuleType("readme_example")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(block, str(README), "exec"), module.__dict__)  # noqa: S102 - our own docs
    if hasattr(module, "accounts"):
        assert module.accounts.find("acc-1").balance == 15


def test_readme_picture_and_commands() -> None:
    text = README.read_text(encoding="utf-8")
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (README.parent / image).exists(), image
    assert "make lab" in text and "make test" in text
