"""Measure each master notebook for WORKSHOP.md's timing table, and print the table.

Usage: ``python tools/measure_notebooks.py`` (about two minutes). Run time is measured: each
master in ``notebooks/solutions/`` runs top to bottom in a fresh kernel (nbclient). Learner
time is an estimate built on the counts: text at 100 words a minute, code at 20 lines a
minute, 4.5 minutes per lab (a cell that shows a widget lab) and 5 minutes per exercise.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
MASTERS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
WORDS_PER_MIN, LINES_PER_MIN, LAB_MIN, EXERCISE_MIN = 100, 20, 4.5, 5
LAB = re.compile(r"\b\w+Lab\(|\bExplorer\(|\bTimeMachine\(|\bSagaStepper\(|\bWidgetCheck\(")


def measure(path: Path) -> dict[str, float]:
    """Run time (s), words of text, lines of code, labs, exercises and learner minutes."""
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    seconds = time.perf_counter() - started
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    lines = sum(1 for s in code for line in s.splitlines() if line.strip())
    exercises = sum(s.count("### BEGIN SOLUTION") for s in code)
    labs = sum(1 for s in code if LAB.search(s))
    minutes = (
        words / WORDS_PER_MIN + lines / LINES_PER_MIN + labs * LAB_MIN + exercises * EXERCISE_MIN
    )
    return {
        "seconds": seconds,
        "words": words,
        "lines": lines,
        "labs": labs,
        "exercises": exercises,
        "minutes": minutes,
    }


def main() -> None:
    """Print WORKSHOP.md's table, one row per master."""
    print(
        "| notebook | run all (s) | words of text | lines of code | labs | exercises "
        "| learner time (min) |"
    )
    print("|---|---|---|---|---|---|---|")
    total = 0.0
    for path in MASTERS:
        m = measure(path)
        total += m["minutes"]
        name = path.stem.replace("_", " ", 1).replace("_", " ")
        print(
            f"| {name} | {m['seconds']:.1f} | {m['words']:,.0f} | {m['lines']:.0f} | "
            f"{m['labs']:.0f} | {m['exercises']:.0f} | ≈ {5 * round(m['minutes'] / 5):.0f} |",
            flush=True,
        )
    print(f"\ntotal learner time ≈ {total / 60:.1f} hours", file=sys.stderr)


if __name__ == "__main__":
    main()
