"""Notebook 04's experiment: the commit-order race that makes a naive position poller skip.

Positions are handed out at INSERT, not at COMMIT (seed: 폴링 "후행 트랜잭션이
커밋된다"). :class:`CommitOrderRace` runs two real DuckDB transactions on two cursors of
one database so that the lower position commits *after* the higher one; the
:class:`~eslab.publishing.NaivePositionPoller` ("position > last seen") then skips an event
forever, while the gap-aware :class:`~eslab.publishing.PositionPoller` and the
:class:`~eslab.publishing.PollingPublisher` do not. With ``serialised=True`` the steps
follow the order eslab's append lock forces, and nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd
from matplotlib.figure import Figure

from eslab import events as events_module
from eslab.clock import FixedClock, SeededIds
from eslab.domain.order import Address, LineItem, Money, OrderCreated
from eslab.errors import BadInputError
from eslab.events import Event
from eslab.messaging import Message, MessageBroker
from eslab.publishing import (
    NaivePositionPoller,
    PollingPublisher,
    PositionPoller,
    Relay,
    RelayAction,
)
from eslab.store import EventStore

_INSERT_ONE = """
INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id,
                    entity_version, schema_version, created_at)
VALUES ($event_id, $event_type, $event_data, $entity_type, $entity_id, 1, $schema_version, $now)
RETURNING position
"""
"""The position comes from ``DEFAULT nextval('events_position')`` at INSERT time."""


@dataclass
class Transaction:
    """One raw DuckDB transaction on its own cursor (outside eslab's append lock)."""

    name: str
    entity_type: str
    entity_id: str
    event: Event
    cursor: duckdb.DuckDBPyConnection
    position: int | None = None
    state: str = "not started"


@dataclass
class RaceResult:
    """After the race: what each relay published and which committed positions it missed."""

    committed: list[int]
    first_position: int
    second_position: int
    published: dict[str, list[int]]
    missed: dict[str, list[int]] = field(default_factory=dict)
    received: dict[str, list[int]] = field(default_factory=dict)

    @property
    def skipped(self) -> list[int]:
        """Positions the naive poller skipped (empty when appends are serialised)."""
        return self.missed.get("naive poller", [])


def sample_order(n: int) -> OrderCreated:
    """A small OrderCreated event (order ``n``) for the race."""
    item = LineItem(f"item-{n}", ["Margherita", "Pad Thai", "Ramen"][n % 3], n, Money(950))
    return OrderCreated(
        f"consumer-{n}",
        "restaurant-1",
        [item],
        item.total,
        Address(f"{n} Main St", "Oakland", "94611"),
    )


class CommitOrderRace:
    """Two transactions on two cursors of one database; the lower position commits last.

    Steps (``step()`` does one, ``run()`` all)::

        T1 BEGIN; T1 INSERT (takes position p); T2 BEGIN; T2 INSERT (p+1); T2 COMMIT;
        relays poll (see p+1 only); T1 COMMIT; relays poll

    The relays are a :class:`NaivePositionPoller`, a gap-aware :class:`PositionPoller`
    and a :class:`PollingPublisher`, each with its own broker. With ``serialised=True``
    the steps follow the order eslab's append lock forces: T2 waits until T1 commits.
    """

    RELAYS = ("naive poller", "position poller", "polling publisher")

    def __init__(
        self,
        store: EventStore | None = None,
        *,
        serialised: bool = False,
        events: tuple[Event, Event] | None = None,
    ) -> None:
        self.store = store or EventStore(clock=FixedClock(), id_factory=SeededIds(0))
        self.serialised = serialised
        first, second = events or (sample_order(1), sample_order(2))
        base = self.store.cursor()
        self.t1 = Transaction("T1", "Order", "order-1", first, base.cursor())
        self.t2 = Transaction("T2", "Order", "order-2", second, base.cursor())
        self.relays: dict[str, Relay] = {
            "naive poller": NaivePositionPoller(self.store, MessageBroker(), "naive poller"),
            "position poller": PositionPoller(self.store, MessageBroker(), "position poller"),
            "polling publisher": PollingPublisher(
                self.store, MessageBroker(), name="polling publisher"
            ),
        }
        self.received: dict[str, list[int]] = {name: [] for name in self.relays}
        """Positions a consumer ("order-history") got through each relay's broker."""
        for name, relay in self.relays.items():
            relay.broker.subscribe("Order", "order-history", self._receiver(name))
        self.actions: list[RelayAction] = []
        self._script = self._serial_script() if serialised else self._race_script()
        self.done = 0

    @property
    def steps(self) -> list[str]:
        """What each step does, in order (for the lab's step list)."""
        return [label for label, _ in self._script]

    @property
    def finished(self) -> bool:
        return self.done >= len(self._script)

    def step(self) -> list[RelayAction]:
        """Do the next step; return the actions it caused."""
        if self.finished:
            raise BadInputError("The race is over: make a new CommitOrderRace to run it again.")
        _, run = self._script[self.done]
        before = len(self.actions)
        run()
        self.done += 1
        return self.actions[before:]

    def run(self) -> RaceResult:
        """Do every remaining step and report what each relay published or missed."""
        while not self.finished:
            self.step()
        return self.result()

    def result(self) -> RaceResult:
        """What the relays published so far and what they missed of what is committed."""
        committed = [e.position for e in self.store.read_all()]
        published = {n: r.published_positions() for n, r in self.relays.items()}
        missed = {n: [p for p in committed if p not in set(published[n])] for n in published}
        return RaceResult(
            committed,
            self.t1.position or 0,
            self.t2.position or 0,
            published,
            missed,
            {n: list(r) for n, r in self.received.items()},
        )

    def in_flight(self) -> dict[str, list[int]]:
        """Positions inserted by transactions that have not committed (invisible to others)."""
        return {
            t.name: [t.position]
            for t in (self.t1, self.t2)
            if t.state == "inserted" and t.position is not None
        }

    def events_table(self) -> pd.DataFrame:
        """Committed rows (what a reader sees) plus in-flight rows, with their status."""
        frame = self.store.sql(
            "SELECT position, entity_type, entity_id, event_type, published "
            "FROM events ORDER BY position"
        )
        frame["status"] = "committed"
        rows = [
            {
                "position": t.position,
                "entity_type": t.entity_type,
                "entity_id": t.entity_id,
                "event_type": t.event.event_type,
                "published": False,
                "status": f"in flight ({t.name}, not visible)",
            }
            for t in (self.t1, self.t2)
            if t.state == "inserted"
        ]
        if rows:
            frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
        return frame.sort_values("position").reset_index(drop=True)

    def close(self) -> None:
        """Roll back anything still open and close the two cursors."""
        for t in (self.t1, self.t2):
            if t.state in ("begun", "inserted", "waiting"):
                try:
                    t.cursor.execute("ROLLBACK")
                except duckdb.Error:
                    pass
            t.cursor.close()

    # -- the scripts ---------------------------------------------------------------

    def _race_script(self) -> list[tuple[str, Callable[[], None]]]:
        t1, t2 = self.t1, self.t2
        return [
            ("T1: BEGIN", lambda: self._begin(t1)),
            ("T1: INSERT order-1's event (takes the lower position)", lambda: self._insert(t1)),
            ("T2: BEGIN", lambda: self._begin(t2)),
            ("T2: INSERT order-2's event (takes the next position)", lambda: self._insert(t2)),
            ("T2: COMMIT (the higher position is visible first)", lambda: self._commit(t2)),
            ("relays poll", self._poll_all),
            ("T1: COMMIT (the lower position becomes visible late)", lambda: self._commit(t1)),
            ("relays poll again", self._poll_all),
        ]

    def _serial_script(self) -> list[tuple[str, Callable[[], None]]]:
        t1, t2 = self.t1, self.t2
        return [
            ("T1: BEGIN (takes the append lock)", lambda: self._begin(t1)),
            ("T1: INSERT order-1's event", lambda: self._insert(t1)),
            ("T2: waits for the append lock", lambda: self._wait(t2)),
            ("relays poll (nothing committed yet)", self._poll_all),
            ("T1: COMMIT (releases the lock)", lambda: self._commit(t1)),
            ("T2: BEGIN + INSERT (takes the next position)", lambda: self._begin_insert(t2)),
            ("T2: COMMIT", lambda: self._commit(t2)),
            ("relays poll again", self._poll_all),
        ]

    def _note(self, t: Transaction, action: str, detail: str, sql: str | None = None) -> None:
        positions = (t.position,) if t.position is not None else ()
        self.actions.append(RelayAction(t.name, action, detail, sql, positions))

    def _begin(self, t: Transaction) -> None:
        t.cursor.execute("BEGIN TRANSACTION")
        t.state = "begun"
        self._note(t, "BEGIN", "transaction started", "BEGIN TRANSACTION")

    def _begin_insert(self, t: Transaction) -> None:
        self._begin(t)
        self._insert(t)

    def _wait(self, t: Transaction) -> None:
        t.state = "waiting"
        self._note(
            t,
            "WAIT",
            "blocked: another append holds the lock, so T2 gets its position "
            "only after T1 has committed",
        )

    def _insert(self, t: Transaction) -> None:
        row = t.cursor.execute(
            _INSERT_ONE,
            {
                "event_id": self.store.id_factory(),
                "event_type": t.event.event_type,
                "event_data": events_module.serialize(t.event),
                "entity_type": t.entity_type,
                "entity_id": t.entity_id,
                "schema_version": t.event.schema_version,
                "now": self.store.clock(),
            },
        ).fetchall()[0]
        t.position, t.state = int(row[0]), "inserted"
        self._note(
            t,
            "INSERT",
            f"inserted {t.entity_id}'s event at position {t.position} "
            "(not committed: no one else sees it)",
            " ".join(_INSERT_ONE.split()),
        )

    def _commit(self, t: Transaction) -> None:
        t.cursor.execute("COMMIT")
        t.state = "committed"
        self._note(t, "COMMIT", f"committed: position {t.position} is now visible", "COMMIT")

    def _poll_all(self) -> None:
        for relay in self.relays.values():
            before = len(relay.actions)
            relay.poll()
            relay.broker.deliver_all()
            self.actions.extend(relay.actions[before:])

    def _receiver(self, name: str) -> Callable[[Message], None]:
        return lambda message: self.received[name].append(int(message.headers["position"]))


def reproduce_commit_order_race(
    store: EventStore | None = None, *, serialised: bool = False
) -> RaceResult:
    """Run :class:`CommitOrderRace` to the end and return what each relay missed."""
    race = CommitOrderRace(store, serialised=serialised)
    try:
        return race.run()
    finally:
        race.close()


# -- seed 1.4: "성능/확장성 우수" — polling vs tailing, measured -----------------------------

POLLING, TAILING = "polling publisher", "position relay (tailer)"


def _drain_by_polling(store: EventStore, batch_size: int) -> int:
    """The polling publisher's database work: SELECT unpublished, UPDATE published."""
    sent = 0
    while batch := store.unpublished(limit=batch_size):
        store.mark_published([e.position for e in batch])
        sent += len(batch)
    return sent


def _drain_by_tailing(store: EventStore, batch_size: int) -> int:
    """The tailer's database work: read after the checkpoint, save the checkpoint."""
    sent = checkpoint = 0
    while batch := store.read_all(after_position=checkpoint, limit=batch_size):
        checkpoint = batch[-1].position
        store.save_checkpoint("relay-bench", checkpoint)
        sent += len(batch)
    return sent


def measure_relays(
    sizes: tuple[int, ...] = (5_000, 20_000), batch_size: int = 1_000, repeats: int = 2
) -> pd.DataFrame:
    """Time the database work of each relay draining a fresh outbox of each size.

    Both relays publish the same messages; what differs is what they ask of the
    database. The polling publisher runs the seed's loop (SELECT ``WHERE NOT published``,
    then UPDATE ``published`` for the batch: one write per event on the ``events``
    table); the position relay only reads by position and writes one checkpoint row per
    batch. The broker is left out (it costs both the same). Best of ``repeats`` runs,
    wall-clock on this machine — so the numbers vary, the shape does not.
    """
    import time

    from eslab import datasets

    rows = []
    for size in sizes:
        for relay, drain in ((POLLING, _drain_by_polling), (TAILING, _drain_by_tailing)):
            best, updated = float("inf"), 0
            for _ in range(repeats):
                with EventStore() as store:
                    datasets.long_stream(store, "acc-relay", size)
                    start = time.perf_counter()
                    drained = drain(store, batch_size)
                    best = min(best, time.perf_counter() - start)
                    updated = int(
                        store.sql("SELECT count(*) AS n FROM events WHERE published").n[0]
                    )
            rows.append(
                {
                    "relay": relay,
                    "events": size,
                    "drained": drained,
                    "events rows UPDATEd": updated,
                    "seconds": round(best, 3),
                    "events per second": round(drained / best),
                }
            )
    return pd.DataFrame(rows)


def plot_relays(frame: pd.DataFrame) -> Figure:
    """Events per second of each relay at each outbox size (bars)."""
    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    sizes = sorted(frame["events"].unique())
    relays = list(dict.fromkeys(frame["relay"]))
    width = 0.8 / len(relays)
    for i, relay in enumerate(relays):
        by_size = frame[frame["relay"] == relay].set_index("events")["events per second"]
        xs = [x + i * width for x in range(len(sizes))]
        ax.bar(xs, [by_size[s] for s in sizes], width, label=relay)
    ax.set_xticks([x + width * (len(relays) - 1) / 2 for x in range(len(sizes))])
    ax.set_xticklabels([f"{s:,} events" for s in sizes])
    ax.set_ylabel("events per second (database work)")
    ax.set_title("Draining the outbox: UPDATE per event vs reading only")
    ax.legend()
    fig.tight_layout()
    return fig
