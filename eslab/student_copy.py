"""Make the learner's copy of a notebook from its master (nbgrader-style markers).

Masters live in ``notebooks/solutions/``. In an exercise cell::

    # BEGIN SOLUTION
    answer = repo.find("acc-1").balance
    # END SOLUTION
    # STUB: answer = None  # replace None with your answer

The learner's copy (``notebooks/NN_name.ipynb``) drops the solution block and turns each
``# STUB: `` line into code, so both copies run top to bottom without an error: the
master's self-check says ✓, the learner's gives a hint until they solve it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

BEGIN, END, STUB = "# BEGIN SOLUTION", "# END SOLUTION", "# STUB: "


def student_source(source: str) -> str:
    """The learner's version of one cell's source."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped == BEGIN:
            if inside:
                raise ValueError("Nested '# BEGIN SOLUTION' in:\n" + source)
            inside = True
        elif stripped == END:
            if not inside:
                raise ValueError("'# END SOLUTION' without BEGIN in:\n" + source)
            inside = False
        elif inside:
            continue
        elif stripped.startswith(STUB):
            out.append(indent + stripped[len(STUB) :])
        else:
            out.append(line)
    if inside:
        raise ValueError("'# BEGIN SOLUTION' without END in:\n" + source)
    return "\n".join(out)


def student_notebook(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``master`` with solutions replaced by stubs and outputs cleared."""
    nb = copy.deepcopy(master)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = student_source(cell.source)
            cell.outputs, cell.execution_count = [], None
    return nb


def student_path(master_path: Path) -> Path:
    """notebooks/solutions/NN_x.ipynb → notebooks/NN_x.ipynb (ko/solutions → ko)."""
    return master_path.parent.parent / master_path.name


def editions(notebooks_dir: Path) -> list[Path]:
    """The folders with a ``solutions/`` subfolder: ``notebooks/`` (English) first, then
    the translated editions such as ``notebooks/ko/`` (Korean)."""
    translated = sorted(p.parent for p in notebooks_dir.glob("*/solutions") if p.is_dir())
    return [notebooks_dir, *translated]


def masters(notebooks_dir: Path) -> list[Path]:
    """Every master notebook of every edition (English first)."""
    return [
        path
        for edition in editions(notebooks_dir)
        for path in sorted((edition / "solutions").glob("[0-9][0-9]_*.ipynb"))
    ]


def write_student_copies(notebooks_dir: Path) -> list[Path]:
    """Regenerate every learner copy from each edition's ``solutions/``; return the paths."""
    written = []
    for master_path in masters(notebooks_dir):
        nb = student_notebook(nbformat.read(master_path, as_version=4))
        target = student_path(master_path)
        nbformat.write(nb, target)
        written.append(target)
    return written
