"""Learner copies are generated from the masters (nbgrader's markers) and kept in step."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from eslab.__main__ import main
from eslab.errors import BadInputError
from eslab.student_copy import (
    CODE_STUB,
    editions,
    masters,
    student_notebook,
    student_path,
    student_source,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ENGLISH_MASTERS = sorted((NOTEBOOKS / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_solution_is_replaced_by_the_code_stub() -> None:
    source = "answer = None\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\ncheck(answer)"
    assert student_source(source) == f"answer = None\n{CODE_STUB}\ncheck(answer)"


def test_indented_regions_keep_their_indent() -> None:
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n    return None"
    assert student_source(source) == f"def f():\n    {CODE_STUB}\n    return None"


@pytest.mark.parametrize(
    "bad",
    [
        "### BEGIN SOLUTION\nx",
        "### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION",
    ],
)
def test_unbalanced_markers_are_errors(bad: str) -> None:
    with pytest.raises(BadInputError, match="SOLUTION"):
        student_source(bad)


@pytest.mark.parametrize(
    "old",
    [
        "# BEGIN SOLUTION\nanswer = 1\n# END SOLUTION\n# STUB: answer = None",
        "# STUB: answer = None",
        "#BEGIN SOLUTION",
    ],
)
def test_old_markers_name_the_conversion_script(old: str) -> None:
    with pytest.raises(BadInputError, match="convert_solution_markers.py"):
        student_source(old)


def test_a_master_with_old_markers_stops_student_copies_and_writes_nothing(
    tmp_path: Path,
) -> None:
    shutil.copytree(NOTEBOOKS / "solutions", tmp_path / "solutions")
    old = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n# STUB: x = 0")]
    )
    nbformat.write(old, tmp_path / "solutions" / "12_old.ipynb")
    from eslab.student_copy import write_student_copies

    with pytest.raises(BadInputError, match="12_old.ipynb.*Cell 0.*convert_solution_markers"):
        write_student_copies(tmp_path)
    assert list(tmp_path.glob("*.ipynb")) == []


def test_the_conversion_script_converts_old_masters(tmp_path: Path) -> None:
    old = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION\n# STUB: answer = None  # yours"
            ),
            nbformat.v4.new_code_cell(
                "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
                "    # STUB: return None"
            ),
        ]
    )
    path = tmp_path / "12_old.ipynb"
    nbformat.write(old, path)
    script = ROOT / "tools" / "convert_solution_markers.py"
    subprocess.run([sys.executable, str(script), str(path)], check=True, capture_output=True)
    new = nbformat.read(path, as_version=4)
    assert [c.source for c in new.cells] == [
        "answer = None  # yours\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION",
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n    return None",
    ]
    assert [c.id for c in new.cells] == [c.id for c in old.cells]
    assert all(c.metadata["nbgrader"]["solution"] for c in new.cells)
    assert [c.source for c in student_notebook(new).cells] == [
        f"answer = None  # yours\n{CODE_STUB}",
        f"def f():\n    {CODE_STUB}\n    return None",
    ]


MASTERS = masters(NOTEBOOKS)  # every edition's masters (English first)


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
    master_cells = nbformat.read(master, as_version=4).cells
    assert any("### BEGIN SOLUTION" in c.source for c in master_cells), "no exercise?"
    for cell in master_cells:
        if "### BEGIN SOLUTION" in cell.source:
            assert cell.metadata["nbgrader"]["solution"], "nbgrader needs solution cells"
    assert "SOLUTION" not in "\n".join(c.source for c in actual.cells)


def test_every_learner_notebook_has_a_master() -> None:
    learners = {p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    assert learners == {m.name for m in ENGLISH_MASTERS}


def test_student_copies_command_writes_the_learner_notebooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(NOTEBOOKS / "solutions", tmp_path / "solutions")
    monkeypatch.setattr("eslab.__main__.NOTEBOOKS", tmp_path)
    assert main(["student-copies"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [m.name for m in ENGLISH_MASTERS]


@pytest.mark.skipif(
    importlib.util.find_spec("nbgrader") is None and not os.environ.get("CI"),
    reason="nbgrader is not installed (`pip install -e '.[nbgrader]'`; CI always runs this)",
)
@pytest.mark.parametrize("name", ["02_events_and_replay.ipynb", "09_queries_and_projections.ipynb"])
def test_nbgraders_clear_solutions_gives_the_same_learner_copy(name: str) -> None:
    """nbgrader's own preprocessor, configured with our stub, makes the same notebook."""
    from nbgrader.preprocessors import ClearSolutions
    from traitlets.config import Config

    master = nbformat.read(NOTEBOOKS / "solutions" / name, as_version=4)
    config = Config()
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    theirs, _ = ClearSolutions(config=config).preprocess(master, {})
    ours = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert [c.source for c in theirs.cells] == [c.source for c in ours.cells]
    learners = {p for edition in editions(NOTEBOOKS) for p in edition.glob("[0-9][0-9]_*.ipynb")}
    assert learners == {student_path(m) for m in MASTERS}


def test_the_korean_edition_is_an_edition() -> None:
    assert editions(NOTEBOOKS)[0] == NOTEBOOKS
    assert NOTEBOOKS / "ko" in editions(NOTEBOOKS)
