"""Notebook 01's lesson code: what CRUD persistence costs (seed 1.1), shown on real stores.

- :func:`busy_account` builds a seeded account history for the audit exercise.
- :func:`order_as_tables` squeezes one FTGO-style order (line items, money, an address)
  into relational tables: the object–relational impedance mismatch (객체 관계 매핑의 부정합).
- :class:`CrudAccountService` updates a row *and* publishes a message in two steps, the way
  publishing gets bolted onto business logic (이벤트 발행 로직이 비즈니스 로직에 추가된다).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from eslab.aggregate import AggregateRepository
from eslab.clock import FixedClock
from eslab.domain.bank import BankAccount, Deposit, OpenAccount, Withdraw
from eslab.errors import CommandRejectedError
from eslab.store import EventStore


def busy_account(entity_id: str = "ines", commands: int = 40, seed: int = 21) -> EventStore:
    """A fresh store with one account and ``commands`` seeded deposits and withdrawals.

    Withdrawals larger than the balance are refused by the aggregate and leave no event.
    """
    store = EventStore(clock=FixedClock())
    accounts = AggregateRepository(store, BankAccount)
    accounts.save(OpenAccount("Ines", 100), entity_id=entity_id)
    rng = random.Random(seed)
    for _ in range(commands):
        amount = rng.randint(5, 80)
        command = Deposit(amount) if rng.random() < 0.6 else Withdraw(amount)
        try:
            accounts.update(entity_id, command)
        except CommandRejectedError:
            pass
    return store


ORDER_TABLES = """
CREATE TABLE orders (order_id VARCHAR PRIMARY KEY, consumer_id VARCHAR, restaurant_id VARCHAR,
                     state VARCHAR, street VARCHAR, city VARCHAR, postcode VARCHAR,
                     total_cents BIGINT, total_currency VARCHAR, version INTEGER);
CREATE TABLE order_line_items (order_id VARCHAR, line_no INTEGER, menu_item_id VARCHAR,
                               name VARCHAR, quantity INTEGER, price_cents BIGINT,
                               price_currency VARCHAR, PRIMARY KEY (order_id, line_no));
"""
"""The relational shape of an Order: two tables, value objects flattened into columns."""


@dataclass
class MappedOrder:
    """An order written to tables, and what it took: statements and column mappings."""

    tables: dict[str, pd.DataFrame]
    statements: list[str]
    columns_mapped: int


def order_as_tables(order: Any, order_id: str) -> MappedOrder:
    """Write an ``eslab.domain.order.Order`` to :data:`ORDER_TABLES` (the O/R mapping).

    Every value object becomes columns (``Money`` → amount + currency, ``Address`` → three
    columns), every list becomes a child table with its own key; reading it back needs a
    join and code that reassembles the objects.
    """
    import duckdb

    db = duckdb.connect()
    db.execute(ORDER_TABLES)
    address, total = order.delivery_address, order.total
    head = [
        order_id,
        order.consumer_id,
        order.restaurant_id,
        getattr(order.state, "value", order.state),
        address.street,
        address.city,
        address.postcode,
        total.cents,
        total.currency,
        order.version,
    ]
    statements = ["INSERT INTO orders VALUES (" + ", ".join("?" * len(head)) + ")"]
    db.execute(statements[0], head)
    for line_no, item in enumerate(order.line_items, start=1):
        row = [
            order_id,
            line_no,
            item.menu_item_id,
            item.name,
            item.quantity,
            item.price.cents,
            item.price.currency,
        ]
        statements.append("INSERT INTO order_line_items VALUES (" + ", ".join("?" * 7) + ")")
        db.execute(statements[-1], row)
    tables = {
        name: db.execute(f"SELECT * FROM {name}").df() for name in ("orders", "order_line_items")
    }
    db.close()
    return MappedOrder(tables, statements, sum(len(t.columns) for t in tables.values()))


@dataclass
class CrudAccountService:
    """A CRUD service that must remember to publish after every update.

    ``withdraw`` updates the row and then publishes ``MoneyWithdrawn``; ``correct_balance``
    (an admin fix written later, by someone else) updates the row and forgets to publish.
    A crash between the UPDATE and the publish (``crash_before_publish``) loses the
    message too: the row and the messages can disagree, and nothing notices.
    """

    balances: dict[str, int] = field(default_factory=dict)
    published: list[dict[str, Any]] = field(default_factory=list)
    crash_before_publish: bool = False

    def open(self, account_id: str, balance: int) -> None:
        """INSERT the row, then publish AccountOpened."""
        self.balances[account_id] = balance
        self._publish({"type": "AccountOpened", "id": account_id, "balance": balance})

    def withdraw(self, account_id: str, amount: int) -> None:
        """UPDATE the row, then publish MoneyWithdrawn (two steps, two systems)."""
        self.balances[account_id] -= amount
        if self.crash_before_publish:
            self.crash_before_publish = False
            raise ConnectionError("the service crashed after the UPDATE, before publishing")
        self._publish({"type": "MoneyWithdrawn", "id": account_id, "amount": amount})

    def correct_balance(self, account_id: str, balance: int) -> None:
        """An admin fix: UPDATE the row — and no message (someone forgot)."""
        self.balances[account_id] = balance

    def _publish(self, message: dict[str, Any]) -> None:
        self.published.append(message)

    def balance_seen_by_subscribers(self, account_id: str) -> int:
        """What a subscriber that folds the published messages believes the balance is."""
        balance = 0
        for message in self.published:
            if message["id"] != account_id:
                continue
            if message["type"] == "AccountOpened":
                balance = message["balance"]
            elif message["type"] == "MoneyWithdrawn":
                balance -= message["amount"]
        return balance
