"""Bring your own events: read two real event stores' tables into eslab's frame.

* **Eventuate Local** (the book's store, §6.2.1): the ``events`` table — ``event_id,
  event_type, event_data, entity_type, entity_id, triggering_event`` (+ ``metadata,
  published`` in later versions) — e.g. exported to CSV. Eventuate has no version
  number per event: the version is counted per entity in ``event_id`` order, and the
  time is read from the id itself (its first half is milliseconds since 1970).
* The Python **eventsourcing** library's SQLite ``stored_events`` table —
  ``originator_id, originator_version, topic, state`` — read with Python's ``sqlite3``.
  ``topic`` is ``module:Aggregate.Event``; ``state`` is the event's JSON (bytes).

Both give the frame of :func:`eslab.viz.events_frame`, which the timeline and the
explorer draw; :func:`load_into_store` copies such a frame into an eslab store.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from eslab.course import course_dir
from eslab.frame import (
    EventTableError,
    MalformedColumnError,
    UnmappedColumnError,
    events_frame,
    read_table,
    standard_frame,
)

SAMPLES = course_dir("data") / "samples"
"""The small sample logs shipped with eslab (see data/samples/README.md)."""

EVENTUATE_COLUMNS = [
    "event_id",
    "event_type",
    "event_data",
    "entity_type",
    "entity_id",
    "triggering_event",
    "metadata",
    "published",
]
"""Eventuate Local's ``events`` columns; the first five are required."""

EVENTSOURCING_COLUMNS = ["originator_id", "originator_version", "topic", "state"]
"""The ``eventsourcing`` library's ``stored_events`` columns (SQLite, version 9)."""

_EVENTUATE_ID = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{16}$")


def sample_path(name: str) -> Path:
    """The path of a shipped sample, e.g. ``sample_path("eventuate_events.csv")``."""
    path = SAMPLES / name
    if not path.is_file():
        have = (
            sorted(p.name for p in SAMPLES.glob("*") if p.suffix != ".md")
            if (SAMPLES.is_dir())
            else []
        )
        raise EventTableError(
            f"No sample {name!r} in {SAMPLES}; there are {have}. The samples live in the "
            "repository's data/samples/ (remake them with `python data/samples/make_samples.py`)."
        )
    return path


# -- Eventuate Local ------------------------------------------------------------------------


def read_eventuate_events(source: Any, *, short_names: bool = True) -> pd.DataFrame:
    """Eventuate Local ``events`` rows (a CSV export, a DataFrame, a DuckDB table) → frame.

    Versions are counted 1, 2, 3 per entity in ``event_id`` order; the global position is
    the ``event_id`` order too (what Eventuate's polling publisher reads by). With
    ``short_names`` the Java package is dropped from type names (``…domain.Order`` →
    ``Order``).
    """
    raw = read_table(source)
    for column in EVENTUATE_COLUMNS[:5]:
        if column not in raw.columns:
            raise UnmappedColumnError(
                column,
                column,
                list(raw.columns),
                "Eventuate Local's events table has the columns "
                f"{EVENTUATE_COLUMNS[:6]} (+ metadata, published).",
            )
    ids = raw["event_id"]
    if ids.isna().any():
        i = int(ids.isna().to_numpy().nonzero()[0][0])
        raise MalformedColumnError("event_id", "event_id", "the event id is empty", i + 1, None)
    ids = ids.astype(str).str.strip()
    if ids.duplicated().any():
        i = int(ids.duplicated().to_numpy().nonzero()[0][0])
        raise MalformedColumnError(
            "event_id",
            "event_id",
            "two events have the same id",
            i + 1,
            ids.iloc[i],
            "event_id is Eventuate's primary key.",
        )
    table = raw.assign(event_id=ids, position=_id_order(ids), created_at=_eventuate_times(ids))
    if short_names:
        for column in ("entity_type", "event_type"):
            table[column] = table[column].map(_short_name, na_action="ignore")
    columns = {c: c for c in EVENTUATE_COLUMNS if c in table.columns}
    return standard_frame(
        table,
        columns | {"position": "position", "created_at": "created_at", "entity_version": None},
    )


def eventuate_time(event_id: str) -> pd.Timestamp | None:
    """When an Eventuate event id was made: its first 16 hex digits are milliseconds (UTC)."""
    if not _EVENTUATE_ID.match(event_id):
        return None
    return pd.Timestamp(int(event_id[:16], 16), unit="ms")


def _id_order(ids: pd.Series) -> list[int]:
    """1, 2, 3 … in event id order: numerically if all ids are numbers, else as text."""
    numeric = ids.str.fullmatch(r"\d+").all()
    keys = ids.astype("int64") if numeric else ids
    return (keys.rank(method="first").astype("int64")).tolist()


def _eventuate_times(ids: pd.Series) -> pd.Series:
    if not ids.str.fullmatch(_EVENTUATE_ID.pattern).all():
        return pd.Series([pd.NaT] * len(ids), dtype="datetime64[ms]")
    millis = ids.str.slice(0, 16).map(lambda h: int(h, 16))
    return pd.to_datetime(millis, unit="ms")


def _short_name(name: str) -> str:
    return str(name).rsplit(".", 1)[-1]


# -- eventsourcing (Python) -----------------------------------------------------------------


def read_eventsourcing_sqlite(path: str | Path, *, table: str = "stored_events") -> pd.DataFrame:
    """The ``eventsourcing`` library's SQLite ``stored_events`` table → frame.

    The position is SQLite's ``rowid`` (the library's notification id). From each topic
    ``module:Aggregate.Event`` the stream type is ``Aggregate`` and the event type
    ``Event``. The state's ``timestamp`` becomes ``created_at`` and ``originator_topic``
    goes to the metadata, so the payload keeps only the event's own fields.
    """
    rows = _sqlite_rows(Path(path), table)
    records = []
    for number, (rowid, originator_id, version, topic, state) in enumerate(rows, start=1):
        entity_type, event_type = _split_topic(topic, number)
        payload = _state(state, number)
        stamp = payload.pop("timestamp", None)
        meta = {"topic": topic, "originator_topic": payload.pop("originator_topic", None)}
        records.append(
            (
                rowid,
                originator_id,
                version,
                entity_type,
                event_type,
                _plain(stamp),
                json.dumps(_plain(payload)),
                json.dumps({k: v for k, v in meta.items() if v}),
            )
        )
    names = [
        "rowid",
        "originator_id",
        "originator_version",
        "entity_type",
        "event_type",
        "state.timestamp",
        "state",
        "metadata",
    ]
    return standard_frame(
        pd.DataFrame(records, columns=names),
        {
            "position": "rowid",
            "entity_id": "originator_id",
            "entity_version": "originator_version",
            "created_at": "state.timestamp",
            "event_data": "state",
        },
    )


def _sqlite_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    if not path.is_file():
        raise EventTableError(
            f"No file at {path}. Check the path (relative paths start at "
            f"the notebook's folder, {Path.cwd()})."
        )
    if not re.fullmatch(r"[A-Za-z_]\w*", table):
        raise EventTableError(f"table must be a plain table name, got {table!r}.")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            if table not in tables:
                raise EventTableError(
                    f"{path.name} has no table {table!r}; it has {tables}. The eventsourcing "
                    "library names it stored_events (or stored_<purpose>)."
                )
            names = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            for column in EVENTSOURCING_COLUMNS:
                if column not in names:
                    field = {
                        "originator_id": "entity_id",
                        "originator_version": "entity_version",
                        "topic": "event_type",
                        "state": "event_data",
                    }[column]
                    raise UnmappedColumnError(
                        field,
                        column,
                        names,
                        f"The eventsourcing library's {table} has {EVENTSOURCING_COLUMNS}.",
                    )
            return con.execute(
                f'SELECT rowid, originator_id, originator_version, topic, state FROM "{table}" '
                "ORDER BY rowid"
            ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise EventTableError(f"Cannot read {path.name} as SQLite: {exc}.") from exc


def _split_topic(topic: Any, row: int) -> tuple[str, str]:
    if not isinstance(topic, str) or ":" not in topic or not topic.split(":", 1)[1]:
        raise MalformedColumnError(
            "event_type", "topic", "is not a topic like 'module:Aggregate.Event'", row, topic
        )
    qualname = topic.split(":", 1)[1]
    owner, _, name = qualname.rpartition(".")
    return owner or "Aggregate", name


def _state(state: Any, row: int) -> dict[str, Any]:
    try:
        text = bytes(state).decode("utf-8") if isinstance(state, bytes | memoryview) else state
        data = json.loads(text)
    except (TypeError, ValueError):
        raise MalformedColumnError(
            "event_data",
            "state",
            "is not JSON",
            row,
            state,
            "Is the app compressing (COMPRESSOR_TOPIC) or encrypting (CIPHER_TOPIC) its "
            "events? Read them with that app, or store them without.",
        ) from None
    if not isinstance(data, dict):
        raise MalformedColumnError("event_data", "state", "is JSON but not an object", row, state)
    return data


def _plain(value: Any) -> Any:
    """Unwrap the library's typed values, {"_type_": "datetime_iso", "_data_": …} → …."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            return _plain(value["_data_"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- into a store ---------------------------------------------------------------------------


PublishedOption = Literal["keep"] | bool


def load_into_store(source: Any, store: Any, *, published: PublishedOption = "keep") -> int:
    """Append the events of a frame (or anything :func:`events_frame` reads) to ``store``.

    The store gives them new global positions in the frame's order; versions, types,
    payloads, times and (unique) event ids are kept. Returns the number of events written.

    ``published`` says which imported events a polling publisher still has to send:

    * ``"keep"`` (the default): each event keeps the source's ``published`` flag (Eventuate
      Local's column); an event without one counts as published — it is history that the
      old system already delivered, so a poller must not resend it.
    * ``True``: every imported event is marked published (nothing to relay).
    * ``False``: none is — a poller publishes the whole imported history again.
    """
    if published != "keep" and not isinstance(published, bool):
        raise EventTableError(
            f'published must be "keep", True or False, got {published!r}. "keep" keeps the '
            "source's published flags (and marks events without one as published)."
        )
    frame = events_frame(source)
    table = pd.DataFrame(
        {
            "entity_type": frame["entity_type"].astype(str),
            "entity_id": frame["entity_id"].astype(str),
            "entity_version": frame["entity_version"],
            "event_type": frame["event_type"].astype(str),
            "event_data": frame["event_data"].where(frame["event_data"].notna(), "{}"),
            "schema_version": frame["schema_version"].fillna(1).astype("int64"),
            "metadata": frame["metadata"],
            "triggering_event": frame["triggering_event"],
        }
    )
    if frame["created_at"].notna().all():
        table["created_at"] = frame["created_at"]
    ids = frame["event_id"]
    if ids.notna().all() and not ids.duplicated().any():
        table["event_id"] = ids.astype(str)
    before = store.last_position()
    written = store.bulk_insert(table)
    if published is not False:
        flags = frame["published"].fillna(True) if published == "keep" else True
        _mark_published(store, before, table.assign(published=flags))
    return int(written)


def _mark_published(store: Any, before: int, table: pd.DataFrame) -> None:
    """Set ``published`` on the rows just inserted (found by stream and version)."""
    keys = ["entity_type", "entity_id", "entity_version"]
    stored = store.sql(
        "SELECT position, entity_type, entity_id, entity_version FROM events "
        "WHERE position > $after",
        {"after": before},
    )
    wanted = table.loc[table["published"].astype(bool), keys].astype({"entity_version": "int64"})
    rows = stored.astype({"entity_version": "int64"}).merge(wanted, on=keys)
    store.mark_published([int(p) for p in rows["position"]])
