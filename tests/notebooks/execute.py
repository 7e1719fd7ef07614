"""Run a notebook top to bottom in a fresh kernel, as a learner's "Run All" would."""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
CELL_TIMEOUT_S = 300


def course_notebooks() -> list[Path]:
    """Return the numbered notebooks, then the solutions, each group sorted by name; then
    the same for each translated edition (``notebooks/ko/``: learner copies, then masters)."""
    found = []
    for edition in [NOTEBOOK_DIR, *sorted(p.parent for p in NOTEBOOK_DIR.glob("*/solutions"))]:
        found += sorted(edition.glob("[0-9][0-9]_*.ipynb"))
        found += sorted((edition / "solutions").glob("*.ipynb"))
    return found


@dataclass
class CellError:
    """One error output: where it happened and what it said."""

    cell_index: int
    source: str
    text: str

    def __str__(self) -> str:
        """Format the error like a learner would see it, with the cell's first line."""
        first_line = (self.source.strip().splitlines() or [""])[0]
        return f"cell {self.cell_index} ({first_line[:60]!r}):\n{self.text}"


def execute_notebook(path: Path, timeout: int = CELL_TIMEOUT_S) -> nbformat.NotebookNode:
    """Execute ``path`` in a fresh ``python3`` kernel whose cwd is the notebook's folder.

    Execution continues past errors so that every error is reported, not only the first.
    The file on disk is never rewritten.
    """
    nb = nbformat.read(path, as_version=4)
    with _isolated_jupyter_data():
        _client(nb, path, timeout).execute()
    return nb


@dataclass
class Rerun:
    """A notebook run top to bottom (``first``), then every code cell run again in order,
    each twice in a row (``again``: the outputs of its second run), as a learner who
    re-runs cells (and presses Shift-Enter twice) would."""

    first: nbformat.NotebookNode
    again: nbformat.NotebookNode


def execute_notebook_twice(path: Path, timeout: int = CELL_TIMEOUT_S) -> Rerun:
    """Run All in a fresh kernel, then re-run every code cell in order, twice each."""
    nb = nbformat.read(path, as_version=4)
    client = _client(nb, path, timeout)
    client.reset_execution_trackers()
    with _isolated_jupyter_data(), client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        first = copy.deepcopy(nb)
        again = copy.deepcopy(nb)
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
            once_more = client.execute_cell(copy.deepcopy(cell), index)
            # keep the errors of both runs, the verdicts of the last one
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            again.cells[index] = once_more
            if errors and not any(o.output_type == "error" for o in once_more.get("outputs", [])):
                once_more.outputs = errors + list(once_more.outputs)
    return Rerun(first, again)


CHECK_MARK = 'class="eslab-check"'


def check_results(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """The self-check verdicts a run showed: ``(cell index, verdict)`` per check output."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for line in _output_text(cell).splitlines():
            if CHECK_MARK in line:
                found.append((index, line.strip()))
    return found


def _output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            data = output.get("data", {})
            parts.append(data.get("text/html") or data.get("text/plain") or "")
    return "\n".join(parts)


def _client(nb: nbformat.NotebookNode, path: Path, timeout: int) -> NotebookClient:
    return NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )


@contextlib.contextmanager
def _isolated_jupyter_data() -> Iterator[None]:
    """Isolate from any user-level kernelspec that could point at another Python: the
    kernel must run the interpreter (and installed eslab) that runs the tests."""
    saved = os.environ.get("JUPYTER_DATA_DIR")
    with tempfile.TemporaryDirectory(prefix="eslab-jupyter-data-") as data_dir:
        os.environ["JUPYTER_DATA_DIR"] = data_dir
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("JUPYTER_DATA_DIR", None)
            else:
                os.environ["JUPYTER_DATA_DIR"] = saved


def error_outputs(nb: nbformat.NotebookNode) -> list[CellError]:
    """Collect error outputs and stderr tracebacks from every code cell."""
    errors = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                text = f"{output.ename}: {output.evalue}"
            elif output.output_type == "stream" and output.name == "stderr":
                if "Traceback" not in output.text:
                    continue
                text = output.text
            else:
                continue
            errors.append(CellError(index, cell.source, text))
    return errors
