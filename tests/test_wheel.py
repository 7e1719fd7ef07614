"""eslab installs like a package: a wheel, a fresh venv outside the repository, a notebook.

Builds a wheel from the committed files (as a fresh clone has them), installs it into a new
virtual environment with pip (the dependencies come from wherever pip is configured to
look), copies the course out with ``python -m eslab course DEST`` and runs a notebook there
in that environment's own kernel: no file of the repository is on the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "00_welcome.ipynb"

# Runs inside the fresh venv: execute the copied notebook, plus a cell that proves the
# kernel imports the installed eslab and finds the packaged data.
RUN_NOTEBOOK = r"""
import sys
import nbclient, nbformat
from nbformat.v4 import new_code_cell

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
nb.cells.append(new_code_cell('''
import sys, eslab
from eslab import datasets, importers
print("PREFIX", sys.prefix)
print("ESLAB", eslab.__file__)
print("DATA", datasets.data_dir(), len(datasets.ftgo_store().read_all()))
print("SAMPLE", importers.sample_path("eventuate_events.csv").is_file())
'''))
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
for cell in nb.cells:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            sys.exit("error in a cell: " + out["ename"])
print("".join(o.get("text", "") for o in nb.cells[-1].outputs))
"""


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _fresh_clone_files(dest: Path) -> Path:
    """The files git tracks (what a fresh clone has), copied to ``dest``."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot tell which files a clone would have")
    listed = _run("git", "ls-files", "-z", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.mark.slow
def test_wheel_installs_copies_the_course_and_runs_a_notebook(tmp_path: Path) -> None:
    source = _fresh_clone_files(tmp_path / "src")
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels, source, cwd=tmp_path)
    (wheel,) = wheels.glob("eslab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "eslab/schema.sql" in names
    assert "eslab/_course/data/ftgo_orders_v1.jsonl" in names
    assert f"eslab/_course/notebooks/{NOTEBOOK}" in names
    assert not any(n.endswith((".duckdb", ".pyc")) for n in names)

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)

    # Nothing of the repository on the path: its own PATH first, no PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    course = tmp_path / "my-course"
    out = _run(python, "-m", "eslab", "course", course, cwd=tmp_path, env=env)
    assert "Copied" in out
    assert (course / "GLOSSARY.md").is_file() and (course / "data" / "catalog.json").is_file()

    out = _run(python, "-c", RUN_NOTEBOOK, course / NOTEBOOK, course, cwd=course, env=env)
    assert f"PREFIX {venv}" in out
    assert f"ESLAB {venv}" in out  # the installed package, not the repository
    assert "_course/data" in out and "SAMPLE True" in out
