"""Bad input: every case raises a specific error with a helpful message and writes nothing.

Each row of ``CASES`` names the eslab error class it must raise (exactly that class),
key words its message must contain, and runs against a store with some history. Before
and after, the whole content of every table (and ``last_position()``) is compared: a
refused input leaves no trace. Ids that look like SQL are stored verbatim, never run.
The last tests each pin a bug this suite found (fixed since).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import reliability_helpers as rh

from eslab import (
    AggregateRepository,
    BadInputError,
    CommandRejectedError,
    ConcurrencyError,
    DuplicateMessageError,
    EntityNotFoundError,
    EslabError,
    Event,
    EventMetadata,
    EventStore,
    FieldTypeError,
    FixedClock,
    InvalidEventsError,
    InvalidIdError,
    NotAStoreError,
    ReadOnlyStoreError,
    SeededIds,
    SerializationError,
    SnapshotError,
    StoreClosedError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
    StreamExistsError,
    UnitOfWork,
    UnknownCommandError,
    UnknownEventTypeError,
    UpcastError,
    WrongExpectedVersionError,
    schema_sql,
)
from eslab import upcasting as upcasting_module
from eslab.domain.bank import BankAccount, Deposit, MoneyDeposited, OpenAccount, Withdraw
from eslab.errors import InvalidAsOfError, InvalidVersionError, VersionOutOfRangeError
from eslab.snapshots import SnapshotStrategy
from eslab.store import MAX_EVENT_BYTES


@dataclass(frozen=True)
class BadInputBag(Event):
    """An event that carries anything, to try values JSON cannot hold."""

    data: Any


@dataclass(frozen=True)
class BadInputV3(Event):
    """An event at schema v3 with an upcaster only for v1 → v2 (v2 → v3 is missing)."""

    schema_version = 3
    amount: int


@dataclass(frozen=True)
class BadInputLent(Event):
    """A lending event with declared types (issue 14's LendBook)."""

    member_id: str
    due: date


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return data


@dataclass(frozen=True)
class BadInputBroken(Event):
    """An event at v2 whose v1 → v2 upcaster raises."""

    schema_version = 2
    amount: int


def _broken(data: dict[str, Any]) -> dict[str, Any]:
    raise KeyError("total")


@pytest.fixture(scope="module", autouse=True)
def upcasters() -> Iterator[None]:
    """Register this module's upcaster steps only while its tests run."""
    upcasting_module.upcaster("BadInputV3", from_version=1)(_v1_to_v2)
    upcasting_module.upcaster("BadInputBroken", from_version=1)(_broken)
    yield
    upcasting_module.unregister("BadInputV3", 1)
    upcasting_module.unregister("BadInputBroken", 1)


# -- the store every case starts from --------------------------------------------------

ACC = "BankAccount"


def _populate(store: EventStore) -> None:
    """acc-1 at v2 (balance 150), acc-2 at v1, a snapshot, a checkpoint, a processed msg."""
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ann", 100), entity_id="acc-1")
    repo.update("acc-1", Deposit(50))
    repo.save(OpenAccount("bob", 10), entity_id="acc-2")
    store.save_snapshot(ACC, "acc-2", 1, "BankAccount", '{"owner": "bob", "balance": 10}')
    store.save_checkpoint("projector", 2)
    with store.unit_of_work() as uow:
        uow.record_processed("consumer-a", "msg-1")


def _raw_event(
    store: EventStore, entity_id: str, event_type: str, data: str, schema_version: int = 1
) -> None:
    """Insert a row by raw SQL, bypassing eslab (as a hand edit or another tool would)."""
    store.sql(
        "INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id, "
        "entity_version, schema_version, created_at) VALUES ($id, $type, $data, $et, "
        "$eid, 1, $sv, TIMESTAMP '2024-01-01')",
        {
            "id": f"raw-{entity_id}",
            "type": event_type,
            "data": data,
            "et": ACC,
            "eid": entity_id,
            "sv": schema_version,
        },
    )


def make_store(kind: str, tmp_path: Path, pg_url: str | None = None) -> EventStore:
    """A populated store: in memory, a file (read-write or read-only), a legacy file
    (VARCHAR payloads), or on PostgreSQL (``pg_url``, a fresh schema)."""
    options: dict[str, Any] = {"clock": FixedClock(), "id_factory": SeededIds(7)}
    if kind in ("memory", "postgres"):
        store = EventStore(pg_url if kind == "postgres" else None, **options)
        _populate(store)
        return store
    path = tmp_path / f"{kind}.duckdb"
    if kind == "legacy":  # made by an older tool: event_data is plain text, not JSON
        with duckdb.connect(str(path)) as con:
            legacy, n = re.subn(r"event_data\s+JSON", "event_data VARCHAR", schema_sql())
            assert n == 1
            con.execute(legacy)
    with EventStore(path, **options) as store:
        _populate(store)
    return EventStore(path, read_only=(kind == "read_only"), **options)  # file / read_only


def fingerprint(store: EventStore) -> dict[str, Any]:
    """last_position() and every row of every table (user tables included)."""
    found: dict[str, Any] = {"last_position": store.last_position()}
    if store.engine.name == "postgresql":
        tables = store.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema = current_schema() ORDER BY 1"
        )["table_name"]
        for table in tables:
            rows = store.cursor().execute(f'SELECT * FROM "{table}"').fetchall()
            found[table] = sorted(rows, key=repr)
        return found
    cur = store.cursor()
    tables = [
        t for (t,) in cur.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    ]
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        found[table] = cur.execute(f"SELECT * FROM {quoted} ORDER BY ALL").fetchall()
    return found


# -- the table of cases ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    action: Callable[[EventStore], object]
    error: type[BaseException]
    words: tuple[str, ...]
    setup: Callable[[EventStore], None] | None = None
    kind: str = "memory"

    def __str__(self) -> str:
        return self.name


def repo(store: EventStore, **kw: Any) -> AggregateRepository[BankAccount]:
    return AggregateRepository(store, BankAccount, **kw)


def deposit(version: int, entity_id: str = "acc-1", **kw: Any) -> Callable[[EventStore], int]:
    return lambda s: s.append(ACC, entity_id, [MoneyDeposited(5)], version, **kw)


def bag(value: Any) -> Callable[[EventStore], int]:
    return lambda s: s.append(ACC, "acc-1", [BadInputBag(value)], 2)


def deposit_event(event: Event) -> Callable[[EventStore], int]:
    return lambda s: s.append(ACC, "acc-1", [event], 2)


def events(value: Any) -> Callable[[EventStore], int]:
    return lambda s: s.append(ACC, "acc-1", value, 2)


def uow_conflict(store: EventStore) -> None:
    with store.unit_of_work() as uow:
        uow.append(ACC, "acc-2", [MoneyDeposited(1)], 1)  # fine on its own
        uow.append(ACC, "acc-1", [MoneyDeposited(1)], 1)  # stale: acc-1 is at v2


def uow_redelivery(store: EventStore) -> None:
    with store.unit_of_work() as uow:
        repo(store).update("acc-1", Deposit(7), uow=uow)
        uow.record_processed("consumer-a", "msg-1")


def uow_same_message_twice(store: EventStore) -> None:
    with store.unit_of_work() as uow:
        uow.append(ACC, "acc-2", [MoneyDeposited(1)], 1)
        uow.record_processed("consumer-b", "msg-9")
        uow.record_processed("consumer-b", "msg-9")


def uow_own_sql_fails(store: EventStore) -> None:
    with store.unit_of_work() as uow:
        uow.append(ACC, "acc-2", [MoneyDeposited(1)], 1)
        uow.execute("INSERT INTO no_such_read_model VALUES ($x)", {"x": 1})


def uow_block_raises(store: EventStore) -> None:
    with store.unit_of_work() as uow:
        uow.append(ACC, "acc-2", [MoneyDeposited(1)], 1)
        raise KeyError("the handler crashed")


def bulk(**columns: list[Any]) -> Callable[[EventStore], int]:
    base = {
        "entity_type": [ACC],
        "entity_id": ["bulk-1"],
        "entity_version": [1],
        "event_type": ["MoneyDeposited"],
        "event_data": ['{"amount": 1}'],
    }
    frame = pd.DataFrame({**base, **columns})
    return lambda s: s.bulk_insert(frame.drop(columns=[c for c, v in columns.items() if v is None]))


def find_with_disabled_step(store: EventStore) -> object:
    upcasting_module.set_enabled("BadInputV3", 1, False)
    try:
        return store.load(ACC, "raw-v3")
    finally:
        upcasting_module.set_enabled("BadInputV3", 1, True)


def find_with_snapshot(store: EventStore) -> object:
    return repo(store, snapshots=SnapshotStrategy(every=None)).find("acc-2")


def raw(
    entity_id: str, event_type: str, data: str, version: int = 1
) -> Callable[[EventStore], None]:
    return lambda s: _raw_event(s, entity_id, event_type, data, version)


def load(entity_id: str) -> Callable[[EventStore], object]:
    return lambda s: s.load(ACC, entity_id)


def lent(member_id: Any, due: Any) -> Callable[[EventStore], int]:
    return lambda s: s.append(ACC, "acc-1", [BadInputLent(member_id, due)], 2)


def uow_with_a_mistyped_event(store: EventStore) -> None:
    with store.unit_of_work() as uow:
        uow.append(ACC, "acc-2", [MoneyDeposited(1)], 1)  # fine on its own
        uow.append(ACC, "acc-1", [MoneyDeposited("5")], 2)


def second_store(store: EventStore, **kw: Any) -> EventStore:
    """Another EventStore on the same file, in this process."""
    assert store.path is not None
    return EventStore(store.path, **kw)


def closed_copy(store: EventStore) -> EventStore:
    other = second_store(store)
    other.close()
    return other


def open_junk(store: EventStore) -> EventStore:
    assert store.path is not None
    junk = store.path.with_name("notes.duckdb")
    junk.write_text("not a database, just notes\n" * 200)
    return EventStore(junk)


def open_missing(store: EventStore) -> EventStore:
    assert store.path is not None
    return EventStore(store.path.with_name("missing.duckdb"), read_only=True)


RO = ("read-only", "EventStore(path)")
MISMATCH = ("does not match the class", "upcaster")

# fmt: off
CASES = [
    # events the store holds but cannot read back
    Case("unknown_event_type_on_load", load("raw-1"), UnknownEventTypeError,
         ("'NoSuchEvent'", "Import"), raw("raw-1", "NoSuchEvent", "{}")),
    Case("unknown_event_type_in_read_all", lambda s: s.read_all(), UnknownEventTypeError,
         ("'NoSuchEvent'", "upcaster"), raw("raw-1", "NoSuchEvent", "{}")),
    Case("unknown_event_type_on_find", lambda s: repo(s).find("raw-1"), UnknownEventTypeError,
         ("'NoSuchEvent'",), raw("raw-1", "NoSuchEvent", "{}")),
    Case("malformed_json_is_refused_by_the_json_column",
         raw("raw-2", "MoneyDeposited", '{"amount": 1'), duckdb.ConversionException,
         ("Malformed JSON",)),
    Case("malformed_json_in_a_legacy_text_column", load("raw-3"), SerializationError,
         ("malformed", "MoneyDeposited"), raw("raw-3", "MoneyDeposited", '{"amount": 1'),
         kind="legacy"),
    Case("json_with_an_unknown_field", load("raw-4"), SerializationError,
         MISMATCH + ("amt",), raw("raw-4", "MoneyDeposited", '{"amt": 1}')),
    Case("json_missing_a_field", load("raw-5"), SerializationError,
         MISMATCH + ("amount",), raw("raw-5", "MoneyDeposited", "{}")),
    Case("json_that_is_not_an_object", load("raw-6"), SerializationError,
         ("JSON object", "JSON array"), raw("raw-6", "MoneyDeposited", "[1, 2]")),
    Case("missing_upcaster_step", load("raw-v3"), UpcastError,
         ("No upcaster", "BadInputV3", "v2", "@upcaster('BadInputV3', from_version=2)"),
         raw("raw-v3", "BadInputV3", '{"amount": 1}', 1)),
    Case("switched_off_upcaster_step", find_with_disabled_step, UpcastError,
         ("from v1", "switch it back on"), raw("raw-v3", "BadInputV3", '{"amount": 1}', 1)),
    Case("event_newer_than_its_class", load("raw-v9"), UpcastError,
         ("v9", "newer", "Update the MoneyDeposited class"),
         raw("raw-v9", "MoneyDeposited", '{"amount": 1}', 9)),
    Case("upcaster_that_raises", load("raw-br"), UpcastError,
         ("BadInputBroken v1", "failed", "total"),
         raw("raw-br", "BadInputBroken", '{"amount": 1}', 1)),
    Case("snapshot_that_does_not_fit_the_class", find_with_snapshot, SnapshotError,
         ("acc-2", "does not fit", "class_version"),
         lambda s: s.save_snapshot(ACC, "acc-2", 1, "BankAccount",
                                   '{"owner": 1, "balance": "x"}')),
    # payloads JSON cannot hold
    Case("payload_not_json_serialisable", bag(object()), SerializationError,
         ("BadInputBag.data", "builtins.object", "cannot store as JSON")),
    Case("payload_complex_number", bag(1j), SerializationError, ("BadInputBag.data", "complex")),
    Case("payload_nested_deep", bag([1, {"k": {1, object()}}]), SerializationError,
         ("BadInputBag.data[1].k",)),
    Case("nan_float", bag(math.nan), SerializationError, ("BadInputBag.data", "NaN", "None")),
    Case("dict_with_non_str_keys", bag({1: "a"}), SerializationError,
         ("key of type int", "str")),
    Case("huge_payload", bag("x" * (MAX_EVENT_BYTES + 1)), SerializationError,
         (f"{MAX_EVENT_BYTES:,}", "Store big blobs elsewhere")),
    Case("metadata_not_event_metadata", deposit(2, metadata={"correlation_id": "c"}),
         SerializationError, ("eslab.EventMetadata", "dict")),
    # payloads that JSON could hold, but not as the types the event class declares
    Case("mistyped_event_int_for_str", lent(123, date(2024, 1, 1)), FieldTypeError,
         ("BadInputLent.member_id", "`str`", "an int (123)", "str(123)")),
    Case("mistyped_event_str_for_date", lent("m-1", "2024-01-01"), FieldTypeError,
         ("BadInputLent.due", "`date`", "a str", "date.fromisoformat('2024-01-01')")),
    Case("mistyped_event_datetime_for_date", lent("m-1", datetime(2024, 1, 1, 9)),
         FieldTypeError, ("BadInputLent.due", "`date`", "datetime")),
    Case("mistyped_event_none_for_date", lent("m-1", None), FieldTypeError,
         ("BadInputLent.due", "None", "`date | None`")),
    Case("mistyped_event_str_for_int", deposit_event(MoneyDeposited("5")), FieldTypeError,
         ("MoneyDeposited.amount", "`int`", "int('5')")),
    Case("mistyped_event_bool_for_int", deposit_event(MoneyDeposited(True)), FieldTypeError,
         ("MoneyDeposited.amount", "`int`", "bool")),
    Case("mistyped_event_in_a_unit_of_work", uow_with_a_mistyped_event, FieldTypeError,
         ("MoneyDeposited.amount",)),
    # what is passed as "events"
    Case("empty_event_list", events([]), InvalidEventsError, ("non-empty list", "acc-1")),
    Case("single_event_not_in_a_list", events(MoneyDeposited(1)), InvalidEventsError,
         ("wrap one event as [event]",)),
    Case("events_as_a_string", events("MoneyDeposited"), InvalidEventsError, ("non-empty",)),
    Case("events_as_a_generator", events(MoneyDeposited(i) for i in range(2)),
         InvalidEventsError, ("list of events",)),
    Case("command_passed_as_event", events([Deposit(5)]), SerializationError,
         ("not an eslab event", "subclass eslab.Event")),
    Case("dict_passed_as_event", events([{"amount": 5}]), SerializationError,
         ("not an eslab event",)),
    Case("non_event_after_a_good_one", events([MoneyDeposited(1), 42]), SerializationError,
         ("42", "not an eslab event")),
    # expected versions
    Case("expected_version_negative", deposit(-1), WrongExpectedVersionError,
         ("int ≥ 0", "-1", "aggregate.version")),
    Case("expected_version_bool", deposit(True), WrongExpectedVersionError, ("True", "bool")),
    Case("expected_version_str", deposit("2"), WrongExpectedVersionError, ("'2'", "str")),
    Case("expected_version_float", deposit(2.0), WrongExpectedVersionError, ("2.0", "float")),
    Case("expected_version_none", deposit(None), WrongExpectedVersionError, ("None",)),
    Case("expected_version_above_the_head", deposit(5), WrongExpectedVersionError,
         ("at version 2", "expected 5", "does not exist yet")),
    Case("expected_version_stale", deposit(1), ConcurrencyError,
         ("version 2", "expected 1", "Reload it and retry")),
    Case("append_to_a_missing_stream", deposit(3, "nobody"), EntityNotFoundError,
         ("'nobody'", "expected_version=0")),
    Case("create_an_existing_stream", deposit(0), StreamExistsError,
         ("already exists", "version 2", "choose a new id")),
    Case("save_an_existing_aggregate", lambda s: repo(s).save(OpenAccount("x"), entity_id="acc-1"),
         StreamExistsError, ("'acc-1' already exists",)),
    Case("update_a_missing_aggregate", lambda s: repo(s).update("nobody", Deposit(1)),
         EntityNotFoundError, ("No BankAccount with id 'nobody'", "Create it first")),
    # ids
    Case("entity_id_none", lambda s: s.append(ACC, None, [MoneyDeposited(1)], 0),
         InvalidIdError, ("entity_id", "non-empty str", "NoneType")),
    Case("entity_id_empty", lambda s: s.append(ACC, "", [MoneyDeposited(1)], 0),
         InvalidIdError, ("entity_id", "non-empty")),
    Case("entity_id_int", lambda s: s.append(ACC, 42, [MoneyDeposited(1)], 0),
         InvalidIdError, ("42", "int", "str(uuid4())")),
    Case("entity_type_empty", lambda s: s.append("", "x", [MoneyDeposited(1)], 0),
         InvalidIdError, ("entity_type",)),
    Case("load_with_id_none", lambda s: s.load(ACC, None), InvalidIdError, ("entity_id",)),
    Case("message_id_none", lambda s: UnitOfWork(s).record_processed("c", None),
         InvalidIdError, ("message_id",)),
    # the aggregate says no
    Case("command_refused_by_state", lambda s: repo(s).update("acc-1", Withdraw(1_000)),
         CommandRejectedError, ("Cannot withdraw 1000", "balance is 150", "no event is stored")),
    Case("command_refused_negative_deposit", lambda s: repo(s).update("acc-1", Deposit(-5)),
         CommandRejectedError, ("Deposit -5", "positive")),
    Case("unknown_command_type", lambda s: repo(s).update("acc-1", "close please"),
         UnknownCommandError, ("no process_", "str", "def process_str")),
    # the repository's arguments (issue 14): no raw DuckDB error, no silent answer
    Case("find_version_str", lambda s: repo(s).find("acc-1", version="two"),
         InvalidVersionError, ("version must be an int ≥ 1", "'two'")),
    Case("find_version_zero", lambda s: repo(s).find("acc-1", version=0), InvalidVersionError,
         ("int ≥ 1",)),
    Case("find_version_beyond_the_head", lambda s: repo(s).find("acc-1", version=99),
         VersionOutOfRangeError, ("at version 2", "version 99", "from 1 to 2")),
    Case("find_as_of_str", lambda s: repo(s).find("acc-1", as_of="yesterday"), InvalidAsOfError,
         ("as_of must be a datetime", "'yesterday'")),
    Case("find_as_of_int", lambda s: repo(s).find("acc-1", as_of=5), InvalidAsOfError,
         ("as_of must be a datetime", "int")),
    Case("save_empty_entity_id", lambda s: repo(s).save(OpenAccount("x"), entity_id=""),
         InvalidIdError, ("non-empty str", "entity_id=None")),
    Case("find_empty_entity_id", lambda s: repo(s).find(""), InvalidIdError, ("non-empty str",)),
    # units of work: all or nothing
    Case("uow_conflicting_second_stream", uow_conflict, ConcurrencyError,
         ("'acc-1'", "version 2", "expected 1")),
    Case("uow_duplicate_processed_message", uow_redelivery, DuplicateMessageError,
         ("'consumer-a'", "'msg-1'", "redelivery", "nothing was written")),
    Case("uow_same_message_twice", uow_same_message_twice, DuplicateMessageError,
         ("'msg-9'", "nothing was written")),
    Case("uow_own_sql_fails", uow_own_sql_fails, duckdb.CatalogException,
         ("no_such_read_model",)),
    Case("uow_block_raises", uow_block_raises, KeyError, ("the handler crashed",)),
    # bulk seeding
    Case("bulk_malformed_json", bulk(event_data=["{bad"]), SerializationError,
         ("bulk_insert()", "JSON text")),
    Case("bulk_duplicate_version", bulk(entity_id=["acc-1"]), EslabError,
         ("duplicate", "nothing was inserted")),
    Case("bulk_missing_column", bulk(event_type=None), ValueError,
         ("needs the columns", "event_type")),
    # a read-only store
    Case("read_only_append", deposit(2), ReadOnlyStoreError, RO, kind="read_only"),
    Case("read_only_repository_save", lambda s: repo(s).save(OpenAccount("x")),
         ReadOnlyStoreError, RO, kind="read_only"),
    Case("read_only_unit_of_work", uow_redelivery, ReadOnlyStoreError, RO, kind="read_only"),
    Case("read_only_checkpoint", lambda s: s.save_checkpoint("p", 3), ReadOnlyStoreError, RO,
         kind="read_only"),
    Case("read_only_snapshot", lambda s: s.save_snapshot(ACC, "acc-1", 2, "BankAccount", "{}"),
         ReadOnlyStoreError, RO, kind="read_only"),
    Case("read_only_mark_published", lambda s: s.mark_published([1]), ReadOnlyStoreError, RO,
         kind="read_only"),
    Case("read_only_bulk_insert", bulk(), ReadOnlyStoreError, RO, kind="read_only"),
    # what DuckDB used to raise raw: eslab errors that say what to do
    Case("load_up_to_version_str", lambda s: s.load(ACC, "acc-1", up_to_version="2"),
         BadInputError, ("up_to_version", "'2'")),
    Case("load_as_of_date", lambda s: s.load_events(ACC, "acc-1", as_of=date(2024, 1, 1)),
         BadInputError, ("as_of", "datetime", "date")),
    Case("read_only_while_open_read_write", lambda s: second_store(s, read_only=True),
         StoreLockedError, ("already has", "open read-write", "close"), kind="file"),
    Case("read_write_while_open_read_only", lambda s: second_store(s),
         StoreLockedError, ("already has", "open read-only"), kind="read_only"),
    Case("file_that_is_not_a_database", open_junk, NotAStoreError,
         ("notes.duckdb", "not a DuckDB database", "new path"), kind="file"),
    Case("read_only_store_file_missing", open_missing, StoreNotFoundError,
         ("missing.duckdb", "no store file", "EventStore(path)"), kind="file"),
    Case("append_on_a_closed_store", lambda s: deposit(2)(closed_copy(s)), StoreClosedError,
         ("is closed", "Open it again"), kind="file"),
    Case("load_on_a_closed_store", lambda s: closed_copy(s).load(ACC, "acc-1"),
         StoreClosedError, ("is closed",), kind="file"),
    Case("find_on_a_closed_store", lambda s: repo(closed_copy(s)).find("acc-1"),
         StoreClosedError, ("is closed",), kind="file"),
    Case("sql_on_a_closed_store", lambda s: closed_copy(s).sql("SELECT 1"),
         StoreClosedError, ("is closed",), kind="file"),
    Case("unit_of_work_on_a_closed_store", lambda s: uow_conflict(closed_copy(s)),
         StoreClosedError, ("is closed",), kind="file"),
    Case("checkpoint_on_a_closed_store", lambda s: closed_copy(s).save_checkpoint("p", 1),
         StoreClosedError, ("is closed",), kind="file"),
]
# fmt: on
BAD_INPUT_CASES = len(CASES) + 1  # + the full-disk test below
"""Figure for the README's Guarantees section."""


@pytest.fixture
def store_for(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], EventStore]]:
    made: list[EventStore] = []

    def make(kind: str) -> EventStore:
        url = request.getfixturevalue("pg_url") if kind == "postgres" else None
        made.append(make_store(kind, tmp_path, url))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


def test_the_readme_names_this_many_cases() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"**Bad input** — {BAD_INPUT_CASES} cases" in readme


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_clearly_and_writes_nothing(
    case: Case, store_for: Callable[[str], EventStore]
) -> None:
    check_case(case, store_for(case.kind))


ENGINE_NEUTRAL_CASES = list(
    {
        c.name: c
        for c in reversed(CASES)  # a name listed twice: its first entry
        if c.kind == "memory" and not issubclass(c.error, duckdb.Error)
    }.values()
)
"""The cases about the store's API, not about DuckDB files: they run on PostgreSQL too.

Left out: cases whose own SQL raises the driver's error by design (DuckDB's here; on
PostgreSQL it is psycopg's), and the file cases (locks, read-only files, legacy files)."""


@pytest.mark.parametrize("case", ENGINE_NEUTRAL_CASES, ids=str)
def test_bad_input_is_refused_the_same_way_on_postgresql(
    case: Case, store_for: Callable[[str], EventStore]
) -> None:
    check_case(case, store_for("postgres"))


def check_case(case: Case, store: EventStore) -> None:
    """The case's action raises exactly its error, says its words, and writes nothing."""
    if case.setup is not None:
        case.setup(store)
    before = fingerprint(store)
    with pytest.raises(case.error) as info:
        case.action(store)
    assert type(info.value) is case.error, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    missing = [w for w in case.words if w.lower() not in message.lower()]
    assert not missing, f"message lacks {missing}: {message}"
    assert fingerprint(store) == before, "a refused input left a trace"


def test_snapshot_of_an_unknown_class_version_is_skipped_not_used(
    store_for: Callable[[str], EventStore],
) -> None:
    """An old (or newer) class version with no upcaster: ignored, state replayed from events."""
    store = store_for("memory")
    store.save_snapshot(
        ACC,
        "acc-1",
        2,
        "BankAccount",
        '{"owner": "ann", "balance": -1}',
        snapshot_version=BankAccount.class_version + 1,
    )
    strategy = SnapshotStrategy(every=None)
    before = fingerprint(store)
    found = repo(store, snapshots=strategy).find("acc-1")
    assert (found.balance, found.version, strategy.ignored) == (150, 2, 1)
    assert fingerprint(store) == before


def test_read_only_store_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError, match="must already exist") as info:
        EventStore(tmp_path / "nothing-here.duckdb", read_only=True)
    assert isinstance(info.value, FileNotFoundError)  # what Python code catches for files
    assert not (tmp_path / "nothing-here.duckdb").exists()


# was: a DuckDB error no check foresaw (here: a table dropped by hand) reached the caller raw
def test_an_unforeseen_duckdb_error_becomes_a_store_error_with_its_cause(
    store_for: Callable[[str], EventStore],
) -> None:
    store = store_for("memory")
    store.sql("DROP TABLE checkpoints")
    with pytest.raises(StoreError, match="open it once read-write") as info:
        store.checkpoint("projector")
    assert isinstance(info.value.__cause__, duckdb.CatalogException)


# your own SQL keeps DuckDB's errors (the README says so); a closed store is not your SQL
def test_own_sql_raises_duckdbs_error(store_for: Callable[[str], EventStore]) -> None:
    store = store_for("memory")
    with pytest.raises(duckdb.CatalogException):
        store.sql("SELECT * FROM no_such_table")
    store.close()
    with pytest.raises(StoreClosedError):
        store.sql("SELECT 1")
    assert store.closed


# was: a mistyped value was written, and update() returned it while find() read another type
def test_update_returns_what_find_returns(store_for: Callable[[str], EventStore]) -> None:
    store = store_for("memory")
    with pytest.raises(FieldTypeError):
        store.append(ACC, "acc-1", [BadInputLent("m-1", "2024-01-01")], 2)
    updated = repo(store).update("acc-1", Deposit(5))
    assert updated == repo(store).find("acc-1")


# -- ids that look like SQL: stored verbatim, never executed -----------------------------

TRICKY_IDS = [
    "x'); DROP TABLE events; --",
    "'; DELETE FROM events WHERE '1'='1",
    '"; DROP TABLE snapshots; --',
    "Robert'); DROP TABLE processed_messages;--",
    "SELECT * FROM events",
    "$1 $id ? %s {id} :id",
    "a\\b\\'c",
    "line\nbreak\ttab\r",
    "nul\x00byte",
    "한글 ✓ 🚀",
    "x" * 100_000,
]


@pytest.mark.parametrize("tricky", TRICKY_IDS, ids=lambda s: repr(s[:24]))
def test_tricky_ids_round_trip_verbatim(
    tricky: str, store_for: Callable[[str], EventStore]
) -> None:
    store = store_for("memory")
    tables = store.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1")["table_name"].tolist()
    positions = store.last_position()
    meta = EventMetadata(correlation_id=tricky, causation_id=tricky)
    assert store.append(tricky, tricky, [BadInputBag(tricky)] * 2, 0, metadata=meta) == 2
    with store.unit_of_work() as uow:
        uow.record_processed(tricky, tricky)
    store.save_checkpoint(tricky, 7)
    store.save_snapshot(tricky, tricky, 2, tricky, '{"owner": "t", "balance": 1}')

    loaded = store.load(tricky, tricky)
    assert [(e.entity_type, e.entity_id, e.entity_version) for e in loaded] == [
        (tricky, tricky, 1),
        (tricky, tricky, 2),
    ]
    assert [e.event for e in loaded] == [BadInputBag(tricky)] * 2
    assert loaded[0].metadata.correlation_id == tricky
    assert store.head(tricky, tricky) == 2
    assert store.heads([(tricky, tricky), (ACC, "acc-1")]) == {
        (tricky, tricky): 2,
        (ACC, "acc-1"): 2,
    }
    assert [e.entity_id for e in store.read_all(entity_type=tricky)] == [tricky] * 2
    assert (
        store.to_dataframe(entity_type=tricky, entity_id=tricky)["entity_id"].tolist()
        == [tricky] * 2
    )
    assert store.was_processed(tricky, tricky) and not store.was_processed(tricky, "other")
    assert store.checkpoint(tricky) == 7
    assert store.latest_snapshot(tricky, tricky)["snapshot_type"] == tricky
    # nothing was executed: same tables, everyone else's rows untouched
    after = store.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1")["table_name"].tolist()
    assert after == tables
    assert store.last_position() > positions
    assert store.head(ACC, "acc-1") == 2 and store.checkpoint("projector") == 2
    assert store.was_processed("consumer-a", "msg-1")
    counts = (
        store.sql(
            "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM snapshots) AS s"
        )
        .iloc[0]
        .tolist()
    )
    assert counts == [5, 2]


# -- a full disk --------------------------------------------------------------------------


def test_full_disk_raises_storage_full_and_keeps_earlier_data(tmp_path: Path) -> None:
    """A file-size limit (RLIMIT_FSIZE) in a child: appends fail with StorageFullError,
    and after reopening every acknowledged append is there and nothing half-written."""
    path, out = tmp_path / "full.duckdb", tmp_path / "full.out"
    proc = rh.child_context().Process(target=rh.fill_disk, args=(str(path), str(out)))
    proc.start()
    proc.join(60)
    lines = rh.read_lines(out)
    assert proc.exitcode == 0, lines
    error = next(line for line in lines if line.startswith("error "))
    assert error.startswith("error eslab.errors.StorageFullError"), error
    assert "disk is full" in error and "free space and retry" in error
    acked = [line for line in lines if line.startswith("ack ")]
    assert len(acked) >= 2
    with EventStore(path) as store:  # reopened as it is: no repair
        counts = rh.check_commands(store, {"full": acked})
    assert counts["commands"] == len(acked), "the refused command left events behind"


# -- gaps this suite found, now fixed (each test is the bug it showed) ---------------------


# was: bulk_insert() right after last_position() (or any fetchone() read) raises a raw
#   duckdb.ResourceInUseException: the thread's cursor still holds an unfinished result when
#   register() runs
def test_bulk_insert_after_a_read() -> None:
    store = EventStore()
    store.last_position()
    assert bulk()(store) == 1


# was: events whose fields are all str/int/float/bool are decoded with cls(**data) without type
#   checks, so a stored {'amount': 'ten'} loads as MoneyDeposited(amount='ten')
def test_stored_json_of_the_wrong_type_is_refused(store_for: Callable[[str], EventStore]) -> None:
    store = store_for("memory")
    _raw_event(store, "raw-7", "MoneyDeposited", '{"amount": "ten"}')
    with pytest.raises(SerializationError, match="does not match the class"):
        store.load(ACC, "raw-7")


# was: NaN is refused but ±Infinity is stored as the non-standard JSON token Infinity, which
#   other JSON readers reject
def test_infinite_float_is_refused_like_nan(store_for: Callable[[str], EventStore]) -> None:
    store = store_for("memory")
    before = fingerprint(store)
    with pytest.raises(SerializationError, match="Infinity"):
        bag(math.inf)(store)
    assert fingerprint(store) == before


# was: bulk_insert() says 'would duplicate' for any constraint error, e.g. entity_version 0 (a
#   CHECK constraint)
def test_bulk_insert_version_zero_is_named(store_for: Callable[[str], EventStore]) -> None:
    store = store_for("memory")
    with pytest.raises(EslabError) as info:
        bulk(entity_version=[0])(store)
    assert "duplicate" not in str(info.value)


# was: the MAX_EVENT_BYTES check counts characters, not bytes: Korean text (3 bytes a character
#   in UTF-8) passes at 3× the limit
def test_payload_limit_counts_utf8_bytes(store_for: Callable[[str], EventStore]) -> None:
    store = store_for("memory")
    before = fingerprint(store)
    with pytest.raises(SerializationError, match="limit"):
        bag("한" * (MAX_EVENT_BYTES // 3 + 10))(store)
    assert fingerprint(store) == before


RAW_ERRORS = {
    "save_checkpoint_position_str": lambda s: s.save_checkpoint("p", "abc"),
    "save_checkpoint_position_bool": lambda s: s.save_checkpoint("p", True),
    "save_checkpoint_name_none": lambda s: s.save_checkpoint(None, 3),
    "save_snapshot_malformed_json": lambda s: s.save_snapshot(
        ACC, "acc-1", 2, "BankAccount", "{bad"
    ),
    "read_all_negative_limit": lambda s: s.read_all(limit=-1),
    "lone_surrogate_in_id": lambda s: s.append(ACC, "id-\ud800", [MoneyDeposited(1)], 0),
    "lone_surrogate_in_payload": bag("text-\udc80"),
    "read_all_up_to_position_str": lambda s: s.read_all(up_to_position="3"),
    "read_all_event_types_a_str": lambda s: s.read_all(event_types="MoneyDeposited"),
    "read_all_entity_type_int": lambda s: s.read_all(entity_type=3),
    "unpublished_limit_str": lambda s: s.unpublished("10"),
    "mark_published_str": lambda s: s.mark_published(["1"]),
    "latest_snapshot_version_str": lambda s: s.latest_snapshot(ACC, "acc-2", "1"),
    "to_dataframe_after_str": lambda s: s.to_dataframe(after_position="0"),
    "heads_not_pairs": lambda s: s.heads(["acc-1"]),
    "save_snapshot_version_str": lambda s: s.save_snapshot(ACC, "acc-1", "2", "B", "{}"),
    "checkpoint_name_int": lambda s: s.checkpoint(7),
    "in_memory_read_only": lambda s: EventStore(read_only=True),
    "path_not_a_path": lambda s: EventStore(42),
}


# was: these public calls check no argument, so the learner gets a raw duckdb error (or a silent
#   bool→1) instead of a BadInputError saying what to pass
@pytest.mark.parametrize("name", list(RAW_ERRORS))
def test_public_calls_check_their_arguments(
    name: str, store_for: Callable[[str], EventStore]
) -> None:
    store = store_for("memory")
    before = fingerprint(store)
    try:
        with pytest.raises(BadInputError):
            RAW_ERRORS[name](store)
    finally:
        assert fingerprint(store) == before
