"""The shared classroom store: CLI, the learner role's rights, two processes in conflict."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from eslab.__main__ import main
from eslab.classroom import Classroom
from eslab.pgcluster import find_bin_dir

pytestmark = pytest.mark.skipif(find_bin_dir() is None, reason="needs the PostgreSQL server")


@pytest.fixture(scope="module")
def classroom() -> Iterator[Classroom]:
    # Not under pytest's tmp folder: other pytest runs reset /tmp/pytest-of-root to 0700,
    # and the server runs as the unprivileged postgres user.
    folder = Path(tempfile.mkdtemp(prefix="eslab-classroom-"))
    assert main(["classroom", "start", "--dir", str(folder)]) == 0
    room = Classroom(folder)
    try:
        yield room
    finally:
        main(["classroom", "stop", "--dir", str(folder)])
        room.cluster.destroy()
        shutil.rmtree(folder, ignore_errors=True)


def test_start_prints_the_learner_url_and_status_url_agree(
    classroom: Classroom, capsys: pytest.CaptureFixture[str]
) -> None:
    url = classroom.url()
    assert url.startswith("postgresql://learner:") and classroom.password in url
    assert main(["classroom", "url", "--dir", str(classroom.directory)]) == 0
    assert f"ESLAB_STORE={url}" in capsys.readouterr().out
    assert main(["classroom", "status", "--dir", str(classroom.directory)]) == 0
    assert "events:" in capsys.readouterr().out
    state = classroom.directory / "classroom.json"
    assert state.stat().st_mode & 0o077 == 0  # the password file is the instructor's only


def test_the_learner_can_read_and_append_but_not_rewrite_or_drop(classroom: Classroom) -> None:
    from eslab.domain.order import ApproveOrder, Order  # noqa: F401  (registers events)
    from eslab.store import EventStore
    from tests.test_log_tailing import insert_order

    with EventStore(classroom.url()) as store:
        store.mark_published([])
    with psycopg.connect(classroom.url(), autocommit=True) as learner:
        position = insert_order(learner, "order-rights", 1)
        learner.execute("UPDATE events SET published = true WHERE position = %s", (position,))
        for forbidden in (
            "DELETE FROM events",
            "UPDATE events SET event_data = '{}'",
            "DROP TABLE events",
            "TRUNCATE events",
            "CREATE TABLE mine (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                learner.execute(forbidden)


TWO_WRITERS = r"""
import os, sys, time
from eslab.aggregate import AggregateRepository
from eslab.domain.order import ApproveOrder, Order, RejectOrder
from eslab.errors import ConcurrencyError
from eslab.store import EventStore

url, who, go = sys.argv[1], sys.argv[2], sys.argv[3]
store = EventStore(url)
order = AggregateRepository(store, Order).find("order-shared")
events = order.process(ApproveOrder() if who == "a" else RejectOrder("out of stock"))
print("loaded", order.version, flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
try:
    store.append("Order", "order-shared", events, order.version)
    print("appended", flush=True)
except ConcurrencyError as exc:
    head = store.head("Order", "order-shared")
    store.append("Order", "order-shared", events, head)  # re-read, append after the winner
    print("conflict", type(exc).__name__, flush=True)
"""


def test_two_processes_on_one_shared_store_one_gets_a_concurrency_error_nothing_lost(
    classroom: Classroom, tmp_path: Path
) -> None:
    from eslab.aggregate import AggregateRepository
    from eslab.domain.order import Address, CreateOrder, LineItem, Money, Order
    from eslab.store import EventStore

    url = classroom.url()
    with EventStore(url) as store:
        AggregateRepository(store, Order).save(
            CreateOrder("c", "r", [LineItem("p", "Pizza", 1, Money(950))], Address("s", "c", "1")),
            entity_id="order-shared",
        )
    script, go = tmp_path / "writer.py", tmp_path / "go"
    script.write_text(TWO_WRITERS)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), url, who, str(go)], stdout=subprocess.PIPE, text=True
        )
        for who in ("a", "b")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().startswith("loaded 1")
    go.touch()  # both read version 1; now both append
    outcomes = [writer.communicate(timeout=60)[0].split()[0] for writer in writers]
    assert sorted(outcomes) == ["appended", "conflict"]
    with EventStore(url) as store:
        rows = store.sql(
            "SELECT entity_version, event_type FROM events WHERE entity_id = 'order-shared' "
            "ORDER BY entity_version"
        )
    assert rows["entity_version"].tolist() == [1, 2, 3]  # gap-free, nothing lost
    assert sorted(rows["event_type"].tolist()[1:]) == ["OrderAuthorized", "OrderRejected"]
