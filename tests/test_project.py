"""Project-level checks: dependency lists agree, notebooks are committed without outputs."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml  # PyYAML: installed with jupyterlab (jupyter_server -> jupyter_events)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
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
