"""Every course notebook (and every solution) runs top to bottom without an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from .execute import ROOT, course_notebooks, error_outputs, execute_notebook

NOTEBOOKS = course_notebooks()
NO_NOTEBOOKS = pytest.param(
    None,
    marks=pytest.mark.skip(reason="no notebooks/[0-9][0-9]_*.ipynb written yet"),
    id="no-notebooks",
)


def _id(path: Path) -> str:
    """Test id: the notebook's path relative to notebooks/."""
    return str(path.relative_to(ROOT / "notebooks"))


@pytest.mark.parametrize("path", NOTEBOOKS or [NO_NOTEBOOKS], ids=_id)
def test_notebook_runs_without_errors(path: Path) -> None:
    """Run All in a fresh kernel leaves no error output in any cell."""
    nb = execute_notebook(path)
    errors = error_outputs(nb)
    assert not errors, "\n\n".join(map(str, errors))
