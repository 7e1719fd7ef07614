"""Project-level checks: dependency lists agree, notebooks are committed without outputs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml  # PyYAML: installed with jupyterlab (jupyter_server -> jupyter_events)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p
    for folder in ("notebooks", "tests/browser/fixtures")
    for p in (ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)
# What `make strip` runs (see the Makefile): nbstripout, keeping the cells' ids.
NBSTRIPOUT = [str(Path(sys.executable).parent / "nbstripout"), "--keep-id"]
# Conda packages that are not runtime dependencies of eslab itself.
CONDA_TOOLING = {"python", "pip"}


def _name(requirement: str) -> str:
    """Return the normalised distribution name of a PEP 508 / conda match spec."""
    name = re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_runtime_dependency_names_agree() -> None:
    """pyproject.toml and environment.yml list the same runtime packages."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))

    from_pyproject = sorted(_name(r) for r in pyproject["project"]["dependencies"])
    conda_specs = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pip_sections) == 1 and pip_sections[0][-1] == "-e .[test]"
    from_pip = [r for r in pip_sections[0] if not r.startswith("-e")]
    from_env = sorted(n for n in map(_name, conda_specs + from_pip) if n not in CONDA_TOOLING)

    assert from_env == from_pyproject
    assert "conda-forge" in env["channels"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_stripped(path: Path) -> None:
    """Notebooks are committed without outputs (run `make strip` before committing)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        where = f"{path.name} cell {index}: run `make strip`"
        assert cell.get("outputs") == [], where
        assert cell.get("execution_count") is None, where
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: widget state saved"


def test_nbstripout_finds_nothing_to_strip() -> None:
    """nbstripout's own check agrees: `make strip` would change no notebook."""
    run = subprocess.run(
        [*NBSTRIPOUT, "--verify", *map(str, NOTEBOOKS)], capture_output=True, text=True
    )
    assert run.returncode == 0, f"run `make strip`:\n{run.stdout}{run.stderr}"


def test_nbstripout_strips_what_a_run_leaves_behind(tmp_path: Path) -> None:
    """Outputs, counts, run metadata and widget state go; sources and cell ids stay."""
    import nbformat
    from nbformat.v4 import new_output

    path = tmp_path / "run.ipynb"
    shutil.copy(ROOT / "notebooks" / "00_welcome.ipynb", path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    for cell in nb.cells:
        cell.metadata.update(execution={"iopub.status.idle": "now"}, scrolled=True)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [new_output("stream", text="hi")], 7
    nbformat.write(nb, path)
    assert subprocess.run([*NBSTRIPOUT, "--verify", str(path)]).returncode != 0
    subprocess.run([*NBSTRIPOUT, str(path)], check=True)
    assert path.read_text(encoding="utf-8") == (ROOT / "notebooks" / "00_welcome.ipynb").read_text(
        encoding="utf-8"
    )


def test_pre_commit_hooks_run_the_projects_tools() -> None:
    """Each local pre-commit hook runs a tool that `make venv` installs into .venv."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "nbstripout", "mypy"} <= set(hooks)
    for hook in hooks.values():
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/"), hook["id"]
        assert (Path(sys.executable).parent / Path(tool).name).exists(), f"{tool} not installed"
