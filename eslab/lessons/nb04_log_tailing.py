"""Notebook 04 on PostgreSQL: the commit-order race against a real transaction log.

The same race as :class:`eslab.lessons.nb04_publishing_events.CommitOrderRace`, with two
real PostgreSQL transactions (``BIGSERIAL`` position taken at INSERT, visible at COMMIT):
a :class:`~eslab.publishing.NaivePositionPoller` skips the late commit, and the
:class:`~eslab.log_tailing.WalTailer` — reading the WAL through a logical replication
slot — publishes both, in commit order. :func:`architecture_figure` draws the book's
picture (event store → CDC → broker → consumers) from the objects that ran.

Where PostgreSQL comes from (:func:`find_postgres`): ``ESLAB_STORE=postgresql://…``
(a classroom store), else a throwaway :class:`~eslab.pgcluster.PgCluster` in a temp
folder if the server binaries are installed, else nothing — then the notebook shows
:func:`load_recording` (``data/wal_race_recording.json``, made by
``python -m eslab.lessons.nb04_log_tailing data/wal_race_recording.json``).
"""

from __future__ import annotations

import atexit
import getpass
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from eslab import events as events_module
from eslab.lessons.nb04_publishing_events import sample_order
from eslab.log_tailing import ForgottenSlotWarning, WalTailer, log_frame
from eslab.messaging import MessageBroker
from eslab.pgcluster import PgCluster, find_bin_dir
from eslab.publishing import NaivePositionPoller
from eslab.store import EventStore

RECORDING = Path(__file__).resolve().parents[2] / "data" / "wal_race_recording.json"
START_HINT = (
    "No PostgreSQL here. To run this part for real: install the server (Debian/Ubuntu: "
    "`apt-get install postgresql`) and re-run, or ask your instructor for the classroom "
    "store (`python -m eslab classroom start`, then set ESLAB_STORE=postgresql://… before "
    "starting JupyterLab). Below: the outcome recorded on a real server."
)

INSERT_ONE = (
    "INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id, "
    "entity_version, schema_version, created_at) "
    "VALUES (%s, %s, %s, 'Order', %s, 1, %s, %s) RETURNING position"
)
"""T1's and T2's raw INSERT: the position comes from the BIGSERIAL at INSERT time."""


def learner_tag() -> str:
    """A short name for this learner's streams and slots (``ESLAB_LEARNER`` or user@host)."""
    raw = os.environ.get("ESLAB_LEARNER") or f"{getpass.getuser()}_{socket.gethostname()}"
    return re.sub(r"[^a-z0-9_]", "_", raw.lower())[:30]


@dataclass
class Postgres:
    """Where the PostgreSQL part runs: a URL, and the throwaway cluster if we started one."""

    url: str | None
    cluster: PgCluster | None = None
    source: str = "none"

    def stop(self) -> None:
        """Stop and delete a throwaway cluster (a shared store is left alone)."""
        global _throwaway
        if self.cluster is not None:
            _throwaway = None
            self.cluster.destroy()
            shutil.rmtree(self.cluster.directory.parent, ignore_errors=True)
            self.cluster = None


_throwaway: Postgres | None = None
"""The throwaway cluster this process started (re-running a cell reuses it)."""


def find_postgres(start: bool = True) -> Postgres:
    """``ESLAB_STORE`` if it names PostgreSQL, else a throwaway cluster, else none.

    The throwaway cluster is started once per process and stopped by
    :meth:`Postgres.stop` or, at the latest, when the process (the kernel) exits.
    """
    global _throwaway
    url = os.environ.get("ESLAB_STORE", "")
    if url.startswith(("postgresql://", "postgres://")):
        return Postgres(url, None, "ESLAB_STORE (shared store)")
    if _throwaway is not None:
        return _throwaway
    if start and find_bin_dir() is not None:
        cluster = PgCluster(Path(tempfile.mkdtemp(prefix="eslab-nb04-")) / "pg").start()
        _throwaway = Postgres(cluster.url(), cluster, "a throwaway cluster in a temp folder")
        atexit.register(_throwaway.stop)
        return _throwaway
    return Postgres(None)


def insert_order(connection: psycopg.Connection[Any], entity_id: str, n: int) -> int:
    """INSERT one OrderCreated for ``entity_id`` in the connection's open transaction."""
    event = sample_order(n)
    row = connection.execute(
        INSERT_ONE,
        (
            str(uuid.uuid4()),
            event.event_type,
            events_module.serialize(event),
            entity_id,
            event.schema_version,
            datetime(2026, 1, 1),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class WalRaceResult:
    """What happened: the two positions, what each relay published, the log lines."""

    low: int
    high: int
    naive: list[int]
    wal: list[int]
    log: list[dict[str, Any]]
    events: list[dict[str, Any]]
    source: str = "live"
    slot: str = ""
    topics: dict[str, int] = field(default_factory=dict)
    consumers: dict[str, list[int]] = field(default_factory=dict)

    @property
    def naive_skipped(self) -> list[int]:
        """Race positions the naive poller never published."""
        return [p for p in (self.low, self.high) if p not in self.naive]

    @property
    def wal_order(self) -> list[int]:
        """The race positions in the order the WAL tailer published them."""
        return [p for p in self.wal if p in (self.low, self.high)]

    def log_table(self) -> pd.DataFrame:
        """The decoded WAL lines of the race (lsn, xid, kind, data)."""
        return pd.DataFrame(self.log, columns=["lsn", "xid", "kind", "data"])

    def events_table(self) -> pd.DataFrame:
        """The race's rows of the ``events`` table."""
        return pd.DataFrame(self.events)


def run_wal_race(url: str, tag: str | None = None) -> WalRaceResult:
    """T1 INSERTs (lower position), T2 INSERTs and COMMITs, relays poll, T1 COMMITs, poll.

    A :class:`NaivePositionPoller` and a :class:`WalTailer` (slot ``wal_<tag>``, dropped
    at the end) watch. Stream names carry ``tag`` so learners on one shared store do not
    collide.
    """
    tag = tag or learner_tag()
    slot = f"wal_{tag}"[:63]
    store = EventStore(url)
    naive = NaivePositionPoller(store, MessageBroker(), f"naive poller {tag}")
    naive.run()  # catch up on what is already there
    broker = MessageBroker()
    received: list[int] = []
    broker.subscribe(
        "Order", "order-history", lambda m: received.append(int(m.headers["position"]))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForgottenSlotWarning)  # dropped below
        tailer = WalTailer(url, broker, slot)
    try:
        tailer.run()
        naive.published.clear()
        tailer.published.clear()
        received.clear()
        run_id = uuid.uuid4().hex[:6]
        with psycopg.connect(url) as t1, psycopg.connect(url) as t2:
            low = insert_order(t1, f"order-{tag}-{run_id}-t1", 1)
            high = insert_order(t2, f"order-{tag}-{run_id}-t2", 2)
            t2.commit()
            naive.poll()
            t1.commit()
        naive.poll()
        log = tailer.peek()
        tailer.run()
        broker.deliver_all()
        race_xids = {
            c.xid
            for c in log
            if c.table == "public.events" and c.columns().get("position") in (low, high)
        }
        frame = store.sql(
            "SELECT position, entity_id, event_type, published FROM events "
            "WHERE position IN ($low, $high) ORDER BY position",
            {"low": low, "high": high},
        )
        return WalRaceResult(
            low,
            high,
            naive.published_positions(),
            tailer.published_positions(),
            _records(log_frame([c for c in log if c.xid in race_xids])),
            _records(frame.astype({"position": int})),
            slot=slot,
            topics={t: len(broker.messages(t)) for t in ("Order",)},
            consumers={"order-history": [p for p in received if p in (low, high)]},
        )
    finally:
        tailer.drop_slot()
        tailer.close()
        store.close()


def side_by_side(result: WalRaceResult) -> str:
    """HTML: the race's ``events`` rows (position order) beside the WAL (commit order)."""
    events = result.events_table().to_html(index=False)
    log = result.log_table()[["lsn", "xid", "kind", "data"]].copy()
    log["data"] = log["data"].str.slice(0, 90) + "…"
    return (
        "<div style='display:flex;gap:1.5em;align-items:flex-start'>"
        f"<div><b>events table (position order)</b>{events}</div>"
        f"<div><b>decoded WAL, slot {result.slot!r} (commit order)</b>"
        f"{log.to_html(index=False)}</div></div>"
    )


def record(path: Path = RECORDING) -> WalRaceResult:
    """Run the race on a throwaway cluster and save it as the shipped recording."""
    postgres = find_postgres()
    if postgres.url is None:
        raise SystemExit(START_HINT)
    try:
        result = run_wal_race(postgres.url, tag="recording")
    finally:
        postgres.stop()
    result.source = "recorded"
    Path(path).write_text(json.dumps(asdict(result), indent=1, default=str) + "\n")
    return result


def load_recording(path: Path = RECORDING) -> WalRaceResult:
    """The race as recorded on a real server (for machines without PostgreSQL)."""
    data = json.loads(Path(path).read_text())
    data["source"] = "recorded"
    return WalRaceResult(**data)


def architecture_figure(result: WalRaceResult) -> Figure:
    """The book's picture drawn from the run: event store → CDC → broker → consumers."""
    fig = Figure(figsize=(10, 2.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 2.6)
    ax.axis("off")
    boxes = [
        (
            0.1,
            "Event store\n(PostgreSQL)",
            f"events: {len(result.events)} in the race\npositions {result.low}, {result.high}",
            "#d9e7f5",
        ),
        (
            2.6,
            "CDC: WAL tailer",
            f"slot {result.slot!r}\ntest_decoding, {len(result.log)} log lines",
            "#fde2c8",
        ),
        (
            5.1,
            "Message broker",
            "\n".join(f"topic {t}: {n} msg" for t, n in result.topics.items()) or "topic Order",
            "#e3f1d9",
        ),
        (
            7.6,
            "Consumers",
            "\n".join(f"{g}: got {p}" for g, p in result.consumers.items()) or "order-history",
            "#efe0f4",
        ),
    ]
    for x, title, detail, colour in boxes:
        ax.add_patch(
            FancyBboxPatch(
                (x, 0.4), 2.2, 1.8, boxstyle="round,pad=0.05", facecolor=colour, edgecolor="#444"
            )
        )
        ax.text(x + 1.1, 1.85, title, ha="center", va="center", fontsize=10, weight="bold")
        ax.text(x + 1.1, 1.0, detail, ha="center", va="center", fontsize=8)
    labels = ["WAL, commit order", "publish, then confirm", "deliver ≥ once"]
    for i, label in enumerate(labels):
        x0 = 2.3 + 2.5 * i
        ax.add_patch(
            FancyArrowPatch(
                (x0, 1.3), (x0 + 0.3, 1.3), arrowstyle="-|>", mutation_scale=14, color="#444"
            )
        )
        ax.text(x0 + 0.15, 2.4, label, ha="center", fontsize=7.5, color="#333")
    ax.set_title(f"Transaction log tailing, as it ran ({result.source})", fontsize=10)
    return fig


if __name__ == "__main__":
    done = record(Path(sys.argv[1]) if len(sys.argv) > 1 else RECORDING)
    print(f"recorded: naive poller published {done.naive}, WAL tailer {done.wal}")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
