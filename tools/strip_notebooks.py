"""Strip outputs from notebooks in place, so git only ever holds the learner's clean copy.

Usage: ``python tools/strip_notebooks.py [--check] [PATH ...]`` where each PATH is a
notebook or a folder searched recursively for ``*.ipynb`` (default: ``notebooks``).
``--check`` changes nothing and exits 1 if any notebook would change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

# Cell metadata that records a run rather than the content.
RUN_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
# Notebook metadata written by a run (ipywidgets saves widget state here).
RUN_NOTEBOOK_METADATA = ("widgets",)


def strip_notebook(nb: nbformat.NotebookNode) -> bool:
    """Clear outputs, execution counts and run metadata; return True if anything changed."""
    changed = False
    for key in RUN_NOTEBOOK_METADATA:
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    for cell in nb.cells:
        for key in RUN_CELL_METADATA:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            cell.outputs = []
            changed = True
        if cell.get("execution_count") is not None:
            cell.execution_count = None
            changed = True
    return changed


def find_notebooks(paths: list[Path]) -> list[Path]:
    """Expand folders into the sorted notebooks under them (checkpoints excluded)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb":
            found.append(path)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    """Strip (or, with --check, verify) every notebook named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("notebooks")])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if dirty")
    args = parser.parse_args(argv)

    dirty = []
    for path in find_notebooks(args.paths):
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if not strip_notebook(nb):
            continue
        dirty.append(path)
        if not args.check:
            nbformat.write(nb, path)
    verb = "would strip" if args.check else "stripped"
    for path in dirty:
        print(f"{verb} {path}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
