"""Instructor tools: python -m eslab where/reset/check/glossary/student-copies."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from eslab import glossary, workshop
from eslab.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ESLAB_STORES", str(tmp_path / "stores"))
    return tmp_path / "stores"


def test_where_and_reset(stores: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with workshop.open_store("class-a") as store:
        store.append("T", "x", [_event()], 0)
    assert main(["where"]) == 0
    out = capsys.readouterr().out
    assert str(stores) in out and "class-a.duckdb" in out
    assert main(["reset", "class-a"]) == 0
    assert "deleted" in capsys.readouterr().out
    assert workshop.list_stores() == []
    assert main(["reset"]) == 0 and "nothing to delete" in capsys.readouterr().out


def test_store_names_cannot_escape_the_folder(stores: Path) -> None:
    with pytest.raises(ValueError, match="letters"):
        workshop.store_path("../../etc/passwd")


def test_glossary_file_is_in_step_and_points_at_real_notebooks() -> None:
    assert (ROOT / "notebooks" / "GLOSSARY.md").read_text(
        encoding="utf-8"
    ) == glossary.markdown(), "regenerate: python -m eslab glossary > notebooks/GLOSSARY.md"
    numbers = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    missing = sorted({t.notebook for t in glossary.TERMS} - numbers)
    assert not missing, f"the glossary points at notebooks that do not exist: {missing}"
    for needed in ("애그리거트", "재연", "낙관적 잠금", "멱등", "업캐스팅", "사가", "스냅샷"):
        assert any(t.korean == needed for t in glossary.TERMS), needed


def test_check_reports_the_self_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = new_notebook(cells=[new_code_cell("print('✓ fine')"), new_code_cell("print('✗ Not yet')")])
    path = tmp_path / "07_probe.ipynb"
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "✓ fine" in out and "✗ Not yet" in out
    nb.cells = nb.cells[:1]
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 0


def test_check_names_a_missing_notebook() -> None:
    with pytest.raises(SystemExit, match="No notebook"):
        main(["check", "99"])


def _event():  # type: ignore[no-untyped-def]
    from eslab.domain.bank import AccountOpened

    return AccountOpened("x", 1)


def test_seed_builds_the_workshop_stores_and_can_run_twice(
    stores: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed", "--orders", "50"]) == 0
    assert main(["seed", "--orders", "50"]) == 0  # replaces, never duplicates
    captured = capsys.readouterr()
    out = captured.out
    assert "ftgo_old_orders.duckdb" in out and "ftgo_orders.duckdb" in out
    # the progress bar (tqdm, on stderr): one step per data file, then the generated orders
    assert "seeding" in captured.err and "3/3" in captured.err
    assert "generate 50 orders" in captured.err
    from eslab import EventStore

    with EventStore(stores / "ftgo_old_orders.duckdb", read_only=True) as store:
        assert store.last_position() > 0 and len(store.read_all()) == 504
    with EventStore(stores / "ftgo_orders.duckdb", read_only=True) as store:
        assert store.sql("SELECT count(DISTINCT entity_id) AS n FROM events")["n"][0] == 50


def test_course_copies_notebooks_data_and_glossary_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "my course"
    assert main(["course", str(dest)]) == 0
    assert "Copied" in capsys.readouterr().out
    learners = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in dest.glob("*.ipynb")) == learners
    assert (dest / "GLOSSARY.md").read_text(encoding="utf-8") == glossary.markdown()
    assert (dest / "data" / "ftgo_orders_v1.jsonl").is_file()
    assert (dest / "data" / "samples" / "eventuate_events.csv").is_file()
    assert not (dest / "solutions").exists()

    mine = dest / learners[0]
    mine.write_text("my work", encoding="utf-8")
    assert main(["course", str(dest), "--solutions"]) == 0
    out = capsys.readouterr().out
    assert "Kept" in out and str(mine) in out
    assert mine.read_text(encoding="utf-8") == "my work"
    assert sorted(p.name for p in (dest / "solutions").glob("*.ipynb")) == learners


def test_course_refuses_a_file_as_destination(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x", encoding="utf-8")
    from eslab.errors import BadInputError

    with pytest.raises(BadInputError, match="is a file"):
        main(["course", str(tmp_path / "f")])


@pytest.mark.slow
def test_seeding_in_a_notebook_shows_an_ipywidgets_progress_bar(tmp_path: Path) -> None:
    import nbclient

    code = (
        "from pathlib import Path\nfrom eslab import datasets\n"
        f"datasets.seed_workshop(Path({str(tmp_path)!r}))"
    )
    nb = new_notebook(cells=[new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    kinds = {kind for out in nb.cells[0].outputs for kind in out.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds, nb.cells[0].outputs
    assert (tmp_path / "ftgo_old_orders.duckdb").is_file()
