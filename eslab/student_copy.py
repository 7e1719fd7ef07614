"""Make the learner's copy of a notebook from its master, the way nbgrader does.

Masters live in ``notebooks/solutions/``. An exercise cell marks its solution with
nbgrader's delimiters, and the learner's starting point is ordinary code beside the
region::

    answer = None  # replace None with your answer
    ### BEGIN SOLUTION
    answer = repo.find("acc-1").balance
    ### END SOLUTION

The learner's copy (``notebooks/NN_name.ipynb``) replaces each region by :data:`CODE_STUB`,
indented like the ``### BEGIN SOLUTION`` line: exactly what nbgrader's ``ClearSolutions``
does with ``c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}``. The starting
code sits *before* a region at the top level (the master's solution overwrites it) and
*after* a region inside a function body (dead code after the solution's ``return``), so
both copies run top to bottom without an error: the master's self-check says ✓, the
learner's gives a hint until they solve it. Exercise cells carry nbgrader's cell metadata
(``solution: true``), so ``nbgrader generate_assignment`` accepts the masters as they are.

Masters written with the old markers (``# BEGIN SOLUTION`` … ``# STUB: code``) are refused
with an error that names ``tools/convert_solution_markers.py``, which converts them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from eslab.errors import BadInputError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
"""nbgrader's default solution delimiters (``ClearSolutions.begin_solution_delimeter``)."""

CODE_STUB = "# YOUR CODE HERE"
"""What a solution region becomes (nbgrader: ``ClearSolutions.code_stub["python"]``)."""

OLD_STUB = "# STUB:"
CONVERT = "python tools/convert_solution_markers.py notebooks/solutions/NN_name.ipynb"


def student_source(source: str) -> str:
    """The learner's version of one cell's source."""
    out: list[str] = []
    inside = False
    for line in source.split("\n"):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped == BEGIN:
            if inside:
                raise BadInputError(f"Nested {BEGIN!r} in:\n{source}")
            inside = True
            out.append(indent + CODE_STUB)
        elif stripped == END:
            if not inside:
                raise BadInputError(f"{END!r} without {BEGIN!r} in:\n{source}")
            inside = False
        elif "BEGIN SOLUTION" in line or "END SOLUTION" in line or stripped.startswith(OLD_STUB):
            raise BadInputError(
                f"Old or misspelt solution marker {stripped!r}: masters use nbgrader's "
                f"{BEGIN!r} / {END!r} with the learner's starting code as plain code beside "
                f"the region. Convert the master with `{CONVERT}`. Cell:\n{source}"
            )
        elif not inside:
            out.append(line)
    if inside:
        raise BadInputError(f"{BEGIN!r} without {END!r} in:\n{source}")
    return "\n".join(out)


def student_notebook(master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``master`` with solutions replaced by stubs and outputs cleared."""
    nb = copy.deepcopy(master)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            try:
                cell.source = student_source(cell.source)
            except BadInputError as exc:
                raise BadInputError(f"Cell {index}: {exc}") from None
            cell.outputs, cell.execution_count = [], None
    return nb


def student_path(master_path: Path) -> Path:
    """notebooks/solutions/NN_x.ipynb → notebooks/NN_x.ipynb."""
    return master_path.parent.parent / master_path.name


def write_student_copies(notebooks_dir: Path) -> list[Path]:
    """Regenerate every learner copy from ``notebooks_dir/solutions``; return the paths.

    Every master is converted before any copy is written: one bad master writes nothing.
    """
    copies = {}
    for master_path in sorted((notebooks_dir / "solutions").glob("[0-9][0-9]_*.ipynb")):
        try:
            copies[student_path(master_path)] = student_notebook(
                nbformat.read(master_path, as_version=4)
            )
        except BadInputError as exc:
            raise BadInputError(f"{master_path}: {exc}") from None
    for target, nb in copies.items():
        nbformat.write(nb, target)
    return list(copies)
