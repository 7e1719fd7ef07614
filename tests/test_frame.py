"""events_frame(): any table of events → eslab's frame, with errors that name the column."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from eslab import AggregateRepository, EventStore, FixedClock, SeededIds
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.frame import (
    COLUMNS,
    EXTRA_COLUMNS,
    EventTableError,
    MalformedColumnError,
    UnmappedColumnError,
    synthetic_frame,
)
from eslab.viz import events_frame, timeline

FRAME_COLUMNS = COLUMNS + EXTRA_COLUMNS + ["stream"]


@pytest.fixture
def store() -> EventStore:
    store = EventStore(
        clock=FixedClock(datetime(2024, 1, 1, 12), timedelta(minutes=1)), id_factory=SeededIds(3)
    )
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ada", 10), entity_id="acc-1")
    repo.save(OpenAccount("bob", 0), entity_id="acc-2")
    repo.update("acc-1", Deposit(5))
    return store


def foreign() -> pd.DataFrame:
    """A log with its own column names, rows not in order."""
    return pd.DataFrame(
        {
            "acct": ["a2", "a1", "a1", "a2"],
            "kind": ["Opened", "Opened", "Deposited", "Deposited"],
            "seq": [1, 1, 2, 2],
            "at": [
                "2024-02-01T10:01:00Z",
                "2024-02-01T10:00:00Z",
                "2024-02-01T10:05:00Z",
                "2024-02-01T11:07:00+01:00",
            ],
            "body": ['{"owner": "b"}', '{"owner": "a"}', '{"amount": 3}', '{"amount": 4}'],
        }
    )


FOREIGN_MAP = {
    "stream_id": "acct",
    "event_type": "kind",
    "version": "seq",
    "timestamp": "at",
    "payload": "body",
    "stream_type": None,
}


# -- eslab sources (what the timeline always accepted) -----------------------------------------


def test_store_gives_the_standard_frame_by_position(store: EventStore) -> None:
    frame = events_frame(store)
    assert list(frame.columns) == FRAME_COLUMNS
    assert frame["position"].tolist() == [1, 2, 3]
    assert frame["stream"].tolist() == [
        "BankAccount acc-1",
        "BankAccount acc-2",
        "BankAccount acc-1",
    ]
    assert frame["entity_version"].tolist() == [1, 1, 2]
    assert frame["event_data"].iloc[2] == '{"amount":5}'
    assert frame["schema_version"].tolist() == [1, 1, 1]


def test_stored_events_and_store_dataframe_give_the_same_core(store: EventStore) -> None:
    from_events = events_frame(store.read_all())
    from_df = events_frame(store.to_dataframe())
    for frame in (from_events, from_df):
        assert frame[COLUMNS].equals(events_frame(store)[COLUMNS])
    assert from_events["event_data"].tolist() == from_df["event_data"].tolist()


def test_a_frame_passes_through_unchanged_and_the_timeline_draws_it(store: EventStore) -> None:
    frame = events_frame(store)
    again = events_frame(frame)
    assert again.equals(frame) and again is not frame
    fig = timeline(frame)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "BankAccount acc-1",
        "BankAccount acc-2",
    ]


# -- any table, with a column mapping ------------------------------------------------------------


def test_mapping_renames_orders_by_time_and_converts_times_to_utc() -> None:
    frame = events_frame(foreign(), FOREIGN_MAP, stream_type="Account")
    assert frame["stream"].tolist() == ["Account a1", "Account a2", "Account a1", "Account a2"]
    assert frame["position"].tolist() == [1, 2, 3, 4]  # numbered in time order
    assert frame["event_type"].tolist() == ["Opened", "Opened", "Deposited", "Deposited"]
    assert frame["created_at"].iloc[3] == pd.Timestamp("2024-02-01 10:07:00")  # 11:07+01:00 in UTC
    assert frame["event_data"].iloc[0] == '{"owner": "a"}'


def test_versions_are_counted_when_the_table_has_none() -> None:
    table = foreign().drop(columns="seq")
    frame = events_frame(table, FOREIGN_MAP | {"version": None}, stream_type="Account")
    assert frame["entity_version"].tolist() == [1, 1, 2, 2]


def test_mapping_with_eslab_names_and_aliases_gives_the_same_frame() -> None:
    eslab_names = {
        "entity_id": "acct",
        "event_type": "kind",
        "entity_version": "seq",
        "created_at": "at",
        "event_data": "body",
        "entity_type": None,
    }
    a = events_frame(foreign(), FOREIGN_MAP, stream_type="X")
    b = events_frame(foreign(), eslab_names, stream_type="X")
    assert a.equals(b)


def test_a_dict_payload_is_stored_as_json_text() -> None:
    table = foreign().assign(body=[{"owner": "b"}, {"owner": "a"}, {"amount": 3}, None])
    frame = events_frame(table, FOREIGN_MAP, stream_type="X")
    assert frame["event_data"].iloc[0] == '{"owner": "a"}'
    assert pd.isna(frame["event_data"].iloc[3])


# -- files and databases -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_csv_tsv_and_parquet_files(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"log{suffix}"
    if suffix == ".parquet":
        foreign().to_parquet(path)
    else:
        foreign().to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    frame = events_frame(path, FOREIGN_MAP, stream_type="X")
    assert frame["entity_id"].tolist() == ["a1", "a2", "a1", "a2"]
    assert frame["entity_version"].tolist() == [1, 1, 2, 2]
    assert events_frame(str(path), FOREIGN_MAP, stream_type="X").equals(frame)


def test_csv_keeps_ids_as_text(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "position,entity_type,entity_id,entity_version,event_type\n1,Order,007,1,Created\n"
    )
    assert events_frame(path)["entity_id"].tolist() == ["007"]


def test_duckdb_relation_connection_and_file(tmp_path: Path) -> None:
    con = duckdb.connect()
    log = foreign()
    con.execute("CREATE TABLE log AS SELECT * FROM log")
    by_table = events_frame(con, FOREIGN_MAP, table="log", stream_type="X")
    by_relation = events_frame(
        con.sql("SELECT * FROM log WHERE acct = 'a1'"), FOREIGN_MAP, stream_type="X"
    )
    assert len(by_table) == 4 and by_relation["entity_id"].tolist() == ["a1", "a1"]
    path = tmp_path / "log.duckdb"
    with duckdb.connect(str(path)) as file_con:
        file_con.execute("CREATE TABLE log AS SELECT * FROM log")
    assert events_frame(path, FOREIGN_MAP, table="log", stream_type="X").equals(by_table)
    assert len(log) == 4


def test_pyarrow_table() -> None:
    frame = events_frame(pa.Table.from_pandas(foreign()), FOREIGN_MAP, stream_type="X")
    assert len(frame) == 4


def test_duckdb_without_table_or_with_an_unknown_table_says_so() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE log AS SELECT 1 AS x")
    with pytest.raises(EventTableError, match="table="):
        events_frame(con)
    with pytest.raises(EventTableError, match="No table 'nope'.*log"):
        events_frame(con, table="nope")
    with pytest.raises(EventTableError, match="plain table name"):
        events_frame(con, table="log; DROP TABLE log")


def test_unreadable_sources_say_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(EventTableError, match="No file at"):
        events_frame(tmp_path / "missing.csv")
    with pytest.raises(EventTableError, match="Cannot read events from a int"):
        events_frame(42)
    (tmp_path / "log.xlsx").write_text("x")
    with pytest.raises(EventTableError, match="Cannot tell how to read log.xlsx"):
        events_frame(tmp_path / "log.xlsx")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(EventTableError, match="Cannot read bad.parquet as PARQUET"):
        events_frame(tmp_path / "bad.parquet")
    (tmp_path / "x.sqlite").write_text("")
    with pytest.raises(EventTableError, match="read_eventsourcing_sqlite"):
        events_frame(tmp_path / "x.sqlite")


# -- unmapped columns: the error names the column ----------------------------------------------


def test_missing_stream_id_is_named() -> None:
    with pytest.raises(UnmappedColumnError, match="no column 'entity_id' for the stream id") as e:
        events_frame(foreign())
    assert e.value.field == "entity_id"
    assert "acct" in str(e.value)  # lists the table's columns


def test_a_mapping_to_a_column_that_is_not_there_names_both() -> None:
    with pytest.raises(UnmappedColumnError, match="no column 'when'.*created_at") as e:
        events_frame(foreign(), FOREIGN_MAP | {"timestamp": "when"}, stream_type="X")
    assert e.value.column == "when"


def test_stream_type_must_be_mapped_or_given() -> None:
    with pytest.raises(UnmappedColumnError, match="entity_type.*stream_type="):
        events_frame(foreign(), FOREIGN_MAP)


def test_an_order_is_needed() -> None:
    table = foreign().drop(columns="at")
    with pytest.raises(UnmappedColumnError, match="needs an order"):
        events_frame(table, FOREIGN_MAP | {"timestamp": None}, stream_type="X")


def test_unknown_mapping_keys_and_values_are_refused() -> None:
    with pytest.raises(EventTableError, match="Unknown name 'stream'"):
        events_frame(foreign(), {"stream": "acct"})
    with pytest.raises(EventTableError, match="must be a column name"):
        events_frame(foreign(), {"stream_id": 3})


# -- malformed columns: the error names the column and the row -----------------------------------


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("seq", "two", r"Column seq \(used as entity_version\) in row 1: .*whole number"),
        ("seq", 0, r"seq .*must be ≥ 1"),
        ("seq", 1.5, r"seq .*whole number"),
        ("at", "yesterday", r"Column at \(used as created_at\) in row 1: is not a date"),
        ("body", "{not json", r"Column body \(used as event_data\) in row 1: .*not valid JSON"),
        ("acct", None, r"Column acct \(used as entity_id\) in row 1: .*empty"),
        ("acct", "  ", r"acct .*blank"),
        ("kind", None, r"kind \(used as event_type\) .*empty"),
    ],
)
def test_malformed_values_are_named(column: str, value: object, message: str) -> None:
    table = foreign().astype({column: object})
    table.loc[0, column] = value
    with pytest.raises(MalformedColumnError, match=message) as e:
        events_frame(table, FOREIGN_MAP, stream_type="X")
    assert e.value.column == column and e.value.row == 1


def test_numbers_as_times_are_refused_with_advice() -> None:
    table = foreign().assign(at=[1, 2, 3, 4])
    with pytest.raises(MalformedColumnError, match="at .*holds numbers.*pd.to_datetime"):
        events_frame(table, FOREIGN_MAP, stream_type="X")


def test_duplicate_positions_and_versions_are_named() -> None:
    table = foreign().assign(pos=[1, 2, 2, 3])
    with pytest.raises(MalformedColumnError, match="pos .*same position"):
        events_frame(table, FOREIGN_MAP | {"position": "pos"}, stream_type="X")
    table = foreign().assign(seq=[1, 1, 1, 2])
    with pytest.raises(MalformedColumnError, match="seq .*stream X a1 has version 1 twice"):
        events_frame(table, FOREIGN_MAP, stream_type="X")


def test_malformed_published_flag_is_named() -> None:
    table = foreign().assign(sent=["1", "0", "maybe", "1"])
    with pytest.raises(MalformedColumnError, match="sent .*row 3.*0/1"):
        events_frame(table, FOREIGN_MAP | {"published": "sent"}, stream_type="X")
    ok = events_frame(
        table.assign(sent=["1", "0", "true", "f"]),
        FOREIGN_MAP | {"published": "sent"},
        stream_type="X",
    )
    assert ok["published"].tolist() == [False, True, True, False]


def test_errors_are_bad_input_errors() -> None:
    from eslab.errors import BadInputError

    assert issubclass(UnmappedColumnError, BadInputError)
    assert issubclass(MalformedColumnError, ValueError)


# -- drawing many events -------------------------------------------------------------------------


def test_synthetic_frame_is_repeatable_and_well_formed() -> None:
    a, b = synthetic_frame(5_000, 50, seed=1), synthetic_frame(5_000, 50, seed=1)
    assert a.equals(b)
    assert len(a) == 5_000 and a["position"].is_unique
    first = a.groupby("stream").head(1)
    assert set(first["event_type"]) <= {
        "OrderCreated",
        "TicketCreated",
        "AccountCreated",
        "Compensated",
    }
    assert not synthetic_frame(5_000, 50, seed=2).equals(a)
