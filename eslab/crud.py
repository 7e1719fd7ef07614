"""Traditional persistence, for comparison: one row per account, overwritten in place.

This is what chapter 6 starts from (seed §1.1): the table holds only the current state,
so history is lost, auditing needs extra code, and a blind ``UPDATE`` from a stale read
silently overwrites someone else's change. ``save_checked`` is the classic fix the seed
shows — optimistic locking with a version column::

    UPDATE accounts SET balance = ?, version = version + 1
    WHERE id = ? AND version = <original version>
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from eslab.errors import EntityNotFoundError

CHECKED_UPDATE = (
    "UPDATE accounts SET balance = $balance, version = version + 1 "
    "WHERE id = $id AND version = $original_version"
)
BLIND_UPDATE = "UPDATE accounts SET balance = $balance, version = version + 1 WHERE id = $id"


@dataclass(frozen=True)
class AccountRow:
    """A row of the CRUD ``accounts`` table."""

    id: str
    owner: str
    balance: int
    version: int


class CrudAccounts:
    """An ``accounts`` table in its own in-memory DuckDB database."""

    def __init__(self) -> None:
        self.db = duckdb.connect(":memory:")
        self.db.execute("CREATE TABLE accounts (id VARCHAR PRIMARY KEY, owner VARCHAR, "
                        "balance INTEGER, version INTEGER)")
        self.last_sql = ""
        self.last_rowcount = 0

    def open(self, account_id: str, owner: str, balance: int = 0) -> AccountRow:
        """INSERT a new row at version 1."""
        self.db.execute("INSERT INTO accounts VALUES ($id, $owner, $balance, 1)",
                        {"id": account_id, "owner": owner, "balance": balance})
        return self.read(account_id)

    def read(self, account_id: str) -> AccountRow:
        """SELECT the row (all there is: no history)."""
        row = self.db.execute("SELECT id, owner, balance, version FROM accounts WHERE id = $id",
                              {"id": account_id}).fetchone()
        if row is None:
            raise EntityNotFoundError("accounts row", account_id)
        return AccountRow(*row)

    def save_blind(self, account_id: str, balance: int) -> int:
        """Overwrite the balance whatever happened since it was read (lost updates)."""
        return self._update(BLIND_UPDATE, {"balance": balance, "id": account_id})

    def save_checked(self, account_id: str, balance: int, original_version: int) -> int:
        """Overwrite only if nobody changed the row since ``original_version``; rows updated."""
        return self._update(CHECKED_UPDATE, {"balance": balance, "id": account_id,
                                             "original_version": original_version})

    def _update(self, sql: str, params: dict[str, object]) -> int:
        rows = self.db.execute(sql, params).fetchall()
        self.last_sql, self.last_rowcount = sql, int(rows[0][0]) if rows else 0
        return self.last_rowcount

    def table(self) -> list[AccountRow]:
        """Every row, as the table holds it now."""
        rows = self.db.execute("SELECT id, owner, balance, version FROM accounts ORDER BY id")
        return [AccountRow(*r) for r in rows.fetchall()]
