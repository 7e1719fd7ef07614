"""The hub's parts that need no running hub: refusals, the learner's copy, clearing the store."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import psycopg
import pytest

from eslab import hub
from eslab.__main__ import main
from eslab.domain.bank import AccountOpened
from eslab.store import EventStore


def test_status_of_a_folder_without_a_hub(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["classroom", "hub", "status", "--hub-dir", str(tmp_path)]) == 0
    assert "hub            False" in capsys.readouterr().out


def test_a_short_password_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    if os.geteuid() != 0:
        pytest.skip("as a normal user the root check refuses first (tested below)")
    folder = tmp_path / "hub"
    args = ["classroom", "hub", "start", "--hub-dir", str(folder), "--password", "short"]
    assert main(args) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert not folder.exists()


def test_without_root_the_hub_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(hub.HubError, match="must run as root"):
        hub.require_root()


@pytest.mark.parametrize("name", ["root", "postgres", "Bad Name", "../x"])
def test_a_learner_never_becomes_another_account(tmp_path: Path, name: str) -> None:
    with pytest.raises(hub.HubError):
        hub.ensure_learner(name, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_learners_get_the_learner_notebooks_and_the_instructor_the_live_view(
    tmp_path: Path,
) -> None:
    for who, instructor in (("learner", False), ("teacher", True)):
        home = tmp_path / who
        home.mkdir()
        copied = {p.name for p in hub.copy_course(home, instructor=instructor)}
        assert "03_optimistic_locking.ipynb" in copied
        assert not any("solution" in name for name in copied)
        assert ("class_view.ipynb" in copied) is instructor
        assert hub.copy_course(home, instructor=instructor) == []  # a learner's work stays


def test_clearing_the_store_keeps_the_schema(pg_url: str) -> None:
    store = EventStore(pg_url)
    store.append("Account", "a-1", [AccountOpened(owner="x", initial_deposit=1)], 0)
    hub.clear_store(pg_url)
    assert store.last_position() == 0 and store.head("Account", "a-1") == 0
    store.append("Account", "a-1", [AccountOpened(owner="x", initial_deposit=1)], 0)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_learners_lists_only_accounts_the_hub_made() -> None:
    names = hub.learners()
    assert "root" not in names
    assert all(pwd.getpwnam(n).pw_gecos == hub.LEARNER_MARK for n in names)
