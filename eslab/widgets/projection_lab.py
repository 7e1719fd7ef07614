"""The projection lab: a read model following the log (notebook 09, CQRS).

"Place 3 orders" appends real Order events; the status line shows the log's head, the
projection's checkpoint and how many events it is behind. "Catch up" projects them (one
transaction per batch, checkpoint included) and the read-model table updates.
"Redeliver" hands the projection events it has already seen: they are skipped.
"Rebuild from zero" drops the read model and rebuilds it from position 0 over the whole
generated dataset, with a progress bar, then says whether the result equals the
caught-up read model it replaced.
"""

from __future__ import annotations

import html
import random
from datetime import datetime, timedelta
from typing import Any

import ipywidgets as w

from eslab.aggregate import AggregateRepository
from eslab.clock import FixedClock, SeededIds
from eslab.datasets import generate_orders_in_sql
from eslab.domain.order import Address, ApproveOrder, CreateOrder, LineItem, Money, Order
from eslab.lessons.nb09_queries_and_projections import OrderHistory
from eslab.projections import Projector
from eslab.store import EventStore
from eslab.widgets.base import Lab, control, html_table

_WIDE = w.Layout(width="auto")
"""Buttons as wide as their label."""

MENU = (
    ("dosa", "Masala Dosa", 950),
    ("thali", "Veg Thali", 1450),
    ("lassi", "Mango Lassi", 450),
    ("naan", "Garlic Naan", 350),
    ("curry", "Chicken Curry", 1650),
)
"""(menu item id, name, price in cents) of the orders the lab places."""


class ProjectionLab(Lab):
    """Append orders, catch up, redeliver and rebuild the OrderHistory read model."""

    name = "projection"

    def __init__(
        self,
        store: EventStore | None = None,
        *,
        orders: int = 6000,
        seed: int = 0,
        batch_size: int = 500,
    ) -> None:
        super().__init__()
        self.store = store or EventStore(
            clock=FixedClock(datetime(2024, 3, 8, 9, 0), timedelta(seconds=45)),
            id_factory=SeededIds(seed),
        )
        if orders:
            generate_orders_in_sql(self.store, orders, seed=seed, prefix=f"lab{seed}-order-")
        self.repo = AggregateRepository(self.store, Order)
        self.projector = Projector(self.store, OrderHistory(), batch_size=batch_size)
        self.random = random.Random(seed)
        self.placed = 0
        self.append_button = control(
            w.Button(layout=_WIDE, description="Place 3 orders", icon="plus"), self.name, "append"
        )
        self.catchup_button = control(
            w.Button(layout=_WIDE, description="Catch up", button_style="primary", icon="forward"),
            self.name,
            "catchup",
        )
        self.redeliver_button = control(
            w.Button(layout=_WIDE, description="Redeliver last 3"), self.name, "redeliver"
        )
        self.rebuild_button = control(
            w.Button(
                layout=_WIDE,
                description="Rebuild from zero",
                button_style="warning",
                icon="refresh",
            ),
            self.name,
            "rebuild",
        )
        self.progress = control(
            w.IntProgress(value=0, min=0, max=1, description="events"), self.name, "progress"
        )
        self.status = control(w.HTML(), self.name, "status")
        self.message = control(w.HTML(), self.name, "message")
        self.log_view = control(w.HTML(), self.name, "log")
        self.table = control(w.HTML(), self.name, "table")
        self.append_button.on_click(self.callback(lambda _: self.place_orders(3)))
        self.catchup_button.on_click(self.callback(lambda _: self.catch_up()))
        self.redeliver_button.on_click(self.callback(lambda _: self.redeliver(3)))
        self.rebuild_button.on_click(self.callback(lambda _: self.rebuild()))
        self._finish(
            w.HBox(
                [
                    self.append_button,
                    self.catchup_button,
                    self.redeliver_button,
                    self.rebuild_button,
                ]
            ),
            w.HBox([self.progress, self.status]),
            self.message,
            self.log_view,
            self.table,
        )
        self.catch_up()

    # -- actions ------------------------------------------------------------------------

    def place_orders(self, count: int) -> list[str]:
        """Create ``count`` orders (most of them approved right away); return their ids."""
        ids = []
        for _ in range(count):
            self.placed += 1
            order_id = f"new-order-{self.placed}"
            items = [
                LineItem(m_id, name, self.random.randint(1, 3), Money(cents))
                for m_id, name, cents in self.random.sample(MENU, self.random.randint(1, 3))
            ]
            consumer = f"consumer-{self.random.randint(1, 5)}"
            address = Address(f"{self.random.randint(1, 99)} Main Street", "Springfield", "12345")
            self.repo.save(
                CreateOrder(consumer, "restaurant-ajanta", items, address), entity_id=order_id
            )
            if self.random.random() < 0.7:
                self.repo.update(order_id, ApproveOrder())
            ids.append(order_id)
        self.message.value = (
            f"Placed {', '.join(ids)}. The events are in the log; the read model does not know yet."
        )
        self.refresh()
        return ids

    def catch_up(self) -> str:
        """Project every event after the checkpoint (progress bar included)."""
        run = self.projector.catch_up(on_progress=self._progress)
        self.message.value = "Catch-up: " + html.escape(str(run))
        self.refresh()
        return str(run)

    def redeliver(self, count: int) -> str:
        """Deliver the last ``count`` already-projected events again: all are skipped."""
        checkpoint = self.projector.position
        positions = self.store.sql(
            "SELECT position FROM events WHERE position <= $c ORDER BY position DESC LIMIT $n",
            {"c": checkpoint, "n": count},
        )["position"].tolist()
        events = self.store.read_all(min(positions) - 1, limit=count) if positions else []
        before = self.projector.read_model(order_by="order_id")
        run = self.projector.deliver(events)
        same = before.equals(self.projector.read_model(order_by="order_id"))
        redelivered = ", ".join(str(e.position) for e in events)
        self.message.value = (
            f"Redelivered positions {redelivered}: skipped {run.skipped}, "
            f"applied {run.events}. Read model unchanged: "
            f"{'yes' if same else 'NO'}."
        )
        self.refresh()
        return self.message.value

    def rebuild(self) -> bool:
        """Catch up, then rebuild from zero and compare; True when both read models agree."""
        self.projector.catch_up()
        before = self.projector.read_model(order_by="order_id")
        run = self.projector.rebuild(on_progress=self._progress)
        same = before.equals(self.projector.read_model(order_by="order_id"))
        verdict = (
            "<b style='color:#1b7837'>identical</b>"
            if same
            else "<b style='color:#b2182b'>DIFFERENT</b>"
        )
        self.message.value = (
            f"Rebuilt from zero: {run.events:,} events in {run.batches} "
            f"transactions. Compared with the caught-up read model: {verdict}."
        )
        self.refresh()
        return same

    def _progress(self, done: int, total: int) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = done if total else 1

    # -- showing --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw the status line, the newest events and the newest read-model rows."""
        head, checkpoint = self.store.last_position(), self.projector.position
        behind = self.projector.behind()
        colour = "#1b7837" if behind == 0 else "#b2182b"
        self.status.value = (
            f"log head: position {head:,} · checkpoint: {checkpoint:,} · "
            f"<b style='color:{colour}'>behind: {behind} events</b>"
        )
        self.log_view.value = "<b>Newest events in the log</b><br>" + self._log_strip(checkpoint)
        rows = self.store.sql(
            "SELECT order_id, consumer_id, state, total_cents, placed_at, order_version "
            "FROM order_history ORDER BY placed_at DESC, order_id DESC LIMIT 6"
        )
        self.table.value = "<b>Read model: order_history (newest 6 rows)</b>" + html_table(
            list(rows.columns),
            [_cells(r) for r in rows.itertuples(index=False)],
            css_class=f"eslab-{self.name}-rows",
        )

    def _log_strip(self, checkpoint: int, last: int = 10) -> str:
        frame = self.store.sql(
            "SELECT position, entity_id, event_type FROM events ORDER BY position DESC LIMIT $n",
            {"n": last},
        )
        boxes = []
        for pos, entity, kind in reversed(list(frame.itertuples(index=False))):
            done = pos <= checkpoint
            colour = "#c7e9c0" if done else "#eeeeee"
            border = "#1b7837" if done else "#999999"
            boxes.append(
                f"<div style='display:inline-block;margin:2px;padding:2px 6px;font-size:11px;"
                f"background:{colour};border:1px solid {border};border-radius:3px'>"
                f"<b>{pos}</b><br>{html.escape(kind.removeprefix('Order'))}<br>"
                f"<span style='color:#555'>{html.escape(entity)}</span></div>"
            )
        return "".join(boxes)


def _cells(row: Any) -> list[Any]:
    order_id, consumer, state, total, placed, version = row
    return [order_id, consumer, state, f"€{total / 100:,.2f}", str(placed)[:19], version]
