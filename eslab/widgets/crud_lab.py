"""CRUD vs events (seed §1.1–1.2): the same account kept both ways, side by side.

Each button press changes the balance in a CRUD row (overwritten in place) and appends
an event to the event store. The CRUD table always has one row; the event log keeps
every change, so "what was the balance after change k?" has an answer only on one side.
"""

from __future__ import annotations

import ipywidgets as w

from eslab.aggregate import AggregateRepository
from eslab.domain.bank import BankAccount, Deposit, OpenAccount, Withdraw
from eslab.i18n import _
from eslab.lessons.nb03_optimistic_locking import VersionedTable
from eslab.store import EventStore
from eslab.widgets.base import Lab, control, html_table


class CrudVsEventsLab(Lab):
    """Deposit / withdraw buttons driving a CRUD row and an event-sourced account."""

    name = "crudlab"

    def __init__(
        self,
        store: EventStore | None = None,
        account_id: str = "acc-1",
        owner: str = "Alice",
        opening_balance: int = 100,
    ) -> None:
        super().__init__()
        self.store = store or EventStore()
        self.repo = AggregateRepository(self.store, BankAccount)
        self.crud = VersionedTable(self.store, "accounts")
        self.account_id, self.owner = account_id, owner
        self.crud.insert(account_id, {"owner": owner, "balance": opening_balance})
        self.repo.save(OpenAccount(owner, opening_balance), entity_id=account_id)
        self.amount = control(
            w.IntSlider(value=10, min=1, max=100, description=_("amount")), self.name, "amount"
        )
        self.deposit = control(w.Button(description=_("Deposit")), self.name, "deposit")
        self.withdraw = control(w.Button(description=_("Withdraw")), self.name, "withdraw")
        self.summary = control(w.Label(), self.name, "summary")
        self.crud_view = control(w.HTML(), self.name, "crud")
        self.events_view = control(w.HTML(), self.name, "events")
        self.deposit.on_click(self.callback(lambda _: self.apply("deposit")))
        self.withdraw.on_click(self.callback(lambda _: self.apply("withdraw")))
        self._finish(
            w.HBox([self.amount, self.deposit, self.withdraw]),
            self.summary,
            w.HBox([self.crud_view, self.events_view]),
        )
        self.refresh()

    def apply(self, action: str) -> None:
        """Do the same change both ways (a refused withdrawal changes neither)."""
        amount = self.amount.value
        command = Deposit(amount) if action == "deposit" else Withdraw(amount)
        account = self.repo.update(self.account_id, command)
        self.crud.write(self.account_id, {"owner": self.owner, "balance": account.balance})
        self.refresh()

    def refresh(self) -> None:
        """Redraw both tables and the summary line."""
        row = self.crud.read(self.account_id)
        history = self.store.load("BankAccount", self.account_id)
        self.summary.value = _(
            "CRUD: 1 row, balance {crud_balance} · Events: {rows} rows, balance {balance}"
        ).format(
            crud_balance=row.data["balance"],
            rows=len(history),
            balance=self.repo.find(self.account_id).balance,
        )
        self.crud_view.value = (
            "<b>"
            + _("CRUD table: accounts")
            + "</b>"
            + html_table(
                ["id", "owner", "balance", "version"],
                [(row.id, row.data["owner"], row.data["balance"], row.version)],
                css_class="eslab-crud-table",
            )
        )
        self.events_view.value = (
            "<b>"
            + _("Event store: events")
            + "</b>"
            + html_table(
                ["version", "event_type", "event_data"],
                [(e.entity_version, e.event_type, _data(e)) for e in history],
                highlight=len(history) - 1,
                css_class="eslab-events-table",
            )
        )


def _data(stored: object) -> str:
    from eslab.serialization import to_json

    return to_json(stored.event)  # type: ignore[attr-defined]
