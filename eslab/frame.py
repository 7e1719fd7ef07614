"""Turn whatever holds events into one tidy DataFrame the pictures can draw.

Any event log has the same few things in it, whatever the columns are called: a stream
(an aggregate's id and type), a version per stream, an order (a global position or a
timestamp), an event type and a payload. :func:`events_frame` reads an eslab store, a
list of ``StoredEvent`` or **any table of events** — a pandas DataFrame, a CSV or Parquet
file, a DuckDB table — and renames its columns to eslab's (the Eventuate Local names the
book prints)::

    events_frame("orders.parquet", columns={"stream_id": "order_id", "stream_type": None,
                 "version": "seq", "timestamp": "at", "event_type": "kind",
                 "payload": "body"}, stream_type="Order")

A column that is missing (and not mapped) or holds values that cannot be what it should
be raises an :class:`EventTableError` that names the column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eslab.errors import BadInputError
from eslab.events import StoredEvent

COLUMNS = ["position", "entity_type", "entity_id", "entity_version", "event_type", "created_at"]
"""The columns every picture needs (one row per event)."""

EXTRA_COLUMNS = [
    "event_id",
    "schema_version",
    "event_data",
    "metadata",
    "triggering_event",
    "published",
]
"""Kept when the source has them (else empty): what the explorer shows about one event."""

FIELDS: dict[str, str] = {
    "position": "global position",
    "entity_type": "stream type",
    "entity_id": "stream id",
    "entity_version": "version",
    "event_type": "event type",
    "created_at": "timestamp",
    "event_id": "event id",
    "schema_version": "schema version",
    "event_data": "payload",
    "metadata": "metadata",
    "triggering_event": "triggering event",
    "published": "published flag",
}
"""eslab's column → what it means (the words a mapping may also use, see :data:`ALIASES`)."""

ALIASES = {
    "stream_id": "entity_id",
    "stream_type": "entity_type",
    "version": "entity_version",
    "timestamp": "created_at",
    "time": "created_at",
    "type": "event_type",
    "payload": "event_data",
    "data": "event_data",
}
"""Other names a column mapping may use for eslab's columns."""


class EventTableError(BadInputError):
    """A table of events cannot be read as one (a file, a source, a column)."""


class UnmappedColumnError(EventTableError):
    """A column eslab needs is not in the table, and no mapping says where it is."""

    def __init__(self, field: str, column: str | None, available: Sequence[str], advice: str = ""):
        self.field, self.column = field, column or field
        meaning = FIELDS.get(field, field)
        if column is not None and column != field:
            head = f"The table has no column {column!r} (for the {meaning}, {field})."
            advice = advice or f"Fix columns={{{field!r}: ...}}: name one of its columns."
        else:
            head = f"The table has no column {field!r} for the {meaning}."
            advice = advice or f"Pass columns={{{field!r}: '<your column>'}} to say which it is."
        super().__init__(f"{head} Its columns are {list(available)}. {advice}")


class MalformedColumnError(EventTableError):
    """A column holds a value that cannot be what eslab reads it as."""

    def __init__(
        self,
        field: str,
        column: str,
        problem: str,
        row: int | None = None,
        value: Any = None,
        advice: str = "",
    ):
        self.field, self.column, self.row = field, column, row
        where = f" in row {row}" if row is not None else ""
        shown = f" (value {value!r:.80})" if row is not None else ""
        label = column if column == field else f"{column} (used as {field})"
        super().__init__(f"Column {label}{where}: {problem}{shown}. {advice}".rstrip())


@dataclass(frozen=True)
class _Plan:
    """Which source column feeds each of eslab's columns (None: not in the table)."""

    columns: dict[str, str | None]
    stream_type: str | None


def events_frame(
    source: Any,
    columns: Mapping[str, str | None] | None = None,
    *,
    table: str | None = None,
    stream_type: str | None = None,
) -> pd.DataFrame:
    """A DataFrame with :data:`COLUMNS` + :data:`EXTRA_COLUMNS` + ``stream``, by position.

    ``source``: an ``EventStore``, a list of ``StoredEvent``, a DataFrame, a pyarrow Table,
    a DuckDB relation, a DuckDB connection with ``table=``, or the path of a ``.csv``,
    ``.tsv``, ``.parquet`` or ``.duckdb`` file (``table=`` names the table in a DuckDB file).
    ``columns`` maps eslab's names (or ``stream_id``, ``stream_type``, ``version``,
    ``timestamp``, ``payload`` …) to the table's; ``None`` says the table has no such
    column: versions are then counted 1, 2, 3 per stream, positions follow the timestamps,
    and every stream gets the type ``stream_type``.
    """
    from eslab.store import EventStore

    if isinstance(source, pd.DataFrame) and columns is None and source.attrs.get("eslab_frame"):
        return source.copy(deep=False)  # already checked: pictures call this again
    if isinstance(source, EventStore):
        return standard_frame(source.to_dataframe(), trusted=True)
    if (
        isinstance(source, Sequence)
        and not isinstance(source, str | bytes)
        and source
        and all(isinstance(e, StoredEvent) for e in source)
    ):
        return standard_frame(_stored_events_table(source), trusted=True)
    return standard_frame(read_table(source, table=table), columns, stream_type=stream_type)


def read_table(source: Any, *, table: str | None = None) -> pd.DataFrame:
    """The rows of a DataFrame, pyarrow Table, DuckDB relation/table or file, as a DataFrame."""
    import duckdb

    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, duckdb.DuckDBPyRelation):
        return source.df()
    if isinstance(source, duckdb.DuckDBPyConnection):
        if table is None:
            raise EventTableError("A DuckDB connection holds many tables: pass table='<name>'.")
        return _duckdb_table(source, table)
    if hasattr(source, "to_pandas") and hasattr(source, "column_names"):
        return source.to_pandas()  # a pyarrow Table
    if isinstance(source, str | Path):
        return _read_file(Path(source), table)
    if isinstance(source, Sequence) and not source:
        return pd.DataFrame(columns=COLUMNS)
    raise EventTableError(
        f"Cannot read events from a {type(source).__name__}: pass an EventStore, a list of "
        "StoredEvent, a DataFrame, a DuckDB relation (or connection + table=), or the path of "
        "a .csv, .parquet or .duckdb file."
    )


def standard_frame(
    raw: pd.DataFrame,
    columns: Mapping[str, str | None] | None = None,
    *,
    stream_type: str | None = None,
    trusted: bool = False,
) -> pd.DataFrame:
    """Rename, check and convert a table of events into eslab's frame (see :func:`events_frame`).

    ``trusted=True`` skips parsing every payload as JSON (for rows read from an eslab store).
    """
    plan = _plan(list(raw.columns), columns, stream_type)
    n = len(raw)
    out: dict[str, Any] = {}
    for field in ("entity_id", "event_type"):
        out[field] = _text(raw, field, plan.columns[field], required=True)
    if plan.columns["entity_type"] is None:
        out["entity_type"] = pd.Series([plan.stream_type] * n, dtype=object)
    else:
        out["entity_type"] = _text(raw, "entity_type", plan.columns["entity_type"], required=True)
    out["created_at"] = _times(raw, plan.columns["created_at"], n)
    out["position"] = _integers(raw, "position", plan.columns["position"], minimum=0)
    out["entity_version"] = _integers(
        raw, "entity_version", plan.columns["entity_version"], minimum=1
    )
    out["event_id"] = _text(raw, "event_id", plan.columns["event_id"])
    out["schema_version"] = _integers(
        raw, "schema_version", plan.columns["schema_version"], minimum=1, nullable=True
    )
    out["event_data"] = _json_text(raw, "event_data", plan.columns["event_data"], trusted)
    out["metadata"] = _json_text(raw, "metadata", plan.columns["metadata"], trusted)
    out["triggering_event"] = _text(raw, "triggering_event", plan.columns["triggering_event"])
    out["published"] = _flags(raw, plan.columns["published"])
    frame = pd.DataFrame({k: _values(v) for k, v in out.items()})
    frame = _order(frame, plan)
    frame = _versions(frame, plan)
    frame = frame[COLUMNS + EXTRA_COLUMNS]
    frame["stream"] = frame["entity_type"].astype(str) + " " + frame["entity_id"].astype(str)
    frame.attrs["eslab_frame"] = True
    return frame


def synthetic_frame(
    n_events: int = 100_000, n_streams: int = 2_000, seed: int = 0, start: str = "2024-01-01 09:00"
) -> pd.DataFrame:
    """A big, repeatable event log (Orders, Tickets, Accounts) to try the pictures at scale.

    A few streams are busy and most are quiet (like real aggregates); each stream starts
    with its "created" event; one event in 500 is a rare ``Compensated``.
    """
    rng = np.random.default_rng(seed)
    kinds = {
        "Order": ("OrderCreated", ["OrderAuthorized", "OrderRevised", "OrderCancelled"]),
        "Ticket": ("TicketCreated", ["TicketAccepted", "TicketPreparing", "TicketPickedUp"]),
        "Account": ("AccountCreated", ["AccountAuthorized", "AccountAuthorizationFailed"]),
    }
    names = list(kinds)
    weights = 1.0 / (np.arange(n_streams) + 10.0) ** 1.2
    stream = rng.choice(n_streams, n_events, p=weights / weights.sum())
    kind = np.array(names)[stream % len(names)]
    frame = pd.DataFrame(
        {
            "position": np.arange(1, n_events + 1),
            "entity_type": kind,
            "entity_id": np.char.add("s-", stream.astype(str)),
        }
    )
    frame["entity_version"] = frame.groupby(["entity_type", "entity_id"]).cumcount() + 1
    event_type = np.empty(n_events, dtype=object)
    for name, (first, later) in kinds.items():
        mine = kind == name
        event_type[mine] = rng.choice(later, int(mine.sum()))
        event_type[mine & (frame["entity_version"].to_numpy() == 1)] = first
    event_type[rng.random(n_events) < 0.002] = "Compensated"
    frame["event_type"] = event_type
    gaps = rng.exponential(2.0, n_events).cumsum()
    frame["created_at"] = pd.Timestamp(start) + pd.to_timedelta(gaps, unit="s")
    return standard_frame(frame)


# -- reading sources ------------------------------------------------------------------------


def _stored_events_table(events: Sequence[StoredEvent]) -> pd.DataFrame:
    from eslab.events import serialize

    rows = []
    for e in events:
        rows.append(
            {c: getattr(e, c) for c in COLUMNS}
            | {
                "event_id": e.event_id,
                "schema_version": e.schema_version,
                "event_data": serialize(e.event),
                "metadata": json.dumps(e.metadata.to_dict()) if e.metadata.to_dict() else None,
                "triggering_event": e.triggering_event,
                "published": e.published,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS)


def _read_file(path: Path, table: str | None) -> pd.DataFrame:
    if not path.exists():
        raise EventTableError(
            f"No file at {path}. Check the path (relative paths start at "
            f"the notebook's folder, {Path.cwd()})."
        )
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(
                path,
                sep="\t" if suffix == ".tsv" else ",",
                dtype=str,
                keep_default_na=False,
                na_values=[""],
            )
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError) as exc:  # pandas' ParserError and pyarrow's errors
        raise EventTableError(
            f"Cannot read {path.name} as {suffix[1:].upper()}: {str(exc).splitlines()[0]}"
        ) from exc
    if suffix in (".duckdb", ".db"):
        import duckdb

        if table is None:
            raise EventTableError(f"{path.name} is a DuckDB database: pass table='<name>'.")
        with duckdb.connect(str(path), read_only=True) as con:
            return _duckdb_table(con, table)
    if suffix in (".sqlite", ".sqlite3"):
        raise EventTableError(
            f"{path.name} is a SQLite file. For the `eventsourcing` library's stored_events "
            "table use eslab.importers.read_eventsourcing_sqlite(path)."
        )
    raise EventTableError(
        f"Cannot tell how to read {path.name}: use a .csv, .tsv, .parquet "
        "or .duckdb file, or read it with pandas and pass the DataFrame."
    )


def _duckdb_table(con: Any, table: str) -> pd.DataFrame:
    import duckdb

    if not isinstance(table, str) or not re.fullmatch(r"[A-Za-z_][\w.]*", table):
        raise EventTableError(f"table must be a plain table name, got {table!r}.")
    try:
        return con.table(table).df()
    except duckdb.CatalogException as exc:
        names = [
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        raise EventTableError(
            f"No table {table!r} in this DuckDB database; it has {sorted(names)}."
        ) from exc


# -- the column mapping ---------------------------------------------------------------------


def _plan(
    available: list[str], columns: Mapping[str, str | None] | None, stream_type: str | None
) -> _Plan:
    wanted: dict[str, str | None] = {}
    for key, value in (columns or {}).items():
        field = ALIASES.get(key, key)
        if field not in FIELDS:
            raise EventTableError(
                f"Unknown name {key!r} in columns=. Use eslab's names {list(FIELDS)} or "
                f"{sorted(ALIASES)}."
            )
        if value is not None and not isinstance(value, str):
            raise EventTableError(
                f"columns[{key!r}] must be a column name (str) or None, got {value!r}."
            )
        wanted[field] = value
    plan: dict[str, str | None] = {}
    for field in FIELDS:
        name = wanted.get(field, field)
        if name is not None and name not in available:
            if field in wanted:
                raise UnmappedColumnError(field, name, available)
            name = None
        plan[field] = name
    for field in ("entity_id", "event_type"):
        if plan[field] is None:
            raise UnmappedColumnError(field, None, available)
    if plan["entity_type"] is None and not stream_type:
        raise UnmappedColumnError(
            "entity_type",
            wanted.get("entity_type", "entity_type"),
            available,
            "Map it with columns={'entity_type': '<your column>'}, or, if every stream is "
            "of one kind, pass stream_type='Order' (say).",
        )
    if plan["position"] is None and plan["created_at"] is None:
        raise UnmappedColumnError(
            "position",
            None,
            available,
            "eslab needs an order: map a global position (columns={'position': ...}) or a "
            "timestamp (columns={'created_at': ...}).",
        )
    return _Plan(plan, stream_type)


# -- converting and checking columns -----------------------------------------------------------


def _values(series: pd.Series) -> np.ndarray | pd.api.extensions.ExtensionArray:
    return series.reset_index(drop=True).array


def _first_bad(mask: Any) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _text(
    raw: pd.DataFrame, field: str, column: str | None, *, required: bool = False
) -> pd.Series:
    if column is None:
        return pd.Series([None] * len(raw), dtype=object)
    series = raw[column]
    missing = series.isna().to_numpy(dtype=bool)
    if not required:
        return series.astype(object).where(~missing, None) if missing.any() else series
    if missing.any():
        i = _first_bad(missing)
        raise MalformedColumnError(
            field,
            column,
            f"the {FIELDS[field]} is empty",
            i + 1,
            series.iloc[i],
            "Every event needs one.",
        )
    text = series.astype(str)
    blank = text.str.strip().eq("").to_numpy(dtype=bool)
    if blank.any():
        i = _first_bad(blank)
        raise MalformedColumnError(
            field,
            column,
            f"the {FIELDS[field]} is blank",
            i + 1,
            series.iloc[i],
            "Every event needs one.",
        )
    return text


def _integers(
    raw: pd.DataFrame, field: str, column: str | None, *, minimum: int, nullable: bool = False
) -> pd.Series:
    if column is None:
        return pd.Series([pd.NA] * len(raw), dtype="Int64")
    series = raw[column]
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna() & (series.notna() if nullable else True)
    bad = bad.to_numpy(dtype=bool) | ~_whole(numbers)
    if bad.any():
        i = _first_bad(bad)
        raise MalformedColumnError(
            field, column, f"the {FIELDS[field]} must be a whole number", i + 1, series.iloc[i]
        )
    low = (numbers < minimum).fillna(False).to_numpy(dtype=bool)
    if low.any():
        i = _first_bad(low)
        raise MalformedColumnError(
            field, column, f"the {FIELDS[field]} must be ≥ {minimum}", i + 1, series.iloc[i]
        )
    return numbers.astype("Int64")


def _whole(numbers: pd.Series) -> np.ndarray:
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    return np.isnan(values) | (np.floor(values) == values)


def _flags(raw: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series([pd.NA] * len(raw), dtype="boolean")
    series = raw[column]
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    words = {"1": True, "0": False, "true": True, "false": False, "t": True, "f": False}
    flags = series.map(lambda v: words.get(str(v).strip().lower(), pd.NA) if pd.notna(v) else v)
    bad = (flags.isna() & series.notna()).to_numpy(dtype=bool)
    if bad.any():
        i = _first_bad(bad)
        raise MalformedColumnError(
            "published", column, "must be 0/1 or true/false", i + 1, series.iloc[i]
        )
    return flags.astype("boolean")


def _times(raw: pd.DataFrame, column: str | None, n: int) -> pd.Series:
    if column is None:
        return pd.Series([pd.NaT] * n, dtype="datetime64[us]")
    series = raw[column]
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        raise MalformedColumnError(
            "created_at",
            column,
            "holds numbers, not times",
            None,
            None,
            "Convert them first, e.g. df[col] = pd.to_datetime(df[col], unit='s').",
        )
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        times = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(series):
        times = series
    else:
        times = _parse_times(series)
        bad = (times.isna() & series.notna()).to_numpy(dtype=bool)
        if bad.any():
            i = _first_bad(bad)
            raise MalformedColumnError(
                "created_at",
                column,
                "is not a date and time",
                i + 1,
                series.iloc[i],
                "Use ISO 8601 text like 2024-01-31T12:00:00Z.",
            )
    return times.astype("datetime64[us]")


def _parse_times(series: pd.Series) -> pd.Series:
    text = series.astype(object).where(series.notna(), None)
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    if parsed.isna().sum() > series.isna().sum():
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None)


def _json_text(raw: pd.DataFrame, field: str, column: str | None, trusted: bool) -> pd.Series:
    if column is None:
        return pd.Series([None] * len(raw), dtype=object)
    series = raw[column].astype(object)
    if trusted:
        return series.where(series.notna(), None)
    out: list[str | None] = []
    for i, value in enumerate(series):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
            continue
        if isinstance(value, bytes | bytearray | memoryview):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedColumnError(
                    field,
                    column,
                    "holds bytes that are not UTF-8 text (compressed or encrypted?)",
                    i + 1,
                    bytes(value)[:20],
                ) from None
        if isinstance(value, str):
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                raise MalformedColumnError(
                    field,
                    column,
                    f"the {FIELDS[field]} is not valid JSON ({exc.msg})",
                    i + 1,
                    value,
                ) from None
            out.append(value)
        elif isinstance(value, dict | list):
            out.append(json.dumps(value, default=str))
        else:
            raise MalformedColumnError(
                field, column, f"the {FIELDS[field]} must be JSON text or a dict", i + 1, value
            )
    return pd.Series(out, dtype=object)


def _order(frame: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """Sort by position; without positions, number the events in timestamp order."""
    if plan.columns["position"] is not None:
        duplicated = frame["position"].duplicated().to_numpy(dtype=bool)
        if duplicated.any():
            i = _first_bad(duplicated)
            raise MalformedColumnError(
                "position",
                plan.columns["position"],
                "two events have the same position",
                i + 1,
                frame["position"].iloc[i],
                "A global position is unique per event.",
            )
        frame = frame.sort_values("position", kind="stable")
        frame["position"] = frame["position"].astype("int64")
        return frame.reset_index(drop=True)
    missing = frame["created_at"].isna().to_numpy(dtype=bool)
    if missing.any():
        i = _first_bad(missing)
        raise MalformedColumnError(
            "created_at",
            plan.columns["created_at"] or "created_at",
            "has no time, and without a position column the times give the order",
            i + 1,
            None,
        )
    frame = frame.sort_values("created_at", kind="stable").reset_index(drop=True)
    frame["position"] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


def _versions(frame: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """Check versions are unique per stream; without a version column, count 1, 2, 3 …"""
    keys = ["entity_type", "entity_id"]
    if plan.columns["entity_version"] is None:
        frame["entity_version"] = frame.groupby(keys, sort=False).cumcount().add(1)
    else:
        clash = frame.duplicated(keys + ["entity_version"]).to_numpy(dtype=bool)
        if clash.any():
            i = _first_bad(clash)
            row = frame.iloc[i]
            raise MalformedColumnError(
                "entity_version",
                plan.columns["entity_version"],
                f"stream {row['entity_type']} {row['entity_id']} has version "
                f"{row['entity_version']} twice",
                None,
                None,
                "A version is unique within its stream (that is the optimistic lock).",
            )
    frame["entity_version"] = frame["entity_version"].astype("int64")
    return frame
