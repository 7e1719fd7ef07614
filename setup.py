"""Build hook (the rest of the metadata is in pyproject.toml).

A wheel carries copies of the repository's top-level ``data/`` and ``notebooks/`` in
``eslab/_course/``, so an installed eslab finds its datasets and can copy the course out
(``python -m eslab course DEST``). The repository keeps one copy of each, at the top level;
an editable install reads them there (see ``eslab/course.py``).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.duckdb*")


class BuildPyWithCourse(build_py):
    """build_py, then copy data/ and notebooks/ into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's own folders
        for name in ("data", "notebooks"):
            target = Path(self.build_lib) / "eslab" / "_course" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target, ignore=IGNORE)


setup(cmdclass={"build_py": BuildPyWithCourse})
