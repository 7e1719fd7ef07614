"""Convert masters from the old markers to nbgrader's, in place (cell ids kept).

Usage: ``python tools/convert_solution_markers.py [MASTER.ipynb ...]`` (default: every
``notebooks/solutions/NN_*.ipynb``). Then run ``python -m eslab student-copies`` and
``make strip``.

Old::                                   New (top level: starting code first)::

    # BEGIN SOLUTION                        answer = None  # your answer
    answer = 42                             ### BEGIN SOLUTION
    # END SOLUTION                          answer = 42
    # STUB: answer = None  # your answer    ### END SOLUTION

Inside a function body (the region is indented) the starting code goes *after* the
region, where the master's ``return`` makes it dead code. Each converted exercise cell
gets nbgrader's solution-cell metadata, so ``nbgrader generate_assignment`` takes it.
A master already converted is left as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

OLD_BEGIN, OLD_END, OLD_STUB = "# BEGIN SOLUTION", "# END SOLUTION", "# STUB:"
NEW_BEGIN, NEW_END = "### BEGIN SOLUTION", "### END SOLUTION"


def convert_source(source: str) -> str:
    """One cell's source with nbgrader's markers and its stubs as plain code."""
    lines = source.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() != OLD_BEGIN:
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == OLD_END)
        region = [indent + NEW_BEGIN, *lines[i + 1 : end], indent + NEW_END]
        k = end + 1
        stubs = []
        while k < len(lines) and lines[k].strip().startswith(OLD_STUB):
            stub = lines[k].strip()[len(OLD_STUB) :]
            stubs.append(indent + stub[1:] if stub.startswith(" ") else indent + stub)
            k += 1
        out += (region + stubs) if indent else (stubs + region)
        i = k
    return "\n".join(out)


def convert_notebook(path: Path) -> bool:
    """Convert one master in place; True if it changed."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    changed, exercise = False, 0
    for cell in nb.cells:
        if cell.cell_type != "code" or OLD_BEGIN not in cell.source:
            continue
        if not re.search(rf"^\s*{re.escape(OLD_BEGIN)}\s*$", cell.source, re.M):
            continue
        cell.source = convert_source(cell.source)
        exercise += 1
        cell.metadata["nbgrader"] = {
            "grade": False,
            "grade_id": f"{path.stem}_solution_{exercise}",
            "locked": False,
            "schema_version": 3,
            "solution": True,
            "task": False,
        }
        changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def main(argv: list[str]) -> int:
    """Convert the masters named (or all of them); print what changed."""
    root = Path(__file__).resolve().parent.parent
    paths = [Path(a) for a in argv] or sorted(
        (root / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb")
    )
    for path in paths:
        print(f"{'converted' if convert_notebook(path) else 'unchanged'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
