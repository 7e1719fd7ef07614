"""Concurrent updates and optimistic locking (book §6.1.3, seed 3 동시 업데이트: 낙관적 잠금).

Two writers read the same version and both try to save. The seed's answer, for a table
that holds only the current state, is a version column::

    UPDATE aggregate_root_table SET version = version + 1 WHERE version = <original>

— 1 row updated: you won; 0 rows: someone else saved first. :class:`VersionedTable` is
such a table (one JSON ``data`` column), with the blind update beside it so the lost
update can be seen.

An event store does the same with the stream version: eslab's ``UNIQUE (entity_type,
entity_id, entity_version)`` key refuses a second "version 3", and the repository turns
that into :class:`~eslab.errors.ConcurrencyError`. ``AggregateRepository(retries=N)``
reloads and tries again up to N times (Eventuate's repository makes at most 10 attempts:
the first and 9 retries).

:func:`run_concurrent_writers` runs N real threads (each with its own DuckDB cursor) ×
M deposits against a few shared accounts, and reports conflicts, retries, rejected
commands, lost updates, and whether the final state equals a serial replay of the log.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd
from matplotlib.figure import Figure

from eslab.aggregate import AggregateRepository
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.errors import BadInputError, ConcurrencyError, EntityNotFoundError
from eslab.store import EventStore

EVENTUATE_MAX_ATTEMPTS = 10
"""How many attempts Eventuate's AggregateRepository makes at most (the first + 9 retries)."""

EVENTUATE_DEFAULT_RETRIES = EVENTUATE_MAX_ATTEMPTS - 1
"""The same budget as eslab's ``retries=``: the retries after the first attempt (9)."""

EVENT_STORE, CRUD_BLIND, CRUD_VERSIONED = "event store", "CRUD blind", "CRUD version check"
MODES = (EVENT_STORE, CRUD_BLIND, CRUD_VERSIONED)

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


# -- the seed's version column ---------------------------------------------------------


@dataclass(frozen=True)
class CrudRow:
    """One row of a :class:`VersionedTable`: the current state and its version."""

    id: str
    data: dict[str, Any]
    version: int


@dataclass(frozen=True)
class CrudWrite:
    """One UPDATE as a learner should see it: who ran it, the SQL, rows affected."""

    session: str
    sql: str
    params: dict[str, Any]
    rows: int

    @property
    def won(self) -> bool:
        """1 row updated: this write took effect."""
        return self.rows == 1


class VersionedTable:
    """A CRUD table that keeps only the current state, with a ``version`` column.

    It lives in the store's DuckDB database (so threads use their own cursors).
    ``write(..., original_version=v)`` is the seed's optimistic lock; without
    ``original_version`` it is a blind overwrite.
    """

    def __init__(self, store: EventStore, name: str = "crud_rows") -> None:
        if not _NAME.match(name):
            raise BadInputError(f"Table name {name!r} must be lower_snake_case letters/digits.")
        self.store, self.name = store, name
        self.log: list[CrudWrite] = []
        """Every UPDATE run through :meth:`write`, in order."""
        self._lock = threading.Lock()
        store.cursor().execute(
            f"CREATE TABLE IF NOT EXISTS {name} (id VARCHAR PRIMARY KEY, "
            "data JSON NOT NULL, version INTEGER NOT NULL)"
        )

    @property
    def versioned_sql(self) -> str:
        return (
            f"UPDATE {self.name} SET data = $data, version = version + 1 "
            "WHERE id = $id AND version = $original_version"
        )

    @property
    def blind_sql(self) -> str:
        return f"UPDATE {self.name} SET data = $data, version = version + 1 WHERE id = $id"

    def insert(self, row_id: str, data: dict[str, Any]) -> CrudRow:
        """INSERT a new row at version 1."""
        self.store.cursor().execute(
            f"INSERT INTO {self.name} VALUES ($id, $data, 1)",
            {"id": row_id, "data": json.dumps(data)},
        )
        return CrudRow(row_id, dict(data), 1)

    def read(self, row_id: str) -> CrudRow:
        """SELECT the row: the current state is all there is (no history)."""
        row = (
            self.store.cursor()
            .execute(f"SELECT data, version FROM {self.name} WHERE id = $id", {"id": row_id})
            .fetchone()
        )
        if row is None:
            raise EntityNotFoundError(self.name, row_id, "INSERT it first with insert().")
        return CrudRow(row_id, json.loads(row[0]), int(row[1]))

    def write(
        self,
        row_id: str,
        data: dict[str, Any],
        original_version: int | None = None,
        *,
        session: str = "",
    ) -> CrudWrite:
        """UPDATE the row; with ``original_version`` only if nobody saved since. Rows → log."""
        params: dict[str, Any] = {"data": json.dumps(data), "id": row_id}
        sql = self.blind_sql
        if original_version is not None:
            sql, params["original_version"] = self.versioned_sql, original_version
        result = _execute_update(self.store.cursor(), sql, params)
        write = CrudWrite(session, sql, params, int(result[0][0]) if result else 0)
        with self._lock:
            self.log.append(write)
        return write

    def log_frame(self) -> pd.DataFrame:
        """The UPDATEs run so far: session, SQL and rows affected."""
        return pd.DataFrame(
            [(w.session, w.sql, w.rows) for w in self.log],
            columns=["session", "sql", "rows affected"],
        )

    def frame(self) -> pd.DataFrame:
        """The whole table as it is now."""
        return (
            self.store.cursor()
            .execute(f"SELECT id, data, version FROM {self.name} ORDER BY id")
            .df()
        )


def _execute_update(
    cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], attempts: int = 50
) -> list[Any]:
    """Run an UPDATE; if DuckDB reports two UPDATEs of one row at the same instant
    ("Conflict on update!"), run the same statement again, as a database driver would."""
    for attempt in range(attempts):
        try:
            return cur.execute(sql, params).fetchall()
        except duckdb.TransactionException as exc:
            if "Conflict" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.0005 * (attempt + 1))  # back off: the other UPDATE is committing
    raise AssertionError("unreachable")


# -- real threads ------------------------------------------------------------------------


@dataclass
class ConcurrencyStats:
    """What N writers × M deposits (of 1 each) did to a few shared accounts."""

    mode: str
    writers: int
    commands: int
    retries_allowed: int
    succeeded: int = 0
    rejected: int = 0
    conflicts: int = 0
    retries: int = 0
    expected: dict[str, int] = field(default_factory=dict)
    """Per account: how many deposits were reported successful to their writer."""
    final: dict[str, int] = field(default_factory=dict)
    """Per account: the balance a fresh load shows."""
    replayed: dict[str, int] | None = None
    """Per account: the balance from replaying the stored events one by one, in position
    order (event store only; a CRUD table has no history to replay)."""

    @property
    def lost_updates(self) -> int:
        """Deposits reported as done that are not in the final state."""
        return sum(self.expected[a] - self.final.get(a, 0) for a in self.expected)

    @property
    def matches_serial_replay(self) -> bool | None:
        """Does the final state equal a serial replay of the log? (None for CRUD)."""
        return None if self.replayed is None else self.replayed == self.final

    def as_row(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "writers": self.writers,
            "commands": self.commands,
            "retries_allowed": self.retries_allowed,
            "succeeded": self.succeeded,
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "retries": self.retries,
            "lost_updates": self.lost_updates,
            "matches_serial_replay": self.matches_serial_replay,
        }


def run_concurrent_writers(
    writers: int = 4,
    commands: int = 25,
    *,
    accounts: int = 2,
    retries: int = 0,
    mode: str = EVENT_STORE,
    seed: int = 0,
    store: EventStore | None = None,
) -> ConcurrencyStats:
    """N threads each deposit 1, ``commands`` times, into randomly chosen shared accounts.

    ``mode`` is ``"event store"`` (AggregateRepository with ``retries``), ``"CRUD blind"``
    (read the row, write it back — no check) or ``"CRUD version check"`` (the seed's
    ``WHERE version = <original>``, re-read and retry up to ``retries`` times).
    """
    for name, value, low in (
        ("writers", writers, 1),
        ("commands", commands, 1),
        ("accounts", accounts, 1),
        ("retries", retries, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise BadInputError(f"{name} must be an int ≥ {low}, got {value!r}.")
    if mode not in MODES:
        raise BadInputError(f"mode must be one of {MODES}, got {mode!r}.")
    store = store or EventStore()
    ids = [f"acc-{i}" for i in range(accounts)]
    stats = ConcurrencyStats(
        mode, writers, writers * commands, retries, expected=dict.fromkeys(ids, 0)
    )
    table = VersionedTable(store, "crud_accounts") if mode != EVENT_STORE else None
    if table is None:
        opener = AggregateRepository(store, BankAccount)
        for account in ids:
            opener.save(OpenAccount(account), entity_id=account)
    else:
        for account in ids:
            table.insert(account, {"balance": 0})
    lock, start = threading.Lock(), threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            write_all(number)
        except BaseException as exc:  # surfaced in the calling thread below
            errors.append(exc)
            start.abort()

    def write_all(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        repo = AggregateRepository(store, BankAccount, retries=retries)
        start.wait()
        for _ in range(commands):
            account = rng.choice(ids)
            if table is None:
                done, conflicts, used = _deposit_event_sourced(repo, account)
            else:
                done, conflicts, used = _deposit_crud(table, account, mode, retries, number)
            with lock:
                stats.conflicts += conflicts
                stats.retries += used
                if done:
                    stats.succeeded += 1
                    stats.expected[account] += 1
                else:
                    stats.rejected += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    _final_state(stats, store, table, ids)
    return stats


def _deposit_event_sourced(
    repo: AggregateRepository[BankAccount], account: str
) -> tuple[bool, int, int]:
    before = repo.total_conflicts
    try:
        result = repo.update_with_result(account, Deposit(1))
    except ConcurrencyError:
        return False, repo.total_conflicts - before, repo.last_retries
    return True, repo.total_conflicts - before, result.retries


def _deposit_crud(
    table: VersionedTable, account: str, mode: str, retries: int, number: int
) -> tuple[bool, int, int]:
    conflicts = 0
    for attempt in range(retries + 1):
        row = table.read(account)
        data = {"balance": row.data["balance"] + 1}
        original = row.version if mode == CRUD_VERSIONED else None
        if table.write(account, data, original, session=f"writer {number}").won:
            return True, conflicts, attempt
        conflicts += 1
    return False, conflicts, retries


def _final_state(
    stats: ConcurrencyStats, store: EventStore, table: VersionedTable | None, ids: Sequence[str]
) -> None:
    if table is not None:
        stats.final = {a: table.read(a).data["balance"] for a in ids}
        return
    repo = AggregateRepository(store, BankAccount)
    stats.final = {a: repo.find(a).balance for a in ids}
    stats.replayed = serial_replay(store, ids)


def serial_replay(store: EventStore, account_ids: Sequence[str]) -> dict[str, int]:
    """Balances from applying every stored event one at a time in global position order."""
    accounts = {a: BankAccount() for a in account_ids}
    for stored in store.read_all(entity_type="BankAccount"):
        if stored.entity_id in accounts:
            accounts[stored.entity_id].apply(stored.event)
    return {a: acc.balance for a, acc in accounts.items()}


def sweep(
    writer_counts: Sequence[int] = (1, 2, 4, 8),
    retries: Sequence[int] = (0, 10),
    *,
    commands: int = 20,
    accounts: int = 2,
    mode: str = EVENT_STORE,
    seed: int = 0,
) -> pd.DataFrame:
    """Run :func:`run_concurrent_writers` for each writer count × retry budget (fresh stores)."""
    rows = [
        run_concurrent_writers(
            n, commands, accounts=accounts, retries=r, mode=mode, seed=seed
        ).as_row()
        for r in retries
        for n in writer_counts
    ]
    return pd.DataFrame(rows)


def plot_conflicts(frame: pd.DataFrame, title: str | None = None) -> Figure:
    """Conflicts, retries and rejected commands versus the number of writers."""
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True)
    for ax, column, label in zip(
        axes,
        ("conflicts", "retries", "rejected"),
        ("conflicts (ConcurrencyError)", "retries used", "commands rejected"),
        strict=True,
    ):
        for budget, group in frame.groupby("retries_allowed"):
            ax.plot(group["writers"], group[column], marker="o", label=f"retries={budget}")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("writers (threads)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title or "Optimistic locking under real threads")
    return fig
