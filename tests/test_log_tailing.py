"""The WAL tailer against a real PostgreSQL: commit order, at least once, resumable."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from eslab.errors import BadInputError
from eslab.lessons.nb04_log_tailing import (
    architecture_figure,
    find_postgres,
    insert_order,
    load_recording,
    run_wal_race,
)
from eslab.log_tailing import (
    ForgottenSlotWarning,
    LogTailingError,
    WalChange,
    WalTailer,
    replication_slots,
    transactions,
)
from eslab.messaging import MessageBroker
from eslab.pgcluster import PgCluster
from eslab.store import EventStore

pytestmark = pytest.mark.filterwarnings("ignore::eslab.log_tailing.ForgottenSlotWarning")


@pytest.fixture
def url(pg_cluster: PgCluster) -> str:
    EventStore(pg_cluster.url()).close()  # the engine creates the tables
    return pg_cluster.url()


@pytest.fixture
def tailer(url: str, request: pytest.FixtureRequest) -> Iterator[WalTailer]:
    slot = "t_" + str(abs(hash(request.node.name)))[:12]
    tailer = WalTailer(url, MessageBroker(), slot)
    yield tailer
    tailer.drop_slot()
    tailer.close()


def commit_one(url: str, entity_id: str, n: int = 1) -> int:
    with psycopg.connect(url) as connection:
        return insert_order(connection, entity_id, n)


def test_test_decoding_lines_parse_into_transactions_and_typed_columns() -> None:
    lines = [
        WalChange("0/10", 7, "BEGIN 7"),
        WalChange(
            "0/11",
            7,
            'table public.events: INSERT: "position"[bigint]:3 '
            " entity_id[character varying]:"
            "'o''1' published[boolean]:false metadata[json]:null "
            "created_at[timestamp without time zone]:'2026-01-01 00:00:00'",
        ),
        WalChange("0/12", 7, "COMMIT 7"),
        WalChange("0/13", 8, "BEGIN 8"),  # not committed yet: left out
    ]
    [txn] = transactions(lines)
    assert (txn.xid, txn.commit_lsn, [c.kind for c in txn.changes]) == (
        7,
        "0/12",
        ["BEGIN", "INSERT", "COMMIT"],
    )
    columns = lines[1].columns()
    assert columns["position"] == 3 and columns["entity_id"] == "o'1"
    assert columns["published"] is False and columns["metadata"] is None
    assert columns["created_at"].year == 2026 and lines[1].table == "public.events"


def test_the_log_shows_begin_insert_commit_and_the_tailer_publishes_them(
    url: str, tailer: WalTailer
) -> None:
    position = commit_one(url, "order-log")
    frame = tailer.changes_frame()
    assert frame["kind"].tolist()[-3:] == ["BEGIN", "INSERT", "COMMIT"]
    assert f'"position"[bigint]:{position}' in frame["data"].iloc[-2]
    sent = tailer.run()
    assert [int(m.headers["position"]) for m in sent] == [position]
    assert sent[0].topic == "Order" and sent[0].event().consumer_id == "consumer-1"
    assert tailer.peek() == []  # confirmed: the slot moved past it


def test_commit_order_race_polling_by_position_skips_the_wal_tailer_does_not(
    url: str, tailer: WalTailer
) -> None:
    """T1 takes the lower position at INSERT and commits after T2 (seed: 후행 트랜잭션)."""
    tailer.run()
    with psycopg.connect(url) as t1, psycopg.connect(url) as t2, psycopg.connect(url) as reader:
        last = reader.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
        reader.commit()
        low = insert_order(t1, "order-t1", 1)
        high = insert_order(t2, "order-t2", 2)
        assert low < high
        t2.commit()

        def poll_by_position() -> list[int]:
            nonlocal last
            rows = reader.execute(
                "SELECT position FROM events WHERE position > %s ORDER BY position", (last,)
            ).fetchall()
            reader.commit()
            found = [int(r[0]) for r in rows]
            last = max([last, *found])
            return found

        naive = poll_by_position()
        t1.commit()
        naive += poll_by_position()
    assert naive == [high]  # the late commit at `low` is skipped forever
    assert tailer.run() and tailer.published_positions() == [high, low]  # commit order


def test_a_crash_before_confirming_resends_after_restart_never_loses(
    url: str, tailer: WalTailer
) -> None:
    tailer.run()
    first, second = commit_one(url, "order-c1"), commit_one(url, "order-c2")
    tailer.crash_next_poll()
    assert [int(m.headers["position"]) for m in tailer.poll()] == [first]
    restarted = WalTailer(url, tailer.broker, tailer.slot)
    try:
        restarted.run()
        assert restarted.published_positions() == [first, second]  # first again: at least once
    finally:
        restarted.close()


def test_creating_a_slot_warns_dropping_it_frees_it(url: str) -> None:
    with pytest.warns(ForgottenSlotWarning, match="keeps every WAL segment"):
        tailer = WalTailer(url, MessageBroker(), "warn_me")
    try:
        slots = replication_slots(url)
        assert "warn_me" in slots["slot_name"].tolist()
        assert (slots["retained_wal_bytes"] >= 0).all()
    finally:
        tailer.drop_slot()
        tailer.close()
    assert "warn_me" not in replication_slots(url)["slot_name"].tolist()


def test_refused_inputs_and_an_unreachable_server_are_eslab_errors(url: str) -> None:
    with pytest.raises(BadInputError, match="slot must be"):
        WalTailer(url, MessageBroker(), "Bad-Name")
    with pytest.raises(BadInputError, match="broker"):
        WalTailer(url, "broker", "ok")  # type: ignore[arg-type]
    with pytest.raises(LogTailingError, match="Cannot connect"):
        WalTailer("postgresql://nobody:secret@127.0.0.1:1/x", MessageBroker(), "ok")


CHILD = r"""
import os, sys, time
import eslab.domain.order  # registers the event classes the tailer decodes
from eslab.log_tailing import WalTailer
from eslab.messaging import MessageBroker

class FileBroker(MessageBroker):
    # Writes every published position to a file before it counts as sent.
    def publish(self, topic, message, headers=None):
        message = super().publish(topic, message, headers)
        with open(sys.argv[3], "a") as out:
            out.write(message.headers["position"] + "\n")
            out.flush()
            os.fsync(out.fileno())
        time.sleep(0.002)
        return message

tailer = WalTailer(sys.argv[1], FileBroker(), sys.argv[2])
print("ready", flush=True)
while True:
    tailer.poll(limit=40)
    if sys.argv[4] == "finish" and not tailer.peek(1):
        break
"""


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_sigkill_the_tailer_at_a_random_point_then_restart_publishes_everything(
    url: str, tmp_path: Path, seed: int
) -> None:
    """A real process, killed with SIGKILL mid-work: every committed event goes out ≥ once."""
    rng = random.Random(seed)
    slot, out = f"kill_{seed}", tmp_path / "published.txt"
    script = tmp_path / "tailer.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    committed: list[int] = []
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (slot,))
    try:
        with psycopg.connect(url) as writer:
            for batch in range(rng.randint(3, 8)):
                for i in range(rng.randint(1, 6)):
                    committed.append(insert_order(writer, f"order-k{seed}-{batch}-{i}", i))
                writer.commit()
        child = subprocess.Popen(
            [sys.executable, str(script), url, slot, str(out), "forever"],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        with psycopg.connect(url) as writer:  # more commits while it runs
            for i in range(rng.randint(1, 10)):
                committed.append(insert_order(writer, f"order-k{seed}-late-{i}", i))
                writer.commit()
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        restarted = subprocess.run(
            [sys.executable, str(script), url, slot, str(out), "finish"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert restarted.returncode == 0, restarted.stderr.decode()[-2000:]
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    published = [int(line) for line in out.read_text().split()]
    assert set(committed) <= set(published), "a committed event was never published"


def test_the_notebook_race_on_postgresql_naive_poller_skips_wal_tailer_delivers_both(
    url: str,
) -> None:
    result = run_wal_race(url, tag="test_race")
    assert result.naive_skipped == [result.low]
    assert result.wal_order == [result.high, result.low]  # commit order, not position order
    assert result.consumers["order-history"] == [result.high, result.low]
    kinds = result.log_table()["kind"].tolist()
    assert kinds == ["BEGIN", "INSERT", "COMMIT"] * 2
    assert "wal_test_race" not in replication_slots(url)["slot_name"].tolist()  # dropped


def test_without_postgresql_the_shipped_recording_tells_the_same_story() -> None:
    recorded = load_recording()
    assert recorded.source == "recorded"
    assert recorded.naive_skipped == [recorded.low] and recorded.wal_order == [
        recorded.high,
        recorded.low,
    ]
    figure = architecture_figure(recorded)
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "CDC: WAL tailer" in texts and any("order-history" in t for t in texts)


def test_find_postgres_prefers_eslab_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESLAB_STORE", "postgresql://learner:pw@127.0.0.1:5999/eslab")
    found = find_postgres()
    assert found.url == "postgresql://learner:pw@127.0.0.1:5999/eslab" and found.cluster is None


def test_a_throwaway_cluster_is_started_once_and_stopped_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ESLAB_STORE", raising=False)
    first = find_postgres()
    assert first.cluster is not None and first.cluster.running()
    assert find_postgres() is first  # a re-run cell reuses it
    folder = first.cluster.directory.parent
    first.stop()
    assert not folder.exists() and find_postgres(start=False).url is None
