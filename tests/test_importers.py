"""Importers: Eventuate Local's events table, eventsourcing's SQLite file, the shipped samples."""

from __future__ import annotations

import csv
import importlib.util
import json
import sqlite3
import zlib
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from eslab import AggregateRepository, EventStore
from eslab.domain.bank import BankAccount
from eslab.frame import EventTableError, MalformedColumnError, UnmappedColumnError
from eslab.importers import (
    EVENTUATE_COLUMNS,
    SAMPLES,
    eventuate_time,
    load_into_store,
    read_eventsourcing_sqlite,
    read_eventuate_events,
    sample_path,
)
from eslab.messaging import MessageBroker
from eslab.publishing import PollingPublisher


def make_samples() -> ModuleType:
    """data/samples/make_samples.py, imported from its path (data/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- Eventuate Local ------------------------------------------------------------------------


def write_eventuate(path: Path, rows: list[dict[str, object]], header: list[str]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


BOOK_ROWS = [  # the book's figure: ids are plain numbers, rows out of order on purpose
    {
        "event_id": "103",
        "event_type": "OrderApproved",
        "entity_type": "Order",
        "entity_id": "101",
        "event_data": "{}",
    },
    {
        "event_id": "99",
        "event_type": "OrderCreated",
        "entity_type": "Order",
        "entity_id": "101",
        "event_data": '{"total": 10}',
    },
    {
        "event_id": "104",
        "event_type": "OrderShipped",
        "entity_type": "Order",
        "entity_id": "101",
        "event_data": "{}",
    },
    {
        "event_id": "102",
        "event_type": "OrderCreated",
        "entity_type": "Order",
        "entity_id": "202",
        "event_data": "{}",
    },
]
BOOK_HEADER = ["event_id", "event_type", "event_data", "entity_type", "entity_id"]


def test_book_style_rows_get_versions_in_numeric_id_order(tmp_path: Path) -> None:
    frame = read_eventuate_events(write_eventuate(tmp_path / "e.csv", BOOK_ROWS, BOOK_HEADER))
    assert frame["event_id"].tolist() == ["99", "102", "103", "104"]  # 99 before 102
    assert frame["position"].tolist() == [1, 2, 3, 4]
    assert frame["stream"].tolist() == ["Order 101", "Order 202", "Order 101", "Order 101"]
    assert frame["entity_version"].tolist() == [1, 1, 2, 3]
    assert frame["created_at"].isna().all()  # plain numbers carry no time


def test_the_shipped_eventuate_sample() -> None:
    frame = read_eventuate_events(sample_path("eventuate_events.csv"))
    assert len(frame) == 41
    assert set(frame["entity_type"]) == {"Order", "Ticket", "Account"}
    assert frame["event_id"].is_monotonic_increasing
    for _, stream in frame.groupby("stream"):
        assert stream["entity_version"].tolist() == list(range(1, len(stream) + 1))
    first = frame.iloc[0]
    assert first["created_at"] == pd.Timestamp("2024-03-04 11:30:00")
    assert first["created_at"] == eventuate_time(first["event_id"])
    assert frame["created_at"].is_monotonic_increasing
    assert frame["published"].tolist()[-4:] == [True, False, False, False]
    ticket = frame[frame["event_type"] == "TicketCreatedEvent"].iloc[0]
    order = frame[frame["event_type"] == "OrderCreatedEvent"].iloc[0]
    assert ticket["triggering_event"].startswith(f"etpo:{order['event_id']}:")
    assert json.loads(order["event_data"])["restaurantName"] == "Ajanta"


def test_long_java_names_can_be_kept() -> None:
    frame = read_eventuate_events(sample_path("eventuate_events.csv"), short_names=False)
    assert frame["entity_type"].iloc[0] == (
        "net.chrisrichardson.ftgo.accountingservice.domain.Account"
    )


def test_eventuate_time_reads_the_milliseconds_in_the_id() -> None:
    assert eventuate_time("0000018e093a4ec0-0242ac1200060000") == pd.Timestamp(
        0x18E093A4EC0, unit="ms"
    )
    assert eventuate_time("102") is None


def test_eventuate_rows_from_a_dataframe() -> None:
    frame = read_eventuate_events(pd.DataFrame(BOOK_ROWS))
    assert frame["entity_version"].tolist() == [1, 1, 2, 3]


@pytest.mark.parametrize("missing", EVENTUATE_COLUMNS[:5])
def test_eventuate_without_a_required_column_names_it(tmp_path: Path, missing: str) -> None:
    header = [c for c in BOOK_HEADER if c != missing]
    rows = [{k: v for k, v in r.items() if k != missing} for r in BOOK_ROWS]
    with pytest.raises(UnmappedColumnError, match=f"no column '{missing}'") as e:
        read_eventuate_events(write_eventuate(tmp_path / "e.csv", rows, header))
    assert e.value.column == missing


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("event_data", "{oops", r"Column event_data in row 2: the payload is not valid JSON"),
        ("entity_type", "", r"Column entity_type in row 2: the stream type is empty"),
        ("entity_id", "", r"Column entity_id in row 2: the stream id is empty"),
        ("event_id", "103", r"Column event_id in row \d: two events have the same id"),
        ("metadata", "not json", r"Column metadata in row 2: .*not valid JSON"),
        ("published", "yes please", r"Column published in row 2: must be 0/1"),
    ],
)
def test_malformed_eventuate_rows_name_the_column(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    header = EVENTUATE_COLUMNS
    rows = [dict(r, triggering_event="", metadata="", published="1") for r in BOOK_ROWS]
    rows[1][column] = value
    with pytest.raises(MalformedColumnError, match=message) as e:
        read_eventuate_events(write_eventuate(tmp_path / "e.csv", rows, header))
    assert e.value.column == column


def test_a_broken_csv_file_is_an_event_table_error(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text('event_id,event_type\n"1,unclosed quote\n')
    with pytest.raises(EventTableError):
        read_eventuate_events(path)


# -- eventsourcing's SQLite file --------------------------------------------------------------


def test_the_shipped_eventsourcing_sample() -> None:
    frame = read_eventsourcing_sqlite(sample_path("eventsourcing_stored_events.sqlite"))
    assert len(frame) == 14
    assert frame["position"].tolist() == list(range(1, 15))
    assert set(frame["entity_type"]) == {"BankAccount"}
    assert frame["event_type"].iloc[:3].tolist() == [
        "AccountOpened",
        "AccountOpened",
        "MoneyDeposited",
    ]
    assert frame["created_at"].iloc[1] == pd.Timestamp("2024-03-01 09:07")
    assert json.loads(frame["event_data"].iloc[0]) == {"owner": "ada", "initial_deposit": 50}
    meta = json.loads(frame["metadata"].iloc[0])
    assert meta == {
        "topic": "bankapp:BankAccount.AccountOpened",
        "originator_topic": "bankapp:BankAccount",
    }
    ada = frame[frame["entity_id"] == frame["entity_id"].iloc[0]]
    assert ada["entity_version"].tolist() == [1, 2, 3, 4]


def make_sqlite(path: Path, rows: list[tuple[object, ...]], ddl: str | None = None) -> Path:
    with sqlite3.connect(path) as con:
        con.execute(
            ddl
            or "CREATE TABLE stored_events (originator_id TEXT, originator_version "
            "INTEGER, topic TEXT, state BLOB, PRIMARY KEY (originator_id, "
            "originator_version))"
        )
        con.executemany(f"INSERT INTO stored_events VALUES ({','.join('?' * len(rows[0]))})", rows)
    con.close()
    return path


GOOD_STATE = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2024-01-01T00:00:00+00:00"}}'


def test_topics_without_an_owner_and_typed_values_are_read(tmp_path: Path) -> None:
    state = (
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2024-01-01T10:00:00+02:00"},'
        b'"price":{"_type_":"decimal_str","_data_":"9.50"}}'
    )
    path = make_sqlite(tmp_path / "x.sqlite", [("id1", 1, "shop:PriceSet", state)])
    frame = read_eventsourcing_sqlite(path)
    assert (frame["entity_type"].item(), frame["event_type"].item()) == ("Aggregate", "PriceSet")
    assert json.loads(frame["event_data"].item()) == {"price": "9.50"}
    assert frame["created_at"].item() == pd.Timestamp("2024-01-01 08:00")


def test_a_missing_stored_events_column_is_named(tmp_path: Path) -> None:
    ddl = "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, state BLOB)"
    path = make_sqlite(tmp_path / "x.sqlite", [("id1", 1, GOOD_STATE)], ddl)
    with pytest.raises(UnmappedColumnError, match="no column 'topic'") as e:
        read_eventsourcing_sqlite(path)
    assert e.value.column == "topic"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("id1", 1, "bank:Account.Opened", zlib.compress(b'{"a": 1}')), r"Column state .*row 1"),
        (("id1", 1, "bank:Account.Opened", b"[1, 2]"), r"state .*not an object"),
        (("id1", 1, "no-colon", GOOD_STATE), r"Column topic .*row 1: is not a topic"),
        (("id1", "x", "bank:Account.Opened", GOOD_STATE), r"originator_version .*whole number"),
        (("id1", 0, "bank:Account.Opened", GOOD_STATE), r"originator_version .*≥ 1"),
        ((None, 1, "bank:Account.Opened", GOOD_STATE), r"originator_id .*empty"),
    ],
)
def test_malformed_stored_events_name_the_column(
    tmp_path: Path, row: tuple[object, ...], message: str
) -> None:
    path = make_sqlite(
        tmp_path / "x.sqlite",
        [row],
        "CREATE TABLE stored_events "
        "(originator_id TEXT, originator_version, topic TEXT, state BLOB)",
    )
    with pytest.raises(MalformedColumnError, match=message):
        read_eventsourcing_sqlite(path)


def test_a_compressed_state_gets_advice(tmp_path: Path) -> None:
    path = make_sqlite(
        tmp_path / "x.sqlite", [("id1", 1, "bank:Account.Opened", zlib.compress(b"{}"))]
    )
    with pytest.raises(MalformedColumnError, match="COMPRESSOR_TOPIC"):
        read_eventsourcing_sqlite(path)


def test_wrong_files_and_tables_say_so(tmp_path: Path) -> None:
    with pytest.raises(EventTableError, match="No file at"):
        read_eventsourcing_sqlite(tmp_path / "nope.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EventTableError, match="Cannot read junk.sqlite as SQLite"):
        read_eventsourcing_sqlite(junk)
    path = make_sqlite(tmp_path / "x.sqlite", [("id1", 1, "a:B.C", GOOD_STATE)])
    with pytest.raises(EventTableError, match=r"no table 'events'; it has \['stored_events'\]"):
        read_eventsourcing_sqlite(path, table="events")
    with pytest.raises(EventTableError, match="plain table name"):
        read_eventsourcing_sqlite(path, table="x; DROP TABLE stored_events")


# -- into an eslab store ----------------------------------------------------------------------


def test_imported_bank_events_load_into_a_store_and_replay() -> None:
    frame = read_eventsourcing_sqlite(sample_path("eventsourcing_stored_events.sqlite"))
    store = EventStore()
    assert load_into_store(frame, store) == 14
    assert store.last_position() == 14
    stored = store.to_dataframe()
    assert stored["event_type"].tolist() == frame["event_type"].tolist()  # order kept
    grace = frame.loc[frame["position"] == 2, "entity_id"].item()
    account = AggregateRepository(store, BankAccount).find(grace)
    assert (account.owner, account.balance, account.version) == ("grace", 65, 4)


def test_eventuate_events_keep_their_ids_in_a_store() -> None:
    frame = read_eventuate_events(sample_path("eventuate_events.csv"))
    store = EventStore()
    load_into_store(frame, store)
    stored = store.to_dataframe()
    assert stored["event_id"].tolist() == frame["event_id"].tolist()
    assert stored["created_at"].tolist() == frame["created_at"].tolist()


EVENTUATE_BANK = [  # a bank's Eventuate log: the third was never relayed; the fourth has no flag
    ("0000018e093a4ec0-01", "AccountOpened", '{"owner": "ann", "initial_deposit": 5}', "1"),
    ("0000018e093a4ec1-01", "MoneyDeposited", '{"amount": 7}', "1"),
    ("0000018e093a4ec2-01", "MoneyDeposited", '{"amount": 8}', "0"),
    ("0000018e093a4ec3-01", "MoneyDeposited", '{"amount": 9}', ""),
]  # fmt: skip


def eventuate_bank(tmp_path: Path, published: bool = True) -> pd.DataFrame:
    header = EVENTUATE_COLUMNS if published else EVENTUATE_COLUMNS[:-1]
    rows = [
        {"event_id": i, "event_type": f"com.bank.{t}", "event_data": d,
         "entity_type": "com.bank.BankAccount", "entity_id": "acc-1", "published": p}
        for i, t, d, p in EVENTUATE_BANK
    ]  # fmt: skip
    if not published:
        for row in rows:
            del row["published"]
    return read_eventuate_events(write_eventuate(tmp_path / "events.csv", rows, header))


def polled_after_import(frame: pd.DataFrame, **option: object) -> tuple[list[str], int]:
    """Import, then let a polling publisher run: (event ids it sent, events imported)."""
    store = EventStore()
    count = load_into_store(frame, store, **option)  # type: ignore[arg-type]
    assert AggregateRepository(store, BankAccount).find("acc-1").balance == 29
    broker = MessageBroker()
    PollingPublisher(store, broker).run()
    sent = [m.id for messages in broker.topics.values() for m in messages]
    return sent, count


def test_eventuate_published_flags_are_kept_so_a_poller_sends_only_the_unsent(
    tmp_path: Path,
) -> None:
    # "0" is unsent; an empty flag counts as published like a source without the column
    sent, count = polled_after_import(eventuate_bank(tmp_path))
    assert count == 4 and sent == [EVENTUATE_BANK[2][0]]


def test_imported_history_without_flags_counts_as_published(tmp_path: Path) -> None:
    frame = eventuate_bank(tmp_path, published=False)
    assert frame["published"].isna().all()
    assert polled_after_import(frame) == ([], 4)


def test_published_true_or_false_overrides_the_source(tmp_path: Path) -> None:
    frame = eventuate_bank(tmp_path)
    assert polled_after_import(frame, published=True) == ([], 4)
    sent, _ = polled_after_import(frame, published=False)
    assert sent == [row[0] for row in EVENTUATE_BANK]


def test_the_shipped_eventuate_sample_keeps_its_three_unsent_events() -> None:
    frame = read_eventuate_events(sample_path("eventuate_events.csv"))
    store = EventStore()
    load_into_store(frame, store)
    unsent = store.sql("SELECT event_id FROM events WHERE NOT published ORDER BY position")
    expected = frame.loc[~frame["published"].astype(bool), "event_id"].tolist()
    assert unsent["event_id"].tolist() == expected and len(expected) == 3


@pytest.mark.parametrize("option", ["yes", 1, None])
def test_a_bad_published_option_is_refused_and_writes_nothing(option: object) -> None:
    store = EventStore()
    with pytest.raises(EventTableError, match='published must be "keep", True or False'):
        load_into_store(
            read_eventuate_events(sample_path("eventuate_events.csv")), store, published=option
        )  # type: ignore[arg-type]
    assert store.last_position() == 0


# -- the shipped samples are what make_samples.py makes ----------------------------------------


def test_sample_path_explains_a_missing_sample() -> None:
    with pytest.raises(EventTableError, match="make_samples.py"):
        sample_path("nope.csv")


def test_eventuate_csv_is_remade_byte_for_byte(tmp_path: Path) -> None:
    make_samples().write_eventuate_csv(tmp_path / "e.csv")
    assert (tmp_path / "e.csv").read_bytes() == sample_path("eventuate_events.csv").read_bytes()


def test_sqlite_sample_rows_equal_the_plain_sqlite_fallback(tmp_path: Path) -> None:
    module = make_samples()
    assert module.write_eventsourcing_sqlite(tmp_path / "s.sqlite", use_library=False) == "sqlite3"
    query = "SELECT rowid, * FROM stored_events ORDER BY rowid"
    with sqlite3.connect(sample_path("eventsourcing_stored_events.sqlite")) as shipped:
        want = shipped.execute(query).fetchall()
        ddl = shipped.execute("SELECT sql FROM sqlite_master WHERE name='stored_events'")
        want_ddl = ddl.fetchone()[0]
    with sqlite3.connect(tmp_path / "s.sqlite") as made:
        assert made.execute(query).fetchall() == want
        got_ddl = made.execute("SELECT sql FROM sqlite_master WHERE name='stored_events'")
        assert got_ddl.fetchone()[0] == want_ddl


def test_orders_parquet_is_remade() -> None:
    remade = make_samples().orders_table()
    shipped = pd.read_parquet(sample_path("orders.parquet"))
    pd.testing.assert_frame_equal(remade.reset_index(drop=True), shipped, check_dtype=False)


def test_reading_the_sqlite_sample_leaves_no_files_beside_it() -> None:
    path = sample_path("eventsourcing_stored_events.sqlite")
    read_eventsourcing_sqlite(path)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    con.close()
    assert not path.with_name(path.name + "-wal").exists()
    assert not path.with_name(path.name + "-shm").exists()
