"""The event store: append, load, optimistic locking, atomicity, units of work.

Tests taking ``store`` or ``store_factory`` run on both engines (DuckDB and PostgreSQL);
the others are about DuckDB itself (files, its own transaction errors, Arrow).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import duckdb
import pytest

import eslab
from eslab import EventStore
from eslab.domain.bank import AccountOpened, MoneyDeposited
from tests.conftest import StoreFactory


@dataclass(frozen=True)
class Unstorable(eslab.Event):
    thing: object


def rows(store: EventStore) -> int:
    return int(store.sql("SELECT count(*) AS n FROM events")["n"][0])


@pytest.fixture
def store(store_factory: StoreFactory) -> EventStore:
    return store_factory(clock=eslab.FixedClock(), id_factory=eslab.SeededIds(1))


def test_append_creates_stream_and_returns_new_version(store: EventStore) -> None:
    assert store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0) == 1
    assert store.append("BankAccount", "a", [MoneyDeposited(1), MoneyDeposited(2)], 1) == 3
    loaded = store.load("BankAccount", "a")
    assert [e.entity_version for e in loaded] == [1, 2, 3]
    assert [e.event for e in loaded] == [
        AccountOpened("ann", 5),
        MoneyDeposited(1),
        MoneyDeposited(2),
    ]
    assert store.head("BankAccount", "a") == 3


def test_stale_expected_version_raises_concurrency_error_naming_stream(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    store.append("BankAccount", "a", [MoneyDeposited(1)], 1)
    with pytest.raises(eslab.ConcurrencyError) as err:
        store.append("BankAccount", "a", [MoneyDeposited(9)], 1)
    assert err.value.expected_version == 1 and err.value.actual_version == 2
    assert "BankAccount 'a'" in str(err.value) and "retry" in str(err.value)
    assert rows(store) == 2


def test_conflict_detected_by_a_store_that_never_saw_the_stream(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    other = EventStore.__new__(EventStore)
    other.__dict__.update(store.__dict__)
    other._heads = {}
    store.append("BankAccount", "a", [MoneyDeposited(1)], 1)
    with pytest.raises(eslab.ConcurrencyError):
        other.append("BankAccount", "a", [MoneyDeposited(2)], 1)


def test_create_existing_and_append_missing_get_their_own_errors(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    with pytest.raises(eslab.StreamExistsError, match="already exists"):
        store.append("BankAccount", "a", [AccountOpened("bob", 1)], 0)
    with pytest.raises(eslab.EntityNotFoundError, match="expected_version=0"):
        store.append("BankAccount", "nope", [MoneyDeposited(1)], 1)
    with pytest.raises(eslab.WrongExpectedVersionError, match="does not exist yet"):
        store.append("BankAccount", "a", [MoneyDeposited(1)], 4)
    assert rows(store) == 1


def test_all_events_of_an_append_or_none(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    with pytest.raises(eslab.SerializationError, match="object"):
        store.append("BankAccount", "a", [MoneyDeposited(1), Unstorable(object())], 1)
    assert rows(store) == 1 and store.head("BankAccount", "a") == 1


@pytest.mark.parametrize("bad", [-1, 1.0, "1", True, None])
def test_bad_expected_versions_are_refused(store: EventStore, bad: object) -> None:
    with pytest.raises(eslab.WrongExpectedVersionError, match="int ≥ 0"):
        store.append("BankAccount", "a", [AccountOpened("ann", 5)], bad)  # type: ignore[arg-type]


def test_empty_or_unwrapped_event_lists_are_refused(store: EventStore) -> None:
    with pytest.raises(eslab.InvalidEventsError, match="non-empty list"):
        store.append("BankAccount", "a", [], 0)
    with pytest.raises(eslab.InvalidEventsError, match=r"\[event\]"):
        store.append("BankAccount", "a", AccountOpened("x", 1), 0)  # type: ignore[arg-type]
    assert rows(store) == 0


def test_load_slices_by_version_and_time(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    store.append("BankAccount", "a", [MoneyDeposited(1)], 1)
    store.append("BankAccount", "a", [MoneyDeposited(2)], 2)
    assert len(store.load("BankAccount", "a", up_to_version=2)) == 2
    assert [e.entity_version for e in store.load("BankAccount", "a", after_version=1)] == [2, 3]
    second = store.load("BankAccount", "a")[1].created_at
    assert len(store.load("BankAccount", "a", as_of=second)) == 2
    assert store.load("BankAccount", "a", as_of=second - timedelta(days=1)) == []


def test_read_all_is_in_global_order_and_positions_increase(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    store.append("BankAccount", "b", [AccountOpened("bob", 5)], 0)
    store.append("BankAccount", "a", [MoneyDeposited(1)], 1)
    everything = store.read_all()
    assert [(e.entity_id, e.entity_version) for e in everything] == [("a", 1), ("b", 1), ("a", 2)]
    assert [e.position for e in everything] == sorted(e.position for e in everything)
    assert [e.entity_id for e in store.read_all(after_position=everything[0].position)] == [
        "b",
        "a",
    ]
    assert store.last_position() == everything[-1].position
    frame = store.to_dataframe(entity_id="a")
    assert list(frame["entity_version"]) == [1, 2]


def test_metadata_and_clock_are_stored(store: EventStore) -> None:
    meta = eslab.EventMetadata(
        correlation_id="saga-1", causation_id="m-0", triggering_message_id="m-1"
    )
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0, metadata=meta)
    stored = store.load("BankAccount", "a")[0]
    assert stored.metadata.correlation_id == "saga-1"
    assert stored.triggering_event == "m-1"
    assert stored.created_at == datetime(2024, 1, 1, 12, 0)
    assert stored.published is False


def test_ids_are_stored_verbatim_never_executed(store: EventStore) -> None:
    nasty = "x'); DROP TABLE events; --" + "é" * 500
    store.append("Bank'Account", nasty, [AccountOpened("o'hara; SELECT 1", 5)], 0)
    loaded = store.load("Bank'Account", nasty)
    assert loaded[0].entity_id == nasty and loaded[0].event.owner == "o'hara; SELECT 1"


def test_unit_of_work_commits_many_streams_or_nothing(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    with store.unit_of_work() as uow:
        uow.append("BankAccount", "a", [MoneyDeposited(1)], 1)
        uow.append("BankAccount", "b", [AccountOpened("bob", 2)], 0)
        assert rows(store) == 1  # nothing yet
    assert rows(store) == 3
    with pytest.raises(eslab.ConcurrencyError):
        with store.unit_of_work() as uow:
            uow.append("BankAccount", "c", [AccountOpened("cy", 2)], 0)
            uow.append("BankAccount", "a", [MoneyDeposited(1)], 1)  # stale: a is at 2
    assert rows(store) == 3 and store.head("BankAccount", "c") == 0


def test_unit_of_work_records_processed_messages_atomically(store: EventStore) -> None:
    with store.unit_of_work() as uow:
        uow.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
        uow.record_processed("billing", "msg-1")
    assert store.was_processed("billing", "msg-1")
    with pytest.raises(eslab.DuplicateMessageError, match="msg-1"):
        with store.unit_of_work() as uow:
            uow.append("BankAccount", "a", [MoneyDeposited(1)], 1)
            uow.record_processed("billing", "msg-1")
    assert rows(store) == 1


def test_clash_at_commit_between_open_transactions_is_a_concurrency_error() -> None:
    """DuckDB reports a clash of two open transactions at COMMIT (TransactionException)."""
    store = EventStore()
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    first, second = store.cursor(), store.engine.connection.cursor()
    pending = store.prepare("BankAccount", "a", [MoneyDeposited(1)], 1)
    other = store.prepare("BankAccount", "a", [MoneyDeposited(2)], 1)
    second.execute("BEGIN")
    second.execute(store.engine.insert_events, other.rows)
    first.execute("BEGIN")
    first.execute(store.engine.insert_events, pending.rows)
    first.execute("COMMIT")
    with pytest.raises(duckdb.TransactionException) as raw:
        second.execute("COMMIT")
    translated = store._translate(raw.value, [other])
    assert isinstance(translated, eslab.ConcurrencyError)
    assert translated.actual_version == 2


def test_threads_never_lose_an_append(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 0)], 0)
    conflicts: list[int] = []

    def writer() -> None:
        for _ in range(20):
            while True:
                version = store.head("BankAccount", "a")
                try:
                    store.append("BankAccount", "a", [MoneyDeposited(1)], version)
                    break
                except eslab.ConcurrencyError:
                    conflicts.append(1)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = [e.entity_version for e in store.load("BankAccount", "a")]
    assert versions == list(range(1, 82))


def test_snapshots_table_keeps_newest_at_or_below(store: EventStore) -> None:
    store.save_snapshot("T", "a", 5, "T", '{"x": 5}')
    store.save_snapshot("T", "a", 10, "T", '{"x": 10}', triggering_events=["m1"])
    assert store.latest_snapshot("T", "a")["entity_version"] == 10
    assert store.latest_snapshot("T", "a", max_version=9)["snapshot_json"] == '{"x": 5}'
    assert store.latest_snapshot("T", "a")["triggering_events"] == ["m1"]
    assert store.latest_snapshot("T", "a", max_version=4) is None


def test_outbox_and_checkpoints(store: EventStore) -> None:
    store.append("BankAccount", "a", [AccountOpened("ann", 5), MoneyDeposited(1)], 0)
    waiting = store.unpublished()
    assert len(waiting) == 2
    assert store.mark_published([waiting[0].position]) == 1
    assert [e.position for e in store.unpublished()] == [waiting[1].position]
    assert store.checkpoint("relay") == 0
    store.save_checkpoint("relay", 7)
    assert store.checkpoint("relay") == 7


def test_bulk_insert_is_columnar_and_atomic(store: EventStore) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "entity_type": "BankAccount",
            "entity_id": "bulk",
            "entity_version": range(1, 1001),
            "event_type": "MoneyDeposited",
            "event_data": '{"amount": 1}',
        }
    )
    assert store.bulk_insert(frame) == 1000
    assert len(store.load("BankAccount", "bulk")) == 1000
    with pytest.raises(eslab.EslabError, match="duplicate"):
        store.bulk_insert(frame.iloc[[0, 1]].assign(entity_version=[1001, 5]))
    assert store.head("BankAccount", "bulk") == 1000


def test_read_only_store_refuses_writes(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    with EventStore(path) as writer:
        writer.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    with EventStore(path, read_only=True) as reader:
        assert len(reader.load("BankAccount", "a")) == 1
        with pytest.raises(eslab.ReadOnlyStoreError, match="read-only"):
            reader.append("BankAccount", "a", [MoneyDeposited(1)], 1)


def test_file_store_survives_reopen(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    with EventStore(path) as first:
        first.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    with EventStore(path) as again:
        assert again.head("BankAccount", "a") == 1
        assert "CREATE TABLE IF NOT EXISTS events" in eslab.schema_sql()


def test_trace_records_the_statements_with_row_counts(store_factory: StoreFactory) -> None:
    store = store_factory(trace=True)
    store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    inserts = [t for t in store.trace if t.sql.startswith("INSERT INTO events")]
    assert inserts and inserts[-1].rows == 1


def test_a_large_unit_of_work_goes_in_as_one_columnar_batch(store: EventStore) -> None:
    from eslab.store import ARROW_BATCH_ROWS

    many = [MoneyDeposited(i) for i in range(ARROW_BATCH_ROWS + 5)]
    with store.unit_of_work() as uow:
        uow.append("BankAccount", "big", [AccountOpened("ann", 0), *many], 0)
        uow.append("BankAccount", "small", [AccountOpened("bob", 1)], 0)
    loaded = store.load("BankAccount", "big")
    assert [e.event for e in loaded[1:]] == many
    assert [e.entity_version for e in loaded] == list(range(1, len(many) + 2))
    assert loaded[0].metadata.correlation_id is None and loaded[0].triggering_event is None
    with pytest.raises(eslab.StreamExistsError):
        with store.unit_of_work() as uow:
            uow.append("BankAccount", "fresh", [AccountOpened("cy", 0), *many], 0)
            uow.append("BankAccount", "small", [AccountOpened("bob", 1)], 0)  # exists
    assert store.head("BankAccount", "fresh") == 0


def test_as_of_with_a_time_zone_is_read_as_that_moment_in_utc(
    store_factory: StoreFactory,
) -> None:
    """Stored times are naive UTC; an aware as_of means the same instant, not local time."""
    store = store_factory(clock=eslab.FixedClock(datetime(2024, 1, 1, 12, 0), timedelta(hours=1)))
    store.append("BankAccount", "a", [AccountOpened("ann", 0)], 0)  # 12:00 UTC
    store.append("BankAccount", "a", [MoneyDeposited(5)], 1)  # 13:00 UTC
    seoul = timezone(timedelta(hours=9))
    at_1230_utc = datetime(2024, 1, 1, 21, 30, tzinfo=seoul)
    assert [e.entity_version for e in store.load("BankAccount", "a", as_of=at_1230_utc)] == [1]
    naive = datetime(2024, 1, 1, 12, 30)
    assert store.load("BankAccount", "a", as_of=naive) == store.load(
        "BankAccount", "a", as_of=naive.replace(tzinfo=UTC)
    )


def test_a_closed_store_says_so(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert not store.closed
    store.close()
    assert store.closed
    with pytest.raises(eslab.StoreClosedError, match="closed"):
        store.last_position()


OWN_SQL_OR_NO_DATABASE = {"sql", "cursor", "prepare", "unit_of_work", "close", "closed"}


def test_every_public_store_method_turns_duckdb_errors_into_eslab_errors() -> None:
    """A new public method must be @_guarded too (or be listed above with the reason)."""
    public = {
        name: member
        for name, member in vars(EventStore).items()
        if not name.startswith("_") and callable(member)
    }
    unguarded = sorted(
        name
        for name, method in public.items()
        if name not in OWN_SQL_OR_NO_DATABASE and not hasattr(method, "__wrapped__")
    )
    assert unguarded == []
    assert {"append", "commit", "load", "read_all", "quarantined"} <= set(public)
