"""One row that cannot be decoded does not stop relays and projectors for every stream.

Rows are written by raw SQL, as another tool, older code or a hand edit would: an
unknown event type, fields of the wrong type, data that is not a JSON object, malformed
JSON (in a legacy text column). Direct readers get the error (naming the row); relays
and projectors read with ``quarantine_as=<name>``: the row is recorded once in the
``quarantine`` table with the reason, left out, and everything else goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest

from eslab import (
    Event,
    EventStore,
    FixedClock,
    SeededIds,
    SerializationError,
    UnknownEventTypeError,
    schema_sql,
)
from eslab.messaging import Message, MessageBroker
from eslab.projections import Projection, Projector, Upsert
from eslab.publishing import PollingPublisher, PositionPoller

UPCASTER_HINT = "did the class change without an upcaster"


@dataclass(frozen=True)
class QuarantineBookAdded(Event):
    title: str


@dataclass(frozen=True)
class QuarantineBookLent(Event):
    member_id: str
    due: date


BAD_ROWS = {  # entity id → (event type, stored JSON)
    "b-unknown": ("QuarantineNoSuchEvent", '{"title": "x"}'),
    "b-mistyped": ("QuarantineBookLent", '{"member_id": 123, "due": "2024-01-01"}'),
    "b-array": ("QuarantineBookAdded", "[1, 2]"),
}


def _raw(store: EventStore, entity_id: str, event_type: str, data: str) -> int:
    """Insert one row by raw SQL (bypassing eslab's checks); return its position."""
    store.sql(
        "INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id, "
        "entity_version, created_at) VALUES ($id, $type, $data, 'Book', $eid, 1, "
        "TIMESTAMP '2024-01-01')",
        {"id": f"raw-{entity_id}", "type": event_type, "data": data, "eid": entity_id},
    )
    return store.last_position()


def _good(store: EventStore, entity_id: str, title: str) -> int:
    store.append("Book", entity_id, [QuarantineBookAdded(title)], 0)
    return store.last_position()


def populate(store: EventStore) -> tuple[list[int], list[int]]:
    """Good streams before, between and after the bad rows: (good, bad) positions."""
    good = [_good(store, "b1", "Dune"), _good(store, "b2", "Emma")]
    bad = []
    for entity_id, (event_type, data) in BAD_ROWS.items():
        bad.append(_raw(store, entity_id, event_type, data))
        good.append(_good(store, f"after-{entity_id}", entity_id))
    store.append("Book", "b1", [QuarantineBookLent("m-1", date(2024, 2, 1))], 1)
    good.append(store.last_position())
    return good, bad


@pytest.fixture
def store() -> EventStore:
    return EventStore(clock=FixedClock(), id_factory=SeededIds(3))


def test_direct_readers_still_get_the_error_naming_the_row(store: EventStore) -> None:
    _, bad = populate(store)
    with pytest.raises(UnknownEventTypeError) as info:
        store.read_all()
    assert f"position {bad[0]}" in " ".join(info.value.__notes__)
    assert UPCASTER_HINT not in str(info.value)


def test_read_all_can_set_bad_rows_aside(store: EventStore) -> None:
    good, bad = populate(store)
    batch = store.read_all(quarantine_as="my-reader")
    assert [e.position for e in batch] == good
    assert [q.position for q in batch.quarantined] == bad
    assert batch.positions() == sorted(good + bad)
    frame = store.quarantined()
    assert frame["position"].tolist() == bad
    assert set(frame["reader"]) == {"my-reader"}
    assert frame["error"].tolist() == [
        "UnknownEventTypeError",
        "SerializationError",
        "SerializationError",
    ]
    assert "member_id" in frame["reason"][1] and "str" in frame["reason"][1]
    assert frame["event_data"][2] == "[1, 2]"


def test_the_upcaster_hint_appears_only_for_field_mismatches(store: EventStore) -> None:
    populate(store)
    _raw(store, "b-missing", "QuarantineBookLent", '{"member_id": "m-2"}')
    store.read_all(quarantine_as="r")
    frame = store.quarantined("r")
    reasons = dict(zip(frame["entity_id"], frame["reason"], strict=True))
    assert UPCASTER_HINT in reasons["b-mistyped"]  # registered type, field of another type
    assert UPCASTER_HINT in reasons["b-missing"] and "'due' is missing" in reasons["b-missing"]
    assert UPCASTER_HINT not in reasons["b-unknown"]  # no class: import it, nothing changed
    assert UPCASTER_HINT not in reasons["b-array"]  # not an object: a bad row, not a class


def test_malformed_json_gets_no_upcaster_hint(tmp_path: Path) -> None:
    path = tmp_path / "legacy.duckdb"
    with duckdb.connect(str(path)) as con:  # an older tool: event_data is text, not JSON
        con.execute(re.sub(r"event_data\s+JSON", "event_data VARCHAR", schema_sql()))
    with EventStore(path) as store:
        position = _raw(store, "b-broken", "QuarantineBookAdded", '{"title": "x"')
        with pytest.raises(SerializationError, match="malformed") as info:
            store.read_all()
        assert UPCASTER_HINT not in str(info.value)
        assert [q.position for q in store.read_all(quarantine_as="r").quarantined] == [position]


def test_polling_publisher_sends_every_other_event_and_quarantines_once(
    store: EventStore,
) -> None:
    good, bad = populate(store)
    poller = PollingPublisher(store, MessageBroker(), batch_size=2, name="poller")
    poller.run()
    assert poller.published_positions() == good
    assert [q.position for q in poller.quarantined] == bad
    assert [a.positions[0] for a in poller.actions if a.action == "QUARANTINE"] == bad
    recorded = store.quarantined("poller")
    assert recorded["position"].tolist() == bad
    # the bad rows stay unpublished (they were not sent), and are not tried again
    assert [e for e in store.unpublished(quarantine_as="poller")] == []
    assert store.sql("SELECT position FROM events WHERE NOT published")["position"].tolist() == bad
    again = PollingPublisher(store, MessageBroker(), name="poller")  # a restart
    assert again.run()[-1].selected == () and again.quarantined == []
    assert store.quarantined("poller")["first_seen"].tolist() == recorded["first_seen"].tolist()
    assert poller.missed() == []


def test_released_rows_are_sent_once_the_cause_is_fixed(store: EventStore) -> None:
    good, bad = populate(store)
    late = _raw(store, "b-late", "QuarantineLateClass", '{"title": "x"}')
    poller = PollingPublisher(store, MessageBroker(), name="fixing-poller")
    poller.run()
    assert [q.position for q in poller.quarantined] == [*bad, late]

    @dataclass(frozen=True)
    class QuarantineLateClass(Event):  # the class the row needed, now registered
        title: str

    assert store.release_quarantined(reader="fixing-poller", positions=[late]) == 1
    poller.run()
    assert poller.published_positions() == [*good, late]
    assert store.quarantined("fixing-poller")["position"].tolist() == bad


def test_log_tailer_goes_on_past_bad_rows_without_waiting_for_gaps(store: EventStore) -> None:
    good, bad = populate(store)
    tailer = PositionPoller(store, MessageBroker(), "tailer", batch_size=2)
    sent = tailer.run()
    assert [int(m.headers["position"]) for m in sent] == good
    assert tailer.gaps == {} and tailer.checkpoint == store.last_position()
    assert store.quarantined("tailer")["position"].tolist() == bad
    restarted = tailer.restart()
    assert restarted.run() == [] and restarted.quarantined == []


class TitlesProjection(Projection):
    name = "quarantine_titles"
    tables: ClassVar[dict[str, str]] = {
        "quarantine_titles": "book_id VARCHAR PRIMARY KEY, title VARCHAR, lent_to VARCHAR"
    }

    def on_added(self, event: QuarantineBookAdded, stored: Any) -> Upsert:
        return Upsert("quarantine_titles", {"book_id": stored.entity_id}, {"title": event.title})

    def on_lent(self, event: QuarantineBookLent, stored: Any) -> Upsert:
        return Upsert(
            "quarantine_titles", {"book_id": stored.entity_id}, {"lent_to": event.member_id}
        )


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_projector_catches_up_past_bad_rows(store: EventStore, batch_size: int) -> None:
    _, bad = populate(store)
    projector = Projector(store, TitlesProjection(), batch_size=batch_size)
    run = projector.catch_up()
    assert run.quarantined == bad[1:]  # the unknown type is not one it reads
    assert "set aside 2 unreadable row(s)" in str(run)
    model = projector.read_model(order_by="book_id")
    assert model["book_id"].tolist() == ["after-b-array", "after-b-mistyped", "after-b-unknown"] + [
        "b1",
        "b2",
    ]
    assert model.set_index("book_id")["lent_to"]["b1"] == "m-1"
    assert projector.position == store.last_position()
    assert projector.catch_up().quarantined == []
    assert store.quarantined(projector.checkpoint_name)["position"].tolist() == bad[1:]


def test_a_read_only_store_reports_bad_rows_but_records_nothing(tmp_path: Path) -> None:
    path = tmp_path / "books.duckdb"
    with EventStore(path) as writer:
        good, bad = populate(writer)
    with EventStore(path, read_only=True) as reader:
        batch = reader.read_all(quarantine_as="reader")
        assert [e.position for e in batch] == good
        assert [q.position for q in batch.quarantined] == bad
        assert reader.quarantined().empty


def test_consumers_downstream_see_every_good_event(store: EventStore) -> None:
    good, _ = populate(store)
    broker = MessageBroker()
    received: list[int] = []

    def handle(message: Message) -> None:
        received.append(int(message.headers["position"]))

    broker.subscribe("Book", "catalogue", handle)
    PollingPublisher(store, broker, name="poller").run()
    broker.deliver_all()
    assert received == good


def test_a_read_only_file_from_before_the_quarantine_table_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with EventStore(path) as writer:
        good, bad = populate(writer)
        writer.sql("DROP TABLE quarantine")  # as a file made by an older eslab
    with EventStore(path, read_only=True) as reader:
        assert reader.quarantined().empty
        assert "reason" in reader.quarantined().columns
        batch = reader.unpublished(quarantine_as="poller")
        assert [e.position for e in batch] == good
        assert [q.position for q in batch.quarantined] == bad
