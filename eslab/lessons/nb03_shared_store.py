"""Notebook 03 with the whole class: everyone updates one order in a shared store.

With ``ESLAB_STORE=postgresql://…`` (the instructor's ``python -m eslab classroom start``)
every learner's kernel appends to the same stream, ``Order order-classroom``: a learner
reads it, thinks for a moment (as a person with a tab open does), and saves with the
version read. When a classmate saved in between, the save is a real
:class:`~eslab.errors.ConcurrencyError` between two people's kernels; a reload and retry
then decides the command again on the current state. Each event carries who saved it
(``metadata.extra["learner"]``), so the timeline shows everyone.

Without a shared store, :func:`simulate_classmates` plays three classmates as threads on
one in-memory store, so the cell still shows conflicts. Only this section touches the
shared store: the notebook's exercises keep their own in-memory stores, so nobody's
self-check can break another's.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass

import pandas as pd

from eslab.aggregate import AggregateRepository
from eslab.domain.order import (
    Address,
    ApproveOrder,
    ConfirmRevision,
    CreateOrder,
    LineItem,
    Money,
    Order,
    OrderState,
    ReviseOrder,
)
from eslab.errors import ConcurrencyError, StreamExistsError
from eslab.events import EventMetadata
from eslab.lessons.nb04_log_tailing import learner_tag
from eslab.store import EventStore
from eslab.viz import Mark

SHARED_ORDER = "order-classroom"
STREAM = f"Order {SHARED_ORDER}"


@dataclass(frozen=True)
class Turn:
    """One save attempt on the shared order: who, the version read, what happened."""

    who: str
    read_version: int
    outcome: str
    """``saved`` or ``conflict``."""
    actual_version: int
    position: int


def open_shared_store() -> tuple[EventStore, bool]:
    """The class's store (``ESLAB_STORE``, True) or, without one, a store in this kernel."""
    url = os.environ.get("ESLAB_STORE", "")
    if url.startswith(("postgresql://", "postgres://")):
        return EventStore(url), True
    return EventStore(), False


def ensure_shared_order(store: EventStore) -> None:
    """Create the class's order once (whoever is first; the others find it there)."""
    items = [LineItem("pizza", "Margherita", 2, Money(950))]
    try:
        AggregateRepository(store, Order).save(
            CreateOrder("classroom", "restaurant-1", items, Address("1 Main St", "Oakland", "1")),
            entity_id=SHARED_ORDER,
        )
    except (StreamExistsError, ConcurrencyError):
        pass  # a classmate created it first


def next_command(order: Order) -> object:
    """What a learner does next to the order, so the class can go on for ever."""
    if order.state == OrderState.APPROVAL_PENDING:
        return ApproveOrder()
    if order.state == OrderState.REVISION_PENDING:
        return ConfirmRevision()
    return ReviseOrder({"pizza": 1 + order.version % 5})


def take_turn(store: EventStore, who: str | None = None, think: float = 1.0) -> list[Turn]:
    """Read the shared order, think ``think`` seconds, save; on a conflict reload and retry.

    Returns every attempt (a conflict, then the retry that saved). Gives up after 10.
    """
    who = who or learner_tag()
    repo = AggregateRepository(store, Order)
    turns: list[Turn] = []
    for _ in range(10):
        order = repo.find(SHARED_ORDER)
        events = order.process(next_command(order))
        time.sleep(think)
        try:
            version = store.append(
                "Order",
                SHARED_ORDER,
                events,
                order.version,
                metadata=EventMetadata(extra={"learner": who}),
            )
            turns.append(Turn(who, order.version, "saved", version, store.last_position()))
            return turns
        except ConcurrencyError as error:
            actual = error.actual_version or store.head("Order", SHARED_ORDER)
            turns.append(Turn(who, order.version, "conflict", actual, store.last_position()))
    return turns


def simulate_classmates(
    store: EventStore, classmates: int = 3, turns: int = 2, seed: int = 0
) -> list[Turn]:
    """Classmates as threads taking turns on the shared order (conflicts guaranteed likely)."""
    rng = random.Random(seed)
    thinks = [[rng.uniform(0.0, 0.05) for _ in range(turns)] for _ in range(classmates)]
    found: list[Turn] = []
    lock = threading.Lock()

    def classmate(n: int) -> None:
        for think in thinks[n]:
            done = take_turn(store, f"classmate-{n + 1}", think)
            with lock:
                found.extend(done)

    threads = [threading.Thread(target=classmate, args=(n,)) for n in range(classmates)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def turns_frame(turns: list[Turn]) -> pd.DataFrame:
    """The attempts as a table: who, version read, outcome, the stream's version then."""
    return pd.DataFrame(
        [
            {
                "who": t.who,
                "read version": t.read_version,
                "outcome": t.outcome,
                "stream version": t.actual_version,
            }
            for t in turns
        ],
        columns=["who", "read version", "outcome", "stream version"],
    )


def history(store: EventStore) -> pd.DataFrame:
    """The shared order's events with who saved each one."""
    rows = [
        {
            "version": e.entity_version,
            "event": e.event_type,
            "learner": e.metadata.extra.get("learner", "?"),
            "position": e.position,
        }
        for e in store.load("Order", SHARED_ORDER)
    ]
    return pd.DataFrame(rows, columns=["version", "event", "learner", "position"])


def conflict_marks(turns: list[Turn]) -> list[Mark]:
    """A ✕ on the timeline for every refused save (at the log's end when it happened)."""
    return [
        Mark(STREAM, t.position + 0.5, "rejected", f"{t.who}: v{t.read_version + 1} refused")
        for t in turns
        if t.outcome == "conflict"
    ]
