"""The forget-customer lab: crypto-shredding on a real store (notebook 10, 데이터 삭제).

Pick a customer and see their events three ways: as stored (ciphertext — what a database
dump shows), as replayed (decrypted with their key) and in the ``customer_directory``
read model (plaintext!). The scan below searches every column of every table for their
name, e-mail and streets. "Forget" deletes the key and appends ``PersonalDataForgotten``;
with "update the read model" ticked, the projection catches up at once — untick it to
see the plaintext a forgotten read model still holds, then press "Catch up".
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import ipywidgets as w

from eslab.clock import FixedClock, SeededIds
from eslab.i18n import _
from eslab.lessons.nb10_tradeoffs_and_deleting_data import (
    DEMO_CUSTOMERS,
    Customer,
    CustomerDirectory,
    demo_personal_data,
    register_demo_customers,
)
from eslab.projections import Projector
from eslab.shredding import CryptoShredder, find_plaintext, stored_payload
from eslab.store import EventStore
from eslab.widgets.base import Lab, control, html_table

_WIDE = w.Layout(width="auto")
"""Buttons as wide as their label."""


class ForgetLab(Lab):
    """Choose a customer, forget them, and check that no plaintext is left anywhere."""

    name = "forget"

    def __init__(self, store: EventStore | None = None) -> None:
        super().__init__()
        self.store = store or EventStore(
            clock=FixedClock(datetime(2024, 5, 1, 10, 0), timedelta(minutes=1)),
            id_factory=SeededIds(10),
        )
        self.shredder = CryptoShredder(self.store)
        if not self.store.head("Customer", DEMO_CUSTOMERS[0][0]):
            register_demo_customers(self.shredder)
        self.projector = Projector(self.store, CustomerDirectory(self.shredder))
        self.projector.catch_up()
        self.customer = control(
            w.Dropdown(
                options=[c[0] for c in DEMO_CUSTOMERS],
                value=DEMO_CUSTOMERS[1][0],
                description=_("customer"),
            ),
            self.name,
            "customer",
        )
        self.forget_button = control(
            w.Button(
                layout=_WIDE,
                description=_("Forget this customer"),
                button_style="danger",
                icon="user-times",
            ),
            self.name,
            "button",
        )
        self.update_model = control(
            w.Checkbox(value=True, description=_("update the read model")), self.name, "update"
        )
        self.catchup_button = control(
            w.Button(layout=_WIDE, description=_("Catch up")), self.name, "catchup"
        )
        self.status = control(w.HTML(), self.name, "status")
        self.stored_view = control(w.HTML(), self.name, "stored")
        self.replayed_view = control(
            w.HTML(layout=w.Layout(margin="0 32px 0 0")), self.name, "replayed"
        )
        self.model_view = control(w.HTML(), self.name, "readmodel")
        self.scan_view = control(w.HTML(), self.name, "scan")
        self.customer.observe(self.callback(lambda _: self.refresh()), names="value")
        self.forget_button.on_click(self.callback(lambda _: self.forget()))
        self.catchup_button.on_click(self.callback(lambda _: self.catch_up()))
        self._finish(
            w.HBox([self.customer, self.forget_button, self.update_model, self.catchup_button]),
            self.status,
            self.stored_view,
            w.HBox([self.replayed_view, self.model_view]),
            self.scan_view,
        )
        self.refresh()

    def forget(self) -> str:
        """Forget the chosen customer (and catch the read model up when ticked)."""
        result = self.shredder.forget(self.customer.value)
        text = str(result)
        if self.update_model.value:
            self.projector.catch_up()
            text += "; read model caught up"
        else:
            text += "; the read model has NOT been told yet"
        self.refresh(text)
        return text

    def catch_up(self) -> None:
        """Let the read model handle the events it has not seen (e.g. the forgetting)."""
        run = self.projector.catch_up()
        self.refresh(f"Read model: {run}")

    def leftovers(self) -> int:
        """How many (table, column, text) places still hold the chosen customer's data."""
        return len(find_plaintext(self.store, demo_personal_data(self.customer.value)))

    def refresh(self, note: str = "") -> None:
        """Show the chosen customer as stored, replayed, projected — and the scan."""
        cid = self.customer.value
        forgotten = self.shredder.is_forgotten(cid)
        state = (
            "<b style='color:#b2182b'>forgotten (key deleted)</b>"
            if forgotten
            else ("<b style='color:#1b7837'>has a key</b>")
        )
        self.status.value = f"{html.escape(cid)}: {state}" + (
            f" — {html.escape(note)}" if note else ""
        )
        stored = stored_payload(self.store, "Customer", cid)
        self.stored_view.value = "<b>events.event_data as stored</b>" + html_table(
            ["event", "name", "email", "street", "city"],
            [
                (
                    p["event_type"],
                    _short(p.get("name", "")),
                    _short(p.get("email", "")),
                    _short(p["street"]),
                    p["city"],
                )
                for p in stored
            ],
            css_class=f"eslab-{self.name}-storedtable",
        )
        customer = Customer.replay([s.event for s in self.shredder.load("Customer", cid)])
        self.replayed_view.value = "<b>Replayed (decrypted)</b>" + html_table(
            ["field", "value"],
            [
                ("name", customer.name),
                ("email", customer.email),
                ("street", customer.street),
                ("city", customer.city),
            ],
            css_class=f"eslab-{self.name}-replayedtable",
        )
        row = self.store.sql(
            "SELECT name, email, street, city, forgotten FROM "
            "customer_directory WHERE customer_id = $c",
            {"c": cid},
        )
        cells = [] if row.empty else [(c, _none(v)) for c, v in row.iloc[0].items()]
        self.model_view.value = "<b>Read model customer_directory</b>" + html_table(
            ["column", "value"], cells, css_class=f"eslab-{self.name}-modeltable"
        )
        found = find_plaintext(self.store, demo_personal_data(cid))
        if found.empty:
            self.scan_view.value = (
                "<b>Plaintext scan of every table</b>: "
                "<span style='color:#1b7837'>no plaintext personal data "
                f"of {html.escape(cid)} anywhere</span>"
            )
        else:
            self.scan_view.value = (
                f"<b>Plaintext scan of every table</b>: <span style='color:#b2182b'>"
                f"{len(found)} place(s) still hold it</span>"
                + html_table(
                    list(found.columns),
                    found.values.tolist(),
                    css_class=f"eslab-{self.name}-scantable",
                )
            )


def _short(value: str, width: int = 22) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def _none(value: object) -> object:
    return "NULL" if value is None or value != value else value
