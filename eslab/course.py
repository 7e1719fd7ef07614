"""The course's files — notebooks, datasets, glossary — and copying them out for a learner.

In a clone (an editable install) they are the repository's top-level ``data/`` and
``notebooks/``. A wheel carries copies of both inside the package, in ``eslab/_course/``
(``setup.py`` copies them at build time), found with :mod:`importlib.resources`; so
``pip install eslab`` and then ``python -m eslab course DEST`` gives a learner the course
in a folder of their choice, and :mod:`eslab.datasets` finds its data without a clone.
"""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

from eslab.errors import BadInputError

PACKAGED = "_course"
"""The folder inside ``eslab/`` that a wheel carries ``data/`` and ``notebooks/`` in."""

NOTEBOOK_FILES = ("[0-9][0-9]_*.ipynb", "GLOSSARY.md", "WORKSHOP.md")
"""What :func:`copy_course` takes from ``notebooks/`` (the learner copies and the guides)."""


def _is_course_file(path: Path) -> bool:
    """A file worth copying (no caches, no checkpoints, no stores made by a run)."""
    skipped = {"__pycache__", ".ipynb_checkpoints"}
    return path.is_file() and not skipped & set(path.parts) and ".duckdb" not in path.name


def course_dir(name: str) -> Path:
    """The folder ``name`` (``"data"`` or ``"notebooks"``): packaged copy, else the clone's."""
    if name not in ("data", "notebooks"):
        raise BadInputError(f"The course has the folders 'data' and 'notebooks', not {name!r}.")
    packaged = importlib.resources.files("eslab").joinpath(PACKAGED, name)
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


def copy_course(dest: Path, *, solutions: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the notebooks, ``data/`` and the glossary into ``dest``; return (copied, kept).

    ``dest`` gets ``NN_*.ipynb``, ``GLOSSARY.md``, ``WORKSHOP.md`` and ``data/`` (the
    notebooks' text refers to ``data/`` beside them); with ``solutions``, also
    ``solutions/`` (the masters, for instructors). A file that already exists in ``dest`` is
    kept as it is — a learner's work is never overwritten — and listed in ``kept``.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise BadInputError(f"{dest} is a file; give a folder to copy the course into.")
    notebooks, data = course_dir("notebooks"), course_dir("data")
    sources: dict[Path, Path] = {}
    for pattern in NOTEBOOK_FILES:
        sources.update({dest / p.name: p for p in sorted(notebooks.glob(pattern))})
    if solutions:
        masters = sorted((notebooks / "solutions").glob("[0-9][0-9]_*.ipynb"))
        sources.update({dest / "solutions" / p.name: p for p in masters})
    for path in sorted(data.rglob("*")):
        if _is_course_file(path) and path.suffix != ".pyc":
            sources[dest / "data" / path.relative_to(data)] = path
    copied, kept = [], []
    for target, source in sources.items():
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(target)
    return copied, kept
