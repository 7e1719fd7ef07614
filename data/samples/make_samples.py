"""Make the sample event logs in data/samples/ again (same input, same rows).

    python data/samples/make_samples.py          # from the repository root

* ``eventuate_events.csv`` — Eventuate Local's ``events`` table exported to CSV: FTGO
  orders going through the CreateOrderSaga (Order, Ticket and Account streams).
* ``eventsourcing_stored_events.sqlite`` — the Python ``eventsourcing`` library's SQLite
  file: bank accounts opened, deposited to, withdrawn from. Written by the library itself
  when it is installed (``pip install eventsourcing``); otherwise by the same rows in plain
  ``sqlite3`` (the tests check both give the same rows).
* ``orders.parquet`` — eslab Order events in a table with *other* column names
  (``seq_id, id, stream_id, stream_type, version, type, data, timestamp``), to practise
  the column mapping.
"""

from __future__ import annotations

import csv
import json
import random
import sqlite3
import sys
import types
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run from anywhere: find eslab in this repository

# -- Eventuate Local: FTGO orders through the CreateOrderSaga -------------------------------

EVENTUATE_HEADER = [
    "event_id",
    "event_type",
    "event_data",
    "entity_type",
    "entity_id",
    "triggering_event",
    "metadata",
    "published",
]
MAC = 0x0242AC120006  # a Docker container's MAC address, as Eventuate's id generator uses
JAVA = {
    "Order": "net.chrisrichardson.ftgo.orderservice.domain.Order",
    "Ticket": "net.chrisrichardson.ftgo.kitchenservice.domain.Ticket",
    "Account": "net.chrisrichardson.ftgo.accountingservice.domain.Account",
}
EVENTS_PACKAGE = {
    "Order": "net.chrisrichardson.ftgo.orderservice.api.events.",
    "Ticket": "net.chrisrichardson.ftgo.kitchenservice.api.events.",
    "Account": "net.chrisrichardson.ftgo.accountingservice.domain.",
}
MENU = [
    ("1", "Chicken Vindaloo", "12.34"),
    ("2", "Lamb Rogan Josh", "14.50"),
    ("3", "Garlic Naan", "3.10"),
    ("4", "Mango Lassi", "4.25"),
]
CONSUMERS = [1511300065921, 1511300065922, 1511300065923]
# (order id, consumer index, what happens): approved orders are cooked and picked up.
ORDERS = [
    (101, 0, "approved"),
    (102, 1, "card_declined"),
    (103, 0, "approved"),
    (104, 2, "cancelled"),
    (105, 1, "approved"),
    (106, 2, "pending"),
]


def eventuate_rows(seed: int = 6) -> list[dict[str, Any]]:
    """The ``events`` rows, oldest first, with Eventuate-style time-based event ids."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 4, 11, 30, tzinfo=UTC)
    plan: list[tuple[datetime, str, str, str, dict[str, Any], int | None]] = []
    for i, consumer in enumerate(CONSUMERS):
        plan.append(
            (
                start + timedelta(seconds=i),
                "Account",
                str(consumer),
                "AccountCreatedEvent",
                {},
                None,
            )
        )
    for n, (order_id, who, outcome) in enumerate(ORDERS):
        t = start + timedelta(minutes=2 + 3 * n, seconds=rng.randint(0, 50))
        items = [(m, rng.randint(1, 3)) for m in rng.sample(MENU, rng.randint(1, 3))]
        total = sum(int(q) * float(p) for (_, _, p), q in items)
        plan += _order_story(t, rng, order_id, CONSUMERS[who], outcome, items, total)
    plan.sort(key=lambda step: step[0])
    rows, last_ms, counter = [], -1, 0
    for when, kind, entity_id, event, data, _ in plan:
        ms = int(when.timestamp() * 1000)
        counter = counter + 1 if ms == last_ms else 0
        last_ms = ms
        rows.append(
            {
                "event_id": f"{ms:016x}-{(MAC << 16) + counter:016x}",
                "event_type": EVENTS_PACKAGE[kind] + event,
                "event_data": json.dumps(data, separators=(",", ":")),
                "entity_type": JAVA[kind],
                "entity_id": entity_id,
                "triggering_event": None,
                "metadata": json.dumps({"schemaVersion": "1.0"}) if kind == "Order" else None,
                "published": 1,
            }
        )
    for row in rows[-3:]:
        row["published"] = 0  # the polling publisher has not sent these yet
    return _resolve_triggers(rows, plan)


def _order_story(
    t: datetime,
    rng: random.Random,
    order_id: int,
    consumer: int,
    outcome: str,
    items: list[tuple[tuple[str, str, str], int]],
    total: float,
) -> list[tuple[datetime, str, str, str, dict[str, Any], int | None]]:
    """One order's events across the Order, Ticket and Account streams."""
    oid = str(order_id)
    lines = [
        {"quantity": q, "menuItemId": m, "name": name, "price": {"amount": price}}
        for (m, name, price), q in items
    ]
    money = {"amount": f"{total:.2f}"}
    created = {
        "orderDetails": {
            "lineItems": lines,
            "orderTotal": money,
            "restaurantId": 1,
            "consumerId": consumer,
        },
        "deliveryAddress": {
            "street1": f"{order_id} Main Street",
            "city": "Oakland",
            "state": "CA",
            "zip": "94611",
        },
        "restaurantName": "Ajanta",
    }
    ticket = {
        "orderId": order_id,
        "details": {
            "lineItems": [
                {"quantity": q, "menuItemId": m, "name": name} for (m, name, _), q in items
            ]
        },
    }
    step = timedelta(seconds=1)
    story = [
        (t, "Order", oid, "OrderCreatedEvent", created, None),
        (t + step, "Ticket", oid, "TicketCreatedEvent", ticket, "created"),
    ]
    if outcome == "pending":
        return _link(story)
    if outcome == "card_declined":
        story += [
            (
                t + 2 * step,
                "Account",
                str(consumer),
                "AccountAuthorizationFailed",
                {"orderId": order_id, "orderTotal": money},
                "created",
            ),
            (t + 3 * step, "Ticket", oid, "TicketCancelledEvent", {}, "created"),
            (t + 4 * step, "Order", oid, "OrderRejectedEvent", {}, None),
        ]
        return _link(story)
    story += [
        (
            t + 2 * step,
            "Account",
            str(consumer),
            "AccountAuthorizedEvent",
            {"orderId": order_id, "orderTotal": money},
            "created",
        ),
        (t + 3 * step, "Ticket", oid, "TicketConfirmedEvent", {}, "created"),
        (t + 4 * step, "Order", oid, "OrderAuthorizedEvent", {}, None),
    ]
    later = t + timedelta(minutes=rng.randint(4, 9))
    if outcome == "cancelled":
        story += [
            (later, "Order", oid, "OrderCancelledEvent", {}, None),
            (later + step, "Ticket", oid, "TicketCancelledEvent", {}, "cancelled"),
        ]
    else:
        ready = later + timedelta(minutes=rng.randint(6, 12))
        story += [
            (
                later,
                "Ticket",
                oid,
                "TicketAcceptedEvent",
                {"readyBy": (ready.replace(tzinfo=None)).isoformat()},
                None,
            ),
            (
                later + timedelta(minutes=2),
                "Ticket",
                oid,
                "TicketPreparationStartedEvent",
                {},
                None,
            ),
            (ready, "Ticket", oid, "TicketPickedUpEvent", {}, None),
        ]
    return _link(story)


def _link(story: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Mark which Order event triggered each participant's event ("created"/"cancelled")."""
    return [(*step[:5], (step[3], step[5]) if step[5] else None) for step in story]


def _resolve_triggers(
    rows: list[dict[str, Any]], plan: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Point triggering_event at the Order event of the same order that caused it."""
    latest: dict[tuple[str, str], int] = {}
    for i, (_, kind, entity_id, event, data, trigger) in enumerate(plan):
        if kind == "Order":
            latest[(entity_id, event)] = i
        if trigger is not None:
            order_id = str(data.get("orderId", entity_id))
            wanted = "OrderCancelledEvent" if trigger[1] == "cancelled" else "OrderCreatedEvent"
            source = latest[(order_id, wanted)]
            rows[i]["triggering_event"] = (
                f"etpo:{rows[source]['event_id']}:{JAVA['Order']}:0:{source}"
            )
    return rows


def write_eventuate_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, EVENTUATE_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(eventuate_rows())


# -- eventsourcing: bank accounts in its SQLite file ----------------------------------------

BANK_HISTORY = [
    ("ada", "open", 50),
    ("grace", "open", 20),
    ("ada", "deposit", 30),
    ("alan", "open", 0),
    ("grace", "deposit", 15),
    ("ada", "withdraw", 40),
    ("edsger", "open", 100),
    ("grace", "withdraw", 10),
    ("alan", "deposit", 25),
    ("ada", "deposit", 5),
    ("edsger", "withdraw", 60),
    ("grace", "deposit", 40),
    ("alan", "withdraw", 5),
    ("edsger", "deposit", 10),
]
"""(owner, what, amount), one saved command each, in this order."""
BANK_START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
BANK_STEP = timedelta(minutes=7)
BANK_MODULE = "bankapp"
EVENT_NAMES = {"open": "AccountOpened", "deposit": "MoneyDeposited", "withdraw": "MoneyWithdrawn"}
STORED_EVENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS stored_events (originator_id TEXT, originator_version "
    "INTEGER, topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
)
"""The table eventsourcing 9.5's SQLiteApplicationRecorder creates."""


def account_id(owner: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"eslab-sample:{owner}")


def stored_events_rows() -> list[tuple[str, int, str, bytes]]:
    """The rows eventsourcing writes for :data:`BANK_HISTORY` (without the library)."""
    rows, versions = [], {}
    for n, (owner, what, amount) in enumerate(BANK_HISTORY):
        versions[owner] = versions.get(owner, 0) + 1
        when = BANK_START + n * BANK_STEP
        state: dict[str, Any] = {
            "timestamp": {"_type_": "datetime_iso", "_data_": when.isoformat()}
        }
        if what == "open":
            state |= {
                "originator_topic": f"{BANK_MODULE}:BankAccount",
                "owner": owner,
                "initial_deposit": amount,
            }
        else:
            state["amount"] = amount
        data = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        rows.append(
            (
                account_id(owner).hex,
                versions[owner],
                f"{BANK_MODULE}:BankAccount.{EVENT_NAMES[what]}",
                data,
            )
        )
    return rows


def write_eventsourcing_sqlite(path: Path, use_library: bool | None = None) -> str:
    """Write the SQLite file; returns "eventsourcing <version>" or "sqlite3" (who wrote it)."""
    path.unlink(missing_ok=True)
    if use_library is not False:
        try:
            return _write_with_library(path)
        except ImportError:
            if use_library:
                raise
    with sqlite3.connect(path) as con:
        con.execute(STORED_EVENTS_DDL)
        con.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", stored_events_rows())
    con.close()
    return "sqlite3"


def _write_with_library(path: Path) -> str:
    """Run the history through a real eventsourcing Application on a SQLite file."""
    import eventsourcing
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    module = types.ModuleType(BANK_MODULE)  # so topics read "bankapp:BankAccount.…"
    sys.modules[BANK_MODULE] = module
    clock = iter(BANK_START + n * BANK_STEP for n in range(len(BANK_HISTORY)))

    class BankAccount(Aggregate):
        __module__ = BANK_MODULE
        __qualname__ = "BankAccount"

        class Event(Aggregate.Event):
            @staticmethod
            def create_timestamp() -> datetime:
                return next(clock)

        @staticmethod
        def create_id(owner: str, initial_deposit: int) -> uuid.UUID:
            return account_id(owner)

        @event("AccountOpened")
        def __init__(self, owner: str, initial_deposit: int) -> None:
            self.owner, self.balance = owner, initial_deposit

        @event("MoneyDeposited")
        def deposit(self, amount: int) -> None:
            self.balance += amount

        @event("MoneyWithdrawn")
        def withdraw(self, amount: int) -> None:
            self.balance -= amount

    module.BankAccount = BankAccount
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    app = Application(env=env)
    for owner, what, amount in BANK_HISTORY:
        if what == "open":
            app.save(BankAccount(owner, amount))
            continue
        account = app.repository.get(account_id(owner))
        getattr(account, what)(amount)
        app.save(account)
    app.close()
    del sys.modules[BANK_MODULE]
    with sqlite3.connect(path) as con:  # the library uses WAL; a shipped file should not
        con.execute("PRAGMA journal_mode=DELETE")  # (readers would leave -wal/-shm files)
    con.close()
    return (
        f"eventsourcing {eventsourcing.__version__}"
        if hasattr(eventsourcing, "__version__")
        else "eventsourcing"
    )


# -- eslab orders under other column names --------------------------------------------------

ORDERS_COLUMNS = {
    "position": "seq_id",
    "event_id": "id",
    "entity_id": "stream_id",
    "entity_type": "stream_type",
    "entity_version": "version",
    "event_type": "type",
    "event_data": "data",
    "created_at": "timestamp",
}
"""eslab column → the column name used in orders.parquet."""


def orders_table(seed: int = 11, n_orders: int = 8) -> Any:
    """eslab Orders through approve / reject / revise / cancel, as a renamed DataFrame."""
    from eslab import AggregateRepository, EventStore, FixedClock, SeededIds
    from eslab.domain import order as o

    rng = random.Random(seed)
    store = EventStore(
        clock=FixedClock(datetime(2024, 5, 6, 8, 0), timedelta(seconds=45)),
        id_factory=SeededIds(seed),
    )
    repo = AggregateRepository(store, o.Order)
    menu = [
        o.LineItem("m1", "Pad Thai", 1, o.Money(1150)),
        o.LineItem("m2", "Green Curry", 1, o.Money(1290)),
        o.LineItem("m3", "Spring Rolls", 1, o.Money(550)),
        o.LineItem("m4", "Iced Tea", 1, o.Money(350)),
    ]
    flows = {
        "approved": [o.ApproveOrder()],
        "rejected": [o.RejectOrder("card declined")],
        "revised": [o.ApproveOrder(), o.ReviseOrder({"m1": 3}), o.ConfirmRevision()],
        "cancelled": [o.ApproveOrder(), o.CancelOrder()],
    }
    todo: dict[str, list[Any]] = {}
    for n in range(n_orders):
        order_id = f"order-{101 + n}"
        items = [
            o.LineItem(i.menu_item_id, i.name, rng.randint(1, 3), i.price)
            for i in [menu[0]] + rng.sample(menu[1:], rng.randint(0, 2))
        ]
        address = o.Address(f"{rng.randint(1, 99)} Canal Street", "Amsterdam", "1012")
        todo[order_id] = [
            o.CreateOrder(f"consumer-{rng.randint(1, 4)}", "thai-garden", items, address)
        ]
        todo[order_id] += flows[rng.choice(list(flows))]
    while todo:  # interleave the orders, one command at a time
        order_id = rng.choice(sorted(todo))
        command = todo[order_id].pop(0)
        if isinstance(command, o.CreateOrder):
            repo.save(command, entity_id=order_id)
        else:
            repo.update(order_id, command)
        if not todo[order_id]:
            del todo[order_id]
    frame = store.to_dataframe()
    frame["created_at"] = frame["created_at"].dt.tz_localize("UTC")
    return frame[list(ORDERS_COLUMNS)].rename(columns=ORDERS_COLUMNS)


def write_orders_parquet(path: Path) -> None:
    orders_table().to_parquet(path, index=False)


def main() -> None:
    write_eventuate_csv(HERE / "eventuate_events.csv")
    who = write_eventsourcing_sqlite(HERE / "eventsourcing_stored_events.sqlite")
    write_orders_parquet(HERE / "orders.parquet")
    print(
        f"wrote eventuate_events.csv ({len(eventuate_rows())} events), "
        f"eventsourcing_stored_events.sqlite ({len(BANK_HISTORY)} events, by {who}), "
        f"orders.parquet in {HERE}"
    )


if __name__ == "__main__":
    main()
