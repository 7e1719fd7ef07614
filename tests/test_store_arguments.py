"""Arguments the property tests (tests/property) found reaching DuckDB unchecked.

Each test pins one fix: the call raises an eslab error that says what was wrong, and the
store is left exactly as it was.
"""

from __future__ import annotations

import math

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
