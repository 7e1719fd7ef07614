"""Notebooks 03 and 04 against a shared classroom store (ESLAB_STORE in the kernel's env)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eslab.classroom import Classroom
from eslab.lessons.nb03_shared_store import SHARED_ORDER
from eslab.pgcluster import INSTALL_HINT, find_bin_dir
from eslab.store import EventStore

from .execute import ROOT, error_outputs, execute_notebook

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def classroom_url() -> Iterator[str]:
    if find_bin_dir() is None:
        pytest.skip(f"needs the PostgreSQL server. {INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="eslab-classroom-nb-"))
    room = Classroom(folder)
    try:
        yield room.start()
    finally:
        room.cluster.destroy()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    "name", ["03_optimistic_locking.ipynb", "04_publishing_events.ipynb"], ids=lambda n: n[:3]
)
def test_master_runs_against_the_shared_store(
    name: str, classroom_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESLAB_STORE", classroom_url)
    monkeypatch.setenv("ESLAB_LEARNER", f"test_{name[:2]}")
    nb = execute_notebook(ROOT / "notebooks" / "solutions" / name)
    errors = error_outputs(nb)
    assert not errors, "\n\n".join(map(str, errors))
    with EventStore(classroom_url) as store:
        saved = store.sql(
            "SELECT count(*) AS n FROM events WHERE entity_id = $id AND metadata IS NOT NULL",
            {"id": SHARED_ORDER},
        )
        slots = store.sql("SELECT slot_name FROM pg_replication_slots")
    if name.startswith("03"):
        assert int(saved["n"][0]) >= 1  # this kernel's turn landed in the shared stream
        lab = next(c for c in nb.cells if c.get("id") == "c3a5e0b6")  # the lab on the shared order
        assert any(
            "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in lab.outputs
        )
    else:
        assert slots.empty  # notebook 04 dropped its WAL slot
