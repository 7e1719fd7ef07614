"""Arguments the property tests (tests/property) found reaching DuckDB unchecked.

Each test pins one fix: the call raises an eslab error that says what was wrong, and the
store is left exactly as it was.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import eslab
from eslab import EventMetadata, EventStore
from eslab.domain.bank import AccountOpened, MoneyDeposited


@pytest.fixture
def store() -> EventStore:
    s = EventStore(clock=eslab.FixedClock(), id_factory=eslab.SeededIds(1))
    s.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
    return s


def contents(store: EventStore) -> list[tuple]:
    return store.sql("SELECT * FROM events ORDER BY position").to_records(index=False).tolist()


@pytest.mark.parametrize(
    "metadata",
    [
        EventMetadata(extra={"score": math.nan}),
        EventMetadata(extra={"when": object()}),
        EventMetadata(correlation_id="\ud800"),
    ],
    ids=["nan", "object", "surrogate"],
)
def test_metadata_json_cannot_hold_is_refused(store: EventStore, metadata: EventMetadata) -> None:
    before = contents(store)
    with pytest.raises(eslab.SerializationError, match="metadata"):
        store.append("BankAccount", "a", [MoneyDeposited(1)], 1, metadata=metadata)
    assert contents(store) == before


@pytest.mark.parametrize("trigger", [5, "\udc00"], ids=["int", "surrogate"])
def test_triggering_event_must_be_text(store: EventStore, trigger: object) -> None:
    before = contents(store)
    with pytest.raises(eslab.InvalidIdError, match="triggering_event"):
        store.append("BankAccount", "a", [MoneyDeposited(1)], 1, triggering_event=trigger)
    assert contents(store) == before


def test_metadata_keys_must_be_text(store: EventStore) -> None:
    before = contents(store)
    with pytest.raises(eslab.SerializationError, match="key"):
        store.append(
            "BankAccount", "a", [MoneyDeposited(1)], 1, metadata=EventMetadata(extra={"k": {1: 2}})
        )
    assert contents(store) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.head("BankAccount", "\ud800"),
        lambda s: s.heads([(5, "a")]),
        lambda s: s.read_all(limit=2**64),
        lambda s: s.read_all(up_to_position="x"),
        lambda s: s.read_all(entity_type=5),
        lambda s: s.read_all(entity_type="\ud800"),
        lambda s: s.read_all(event_types="AccountOpened"),
        lambda s: s.read_all(event_types=["AccountOpened", 1]),
        lambda s: s.to_dataframe(entity_type=5),
        lambda s: s.latest_snapshot("BankAccount", "\ud800"),
        lambda s: s.latest_snapshot("BankAccount", "a", "x"),
    ],
    ids=[
        "head-surrogate",
        "heads-int",
        "limit-huge",
        "up_to-str",
        "type-int",
        "type-surrogate",
        "event_types-str",
        "event_types-int",
        "dataframe-int",
        "snapshot-surrogate",
        "snapshot-version-str",
    ],
)
def test_read_arguments_are_checked(store: EventStore, call) -> None:
    with pytest.raises(eslab.BadInputError, match="must be|not valid text"):
        call(store)


def test_read_all_takes_a_set_of_event_types(store: EventStore) -> None:
    assert [e.event_type for e in store.read_all(event_types={"AccountOpened"})] == [
        "AccountOpened"
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.save_snapshot("BankAccount", "a", "x", "BankAccount", "{}"),
        lambda s: s.save_snapshot("BankAccount", "a", 2**64, "BankAccount", "{}"),
        lambda s: s.save_snapshot("BankAccount", 5, 1, "BankAccount", "{}"),
        lambda s: s.save_snapshot("BankAccount", "a", 1, "BankAccount", '"\ud800"'),
        lambda s: s.save_checkpoint("projector", 2**64),
        lambda s: s.mark_published(["x"]),
        lambda s: s.mark_published([True]),
        lambda s: s.unpublished("x"),
        lambda s: s.bulk_insert(5),
        lambda s: s.bulk_insert(pd.DataFrame([{"entity_type": "T"}])),
    ],
    ids=[
        "snapshot-version-str",
        "snapshot-version-huge",
        "snapshot-id-int",
        "snapshot-surrogate",
        "checkpoint-huge",
        "published-str",
        "published-bool",
        "unpublished-str",
        "bulk-int",
        "bulk-missing-columns",
    ],
)
def test_write_arguments_are_checked(store: EventStore, call) -> None:
    before = contents(store), store.latest_snapshot("BankAccount", "a"), store.checkpoint("p")
    with pytest.raises(eslab.BadInputError):
        call(store)
    after = contents(store), store.latest_snapshot("BankAccount", "a"), store.checkpoint("p")
    assert after == before


def test_a_unit_of_work_refuses_a_bad_snapshot_before_writing(store: EventStore) -> None:
    with pytest.raises(eslab.BadInputError, match="entity_version"):
        with store.unit_of_work() as uow:
            uow.append("BankAccount", "a", [MoneyDeposited(1)], 1)
            uow.save_snapshot(
                entity_type="BankAccount",
                entity_id="a",
                entity_version="x",
                snapshot_type="BankAccount",
                snapshot_json="{}",
            )
    assert store.head("BankAccount", "a") == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: EventStore(5),
        lambda: EventStore(clock="2024-01-01"),
        lambda: EventStore(id_factory="uuid"),
        lambda: EventStore(clock=lambda: "yesterday"),
        lambda: EventStore(id_factory=lambda: 5),
        lambda: EventStore(id_factory=lambda: "\ud800"),
    ],
    ids=["path-int", "clock-str", "ids-str", "clock-returns-str", "ids-int", "ids-surrogate"],
)
def test_a_misconfigured_store_is_refused_before_writing(make) -> None:
    with pytest.raises(eslab.BadInputError) as err:
        store = make()
        try:
            store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0)
        finally:
            assert store.sql("SELECT count(*) AS n FROM events")["n"][0] == 0
    assert "clock" in str(err.value) or "id" in str(err.value) or "path" in str(err.value)


def test_a_path_like_object_opens_a_file_store(tmp_path) -> None:
    class Where:
        def __fspath__(self) -> str:
            return str(tmp_path / "s.duckdb")

    with EventStore(Where()) as store:
        assert store.append("BankAccount", "a", [AccountOpened("ann", 5)], 0) == 1


@pytest.mark.parametrize("text", [b"{}", "NaN", '{"x": -Infinity}'], ids=["bytes", "nan", "inf"])
def test_snapshot_json_must_be_standard_json_text(store: EventStore, text: object) -> None:
    with pytest.raises(eslab.SerializationError, match="JSON"):
        store.save_snapshot("BankAccount", "a", 1, "BankAccount", text)
    assert store.latest_snapshot("BankAccount", "a") is None
