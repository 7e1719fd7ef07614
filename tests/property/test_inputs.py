"""Random payloads, ids and versions against one shared store.

Every well-typed event (unicode incl. NUL, huge ints, ±0.0, tiny and huge floats,
Decimals incl. ±Infinity, nested dicts/lists, dataclasses, datetimes) and every valid id
must be stored and read back equal. Everything else — NaN/±inf, lone surrogates, non-str
keys, foreign objects, empty or non-str ids, negative/bool/float/str versions, wrong
argument types — must be refused with an ``EslabError`` that leaves every table as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eslab import (
    AggregateRepository,
    EventMetadata,
    EventStore,
    FixedClock,
    SeededIds,
    SerializationError,
)
from eslab import events as events_module
from eslab.snapshots import SnapshotStrategy
from eslab.store import MAX_EVENT_BYTES
from tests.property import support
from tests.property.support import (
    PropNote,
    PropTally,
    assert_same_event,
    bad_ids,
    bad_versions,
    count,
    examples,
    fingerprint,
    refused,
)


@pytest.fixture(scope="module")
def store() -> Iterator[EventStore]:
    """A store with some history: a tally with a snapshot, a checkpoint, a processed message."""
    s = EventStore(clock=FixedClock(), id_factory=SeededIds(5))
    repo = AggregateRepository(s, PropTally, snapshots=SnapshotStrategy(every=None))
    tally = repo.save(support.PropAdd(note()), entity_id="t-1")
    repo.snapshots.take(repo, tally)
    s.save_checkpoint("projector", 1)
    with s.unit_of_work() as uow:
        uow.record_processed("consumer", "message-1")
    yield s
    s.close()


def note(**fields: Any) -> PropNote:
    """A PropNote with plain values, some replaced."""
    base: dict[str, Any] = dict(text="t", count=1, ratio=1.5, flag=False, amount=Decimal(1))
    return PropNote(**{**base, "tags": [], "extra": {}, **fields})


# -- what must be stored and read back equal --------------------------------------------------


@examples(350)
@given(entity_type=support.ids, entity_id=support.ids, events=support.event_lists)
def test_valid_events_and_ids_read_back_equal(
    store: EventStore, entity_type: str, entity_id: str, events: list[PropNote]
) -> None:
    head = store.head(entity_type, entity_id)
    last = store.last_position()
    assert store.append(entity_type, entity_id, events, head) == head + len(events)
    stored = store.load(entity_type, entity_id, after_version=head)
    versions = list(range(head + 1, head + 1 + len(events)))
    assert [s.entity_version for s in stored] == versions
    for s, e in zip(stored, events, strict=True):
        assert (s.entity_type, s.entity_id) == (entity_type, entity_id)
        assert_same_event(s.event, e)
    tail = store.read_all(after_position=last)
    assert [(s.entity_type, s.entity_id, s.entity_version) for s in tail] == [
        (entity_type, entity_id, v) for v in versions
    ]
    assert store.head(entity_type, entity_id) == versions[-1]
    count("valid events and ids")


@examples(6)
@given(
    size=st.integers(MAX_EVENT_BYTES - 300, MAX_EVENT_BYTES + 100),
    char=st.sampled_from(["x", "é", "名", "🧪"]),
)
def test_huge_events_are_stored_whole_or_refused(size: int, char: str) -> None:
    """Up to MAX_EVENT_BYTES of JSON an event is stored and read back; above, refused."""
    store = EventStore()  # its own: megabyte rows would slow every other fingerprint
    event = note(text=char * (size // len(char.encode())))
    fits = len(events_module.serialize(event).encode()) <= MAX_EVENT_BYTES
    if not fits:
        exc = refused(lambda: store.append("Huge", "h", [event], 0), store)
        assert isinstance(exc, SerializationError) and "limit" in str(exc)
        count("huge events")
        return
    store.append("Huge", "h", [event], 0)
    assert_same_event(store.load("Huge", "h")[0].event, event)
    count("huge events")


# -- what must be refused, writing nothing ------------------------------------------------------


@examples(200)
@given(junk=support.junk_values(), where=st.sampled_from(["payload", "metadata", "snapshot"]))
def test_values_json_cannot_hold_are_refused(store: EventStore, junk: Any, where: str) -> None:
    head = store.head("PropTally", "t-1")
    if where == "payload":
        call: Callable[[], object] = lambda: store.append(  # noqa: E731
            "PropTally", "t-1", [note(), note(extra={"k": junk})], head
        )
    elif where == "metadata":
        meta = EventMetadata(extra={"k": junk})
        call = lambda: store.append("PropTally", "t-1", [note()], head, metadata=meta)  # noqa: E731
    else:
        repo = AggregateRepository(store, PropTally, snapshots=SnapshotStrategy(every=None))
        tally = PropTally(last=junk)
        tally.id, tally.version = "t-1", head
        call = lambda: repo.snapshots.take(repo, tally)  # noqa: E731
    refused(call, store)
    count("values JSON cannot hold")


@st.composite
def bad_calls(draw: st.DrawFn, store: EventStore) -> Callable[[], object]:
    """One public call with one bad argument (the others fine)."""
    bad_id = draw(bad_ids, label="bad id")
    not_none = draw(bad_ids.filter(lambda v: v is not None), label="bad id, not None")
    bad_count = draw(support.bad_counts, label="bad count")
    bad_version = draw(bad_versions, label="bad expected version")
    events, types = draw(bad_event_lists), draw(bad_type_lists)
    text, table = draw(bad_json), draw(bad_tables)
    ok = [note()]
    head = store.head("PropTally", "t-1")
    repo = AggregateRepository(store, PropTally)
    calls: dict[str, Callable[[], object]] = {
        "append id": lambda: store.append("PropTally", bad_id, ok, 0),
        "append type": lambda: store.append(bad_id, "t-1", ok, head),
        "append version": lambda: store.append("PropTally", "t-1", ok, bad_version),
        "append events": lambda: store.append("PropTally", "t-1", events, head),
        "load id": lambda: store.load("PropTally", bad_id),
        "load type": lambda: store.load_events(bad_id, "t-1"),
        "find id": lambda: repo.find(bad_id),
        "update id": lambda: repo.update(bad_id, support.PropAdd(note())),
        "head": lambda: store.head("PropTally", bad_id),
        "heads": lambda: store.heads([(bad_id, "t-1")]),
        "read_all after": lambda: store.read_all(after_position=bad_count),
        "read_all limit": lambda: store.read_all(limit=bad_count),
        "read_all up_to": lambda: store.read_all(up_to_position=bad_count),
        "read_all type": lambda: store.read_all(entity_type=not_none),
        "read_all event_types": lambda: store.read_all(event_types=types),
        "to_dataframe": lambda: store.to_dataframe(entity_id=not_none),
        "latest_snapshot": lambda: store.latest_snapshot("PropTally", bad_id),
        "snapshot id": lambda: store.save_snapshot("PropTally", bad_id, 1, "PropTally", "{}"),
        "snapshot version": lambda: store.save_snapshot(
            "PropTally", "t-1", bad_count, "PropTally", "{}"
        ),
        "snapshot json": lambda: store.save_snapshot("PropTally", "t-1", 1, "PropTally", text),
        "checkpoint name": lambda: store.save_checkpoint(bad_id, 1),
        "checkpoint position": lambda: store.save_checkpoint("projector", bad_count),
        "mark_published": lambda: store.mark_published([bad_count]),
        "unpublished": lambda: store.unpublished(bad_count),
        "processed": lambda: _in_uow(store, lambda uow: uow.record_processed("c", bad_id)),
        "uow append": lambda: _in_uow(
            store, lambda uow: uow.append("PropTally", "t-1", ok, bad_count)
        ),
        "bulk_insert": lambda: store.bulk_insert(table),
    }
    name = draw(st.sampled_from(sorted(calls)), label="call")
    return calls[name]


def _in_uow(store: EventStore, body: Callable[[Any], object]) -> None:
    with store.unit_of_work() as uow:
        uow.append("Other", "o-1", [note()], store.head("Other", "o-1"))  # fine on its own
        body(uow)


bad_event_lists = st.sampled_from([None, [], (), "PropNote", note(), [1], {"e": note()}]) | st.just(
    [note(), None]
)
bad_type_lists = st.sampled_from(["PropNote", 5]) | st.lists(bad_ids, min_size=1, max_size=2)
bad_json = st.sampled_from([None, 5, b"{}", "{", "", '"\ud800"', "NaN"])
bad_tables = st.sampled_from([None, 5, "events", [{"entity_type": "T"}]])


@examples(400)
@given(data=st.data())
def test_bad_arguments_are_refused(store: EventStore, data: st.DataObject) -> None:
    refused(data.draw(bad_calls(store)), store)
    count("bad arguments")


# -- known gaps, fixed on other branches (issue 14) -----------------------------------------------


@examples(30)
@given(
    field=st.sampled_from(["text", "count", "flag", "tags", "when", "point"]),
    value=st.one_of(
        st.integers(), st.booleans(), st.text(max_size=3), st.none(), st.floats(allow_nan=False)
    ),
)
def test_mistyped_events_are_refused_or_read_back_equal(field: str, value: Any) -> None:
    """A value that does not fit the field's type hint is refused at append (or fits)."""
    count("mistyped events")
    store = EventStore()  # its own: today such a row is written and poisons every reader
    event = note(**{field: value})
    before = fingerprint(store)
    try:
        store.append("Typed", "x", [event], 0)
    except support.EslabError:
        assert fingerprint(store) == before
        return
    assert_same_event(store.load("Typed", "x")[0].event, event)


@examples(30)
@given(
    version=st.sampled_from(["two", 2.5, True, None]),
    as_of=st.sampled_from(["yesterday", 5, 1.5, "2024-13-45"]),
    which=st.sampled_from(["find version", "find as_of", "load version", "load as_of"]),
)
def test_time_travel_arguments_are_checked(
    store: EventStore, version: Any, as_of: Any, which: str
) -> None:
    """find/load at a version that is not one (find: also above the head), or a time that
    is not one. (``load`` keeps range semantics: a version above the head is fine there.)"""
    count("time travel arguments")
    repo = AggregateRepository(store, PropTally)
    head = store.head("PropTally", "t-1")
    calls = {
        "find version": lambda: repo.find("t-1", version=head + 98 if version is None else version),
        "find as_of": lambda: repo.find("t-1", as_of=as_of),
        "load version": lambda: store.load("PropTally", "t-1", up_to_version=version or "two"),
        "load as_of": lambda: store.load("PropTally", "t-1", as_of=as_of),
    }
    refused(calls[which], store)


@examples(10)
@given(which=st.sampled_from(["append", "load", "read_all", "head", "find", "snapshot"]))
def test_a_closed_store_raises_eslab_errors(which: str) -> None:
    count("closed store")
    store = EventStore(clock=FixedClock(datetime(2024, 1, 1)))
    store.close()
    repo = AggregateRepository(store, PropTally)
    calls = {
        "append": lambda: store.append("T", "a", [note()], 0),
        "load": lambda: store.load("T", "a"),
        "read_all": lambda: store.read_all(),
        "head": lambda: store.head("T", "a"),
        "find": lambda: repo.find("a"),
        "snapshot": lambda: store.save_snapshot("T", "a", 1, "T", "{}"),
    }
    with pytest.raises(support.EslabError):
        calls[which]()
