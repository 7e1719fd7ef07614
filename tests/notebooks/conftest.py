"""Mark every test in this folder ``notebooks`` (so ``make test-fast`` can leave them out)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Add the ``notebooks`` marker to the tests collected under this folder."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.notebooks)
