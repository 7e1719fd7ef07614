"""Every course notebook (and every solution) runs top to bottom without an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from .execute import (
    ROOT,
    check_results,
    course_notebooks,
    error_outputs,
    execute_notebook,
    execute_notebook_twice,
)

NOTEBOOKS = course_notebooks()
NO_NOTEBOOKS = pytest.param(
    None,
    marks=pytest.mark.skip(reason="no notebooks/[0-9][0-9]_*.ipynb written yet"),
    id="no-notebooks",
)


def _id(path: Path) -> str:
    """Test id: the notebook's path relative to notebooks/."""
    return str(path.relative_to(ROOT / "notebooks"))


LEARNER_COPIES = [p for p in NOTEBOOKS if p.parent.name != "solutions"]
MASTERS = [p for p in NOTEBOOKS if p.parent.name == "solutions"]


@pytest.mark.parametrize("path", LEARNER_COPIES or [NO_NOTEBOOKS], ids=_id)
def test_notebook_runs_without_errors(path: Path) -> None:
    """Run All in a fresh kernel leaves no error output in any cell."""
    nb = execute_notebook(path)
    errors = error_outputs(nb)
    assert not errors, "\n\n".join(map(str, errors))


@pytest.mark.parametrize("path", MASTERS or [NO_NOTEBOOKS], ids=_id)
def test_master_runs_and_every_cell_runs_again(path: Path) -> None:
    """Run All, then every cell once more in order (learners re-run cells all the time):
    no error in either pass, and every self-check gives the same verdict the second time."""
    run = execute_notebook_twice(path)
    errors = error_outputs(run.first)
    assert not errors, "first run:\n" + "\n\n".join(map(str, errors))
    errors = error_outputs(run.again)
    assert not errors, "cells run again:\n" + "\n\n".join(map(str, errors))
    assert check_results(run.again) == check_results(run.first)
    assert all("✓" in line for _, line in check_results(run.first)), check_results(run.first)
