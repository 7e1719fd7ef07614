"""Learner copies are generated from the masters and kept in step."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from eslab.student_copy import editions, masters, student_notebook, student_path, student_source

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_solution_is_replaced_by_the_stub() -> None:
    source = "x = 1\n# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION\n# STUB: answer = None\n"
    assert student_source(source) == "x = 1\nanswer = None"


def test_indented_stubs_keep_their_indent() -> None:
    source = (
        "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n    # STUB: return None"
    )
    assert student_source(source) == "def f():\n    return None"


@pytest.mark.parametrize(
    "bad", ["# BEGIN SOLUTION\nx", "# END SOLUTION", "# BEGIN SOLUTION\n# BEGIN SOLUTION"]
)
def test_unbalanced_markers_are_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="SOLUTION"):
        student_source(bad)


MASTERS = masters(NOTEBOOKS)


def _id(master: Path) -> str:
    return str(master.relative_to(NOTEBOOKS))


@pytest.mark.parametrize("master", MASTERS, ids=[_id(m) for m in MASTERS])
def test_learner_copy_is_in_step_with_its_master(master: Path) -> None:
    learner = student_path(master)
    assert learner.exists(), f"{learner} missing: run `python -m eslab student-copies`"
    expected = student_notebook(nbformat.read(master, as_version=4))
    actual = nbformat.read(learner, as_version=4)
    assert [c.source for c in actual.cells] == [c.source for c in expected.cells], (
        f"{learner.name} drifted from its master: run `python -m eslab student-copies`"
    )
    masters_text = "\n".join(c.source for c in nbformat.read(master, as_version=4).cells)
    assert "# BEGIN SOLUTION" in masters_text, "every notebook ends with an exercise"
    assert "BEGIN SOLUTION" not in "\n".join(c.source for c in actual.cells)


def test_every_learner_notebook_has_a_master() -> None:
    learners = {p for edition in editions(NOTEBOOKS) for p in edition.glob("[0-9][0-9]_*.ipynb")}
    assert learners == {student_path(m) for m in MASTERS}


def test_the_korean_edition_is_an_edition() -> None:
    assert editions(NOTEBOOKS)[0] == NOTEBOOKS
    assert NOTEBOOKS / "ko" in editions(NOTEBOOKS)
