"""The conflict lab: Alice's tab and Bob's tab edit the same order (book §6.1.3).

Both tabs load order ``order-1`` at the same version and prepare a change. Saving the
first succeeds; saving the second shows what optimistic locking does with it, in one of
three modes:

* **event store** — the append expects the version the tab loaded; the UNIQUE key on
  (entity_type, entity_id, entity_version) refuses it: ``ConcurrencyError`` (stream,
  expected vs actual version). The timeline marks the rejected append.
* **CRUD: blind overwrite** — ``UPDATE … WHERE id = ?``: 1 row, and the first save is
  silently lost.
* **CRUD: version check** — the seed's ``UPDATE … SET version = version + 1 WHERE
  version = <original>``: 0 rows for the second tab.

"Reload & retry" loads the current version and runs the tab's command again — the
aggregate may now accept it or refuse it, but nobody's change is lost.

Given a ``store`` (e.g. the classroom store of ``ESLAB_STORE``) and an ``order_id``, the
lab works on that stream instead of its own in-memory order: the tabs load the order as
the class left it, a save may meet a classmate's newer version (the same
``ConcurrencyError``, marked on the timeline), and each saved event records who saved it
(``metadata.extra["learner"]``). Only the event-store mode is offered then: the CRUD
table lives in the lab's own store.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w
from IPython.display import HTML, display

from eslab.aggregate import AggregateRepository
from eslab.checks import class_record
from eslab.clock import FixedClock, SeededIds
from eslab.domain.order import (
    Address,
    ApproveOrder,
    CancelOrder,
    ConfirmRevision,
    CreateOrder,
    LineItem,
    Money,
    Order,
    ReviseOrder,
)
from eslab.errors import CommandRejectedError, ConcurrencyError, StreamExistsError
from eslab.events import EventMetadata
from eslab.i18n import _
from eslab.lessons.nb03_optimistic_locking import VersionedTable
from eslab.lessons.nb04_log_tailing import learner_tag
from eslab.serialization import decode, encode
from eslab.store import EventStore
from eslab.viz.timeline import Mark, timeline
from eslab.widgets.base import Lab, control, html_table, show_figure

ORDER_ID = "order-1"
EVENT_STORE = "event store"
CRUD_BLIND = "CRUD: blind overwrite"
CRUD_VERSIONED = "CRUD: version check"
MODES = (EVENT_STORE, CRUD_BLIND, CRUD_VERSIONED)
COMMANDS: dict[str, object] = {
    "Revise: 3 × Margherita": ReviseOrder({"pizza": 3}),
    "Revise: 1 × Margherita, 2 × Tiramisu": ReviseOrder({"pizza": 1, "dessert": 2}),
    "Cancel the order": CancelOrder(),
    "Confirm the revision": ConfirmRevision(),
}
_SHOWN_INSERT = (
    "INSERT INTO events (entity_type, entity_id, entity_version, …) "
    "VALUES ('Order', '{order}', {v}, …)"
)


@dataclass
class Tab:
    """One person's browser tab: the order as it was loaded, and what happened on save."""

    person: str
    command: str
    order: Order
    status: str = ""
    outcome: str = "loaded"
    history: list[str] = field(default_factory=list)


def _summary(order: Order) -> str:
    items = ", ".join(f"{i.quantity} × {i.name}" for i in order.line_items)
    state = order.state.value if order.state else "—"
    text = _("{state}; {items}; total {total}").format(state=state, items=items, total=order.total)
    if order.pending_revision:
        names = {i.menu_item_id: i.name for i in order.line_items}
        proposed = ", ".join(f"{q} × {names.get(k, k)}" for k, q in order.pending_revision.items())
        text += _("; proposed: {proposed}").format(proposed=proposed)
    return text


class ConflictLab(Lab):
    """Two tabs, one order: save, see the conflict, reload & retry, compare with CRUD."""

    name = "conflictlab"

    def __init__(
        self, mode: str = EVENT_STORE, store: EventStore | None = None, order_id: str = ORDER_ID
    ) -> None:
        """Without ``store``, a fresh in-memory order; with one, the stream ``order_id`` there."""
        super().__init__()
        self.shared = store
        self.order_id = order_id
        self.mode = control(
            w.ToggleButtons(
                options=[(_(m), m) for m in (MODES if store is None else MODES[:1])],
                value=mode,
                description=_("save to"),
                style={"button_width": "auto"},
            ),
            self.name,
            "mode",
        )
        self.reset_button = control(
            w.Button(description=_("Reset"), icon="refresh"), self.name, "reset"
        )
        self.tab_boxes: dict[str, dict[str, Any]] = {}
        columns = [
            self._tab_controls(p, c)
            for p, c in (
                ("Alice", "Revise: 3 × Margherita"),
                ("Bob", "Revise: 1 × Margherita, 2 × Tiramisu"),
            )
        ]
        self.sql_view = control(w.HTML(), self.name, "sql")
        self.table_view = control(w.HTML(), self.name, "table")
        self.figure = control(w.Output(), self.name, "timeline")
        self.banner = control(w.HTML(), self.name, "banner")
        self.caption = control(w.Label(), self.name, "caption")
        self.last_figure: Any = None
        self.mode.observe(self.callback(lambda _: self.reset()), names="value")
        self.reset_button.on_click(self.callback(lambda _: self.reset()))
        self._finish(
            w.HBox([self.mode, self.reset_button]),
            w.HBox(columns),
            self.banner,
            w.HBox([self.sql_view, self.table_view]),
            self.figure,
            self.caption,
        )
        self.reset()

    # -- building ----------------------------------------------------------------------

    def _tab_controls(self, person: str, command: str) -> w.VBox:
        key = person.lower()
        title = w.HTML("<b>" + _("{person}'s tab").format(person=person) + "</b>")
        choose = control(
            w.Dropdown(
                options=[(_(c), c) for c in COMMANDS], value=command, layout=w.Layout(width="320px")
            ),
            self.name,
            f"{key}-command",
        )
        save = control(
            w.Button(description=_("Save"), button_style="primary"), self.name, f"{key}-save"
        )
        retry = control(w.Button(description=_("Reload & retry")), self.name, f"{key}-retry")
        status = control(w.HTML(), self.name, f"{key}-status")
        save.on_click(self.callback(lambda _: self.save(person)))
        retry.on_click(self.callback(lambda _: self.reload_and_retry(person)))
        choose.observe(self.callback(lambda ch: self._choose(person, ch["new"])), names="value")
        self.tab_boxes[person] = {"command": choose, "save": save, "retry": retry, "status": status}
        box = w.VBox(
            [title, choose, w.HBox([save, retry]), status],
            layout=w.Layout(width="50%", border="1px solid #ccc", padding="6px"),
        )
        return box

    def _create_order(self) -> Order:
        """Create the order and approve it (version 2); return it."""
        items = [
            LineItem("pizza", "Margherita", 2, Money(950)),
            LineItem("dessert", "Tiramisu", 1, Money(600)),
        ]
        self.repo.save(
            CreateOrder(
                "consumer-7", "restaurant-1", items, Address("1 Main St", "Oakland", "94611")
            ),
            entity_id=self.order_id,
        )
        return self.repo.update(self.order_id, ApproveOrder())

    def reset(self) -> None:
        """Both tabs load the order: a fresh one at version 2, or the given stream as it is now."""
        if self.shared is None:
            self.store = EventStore(clock=FixedClock(), id_factory=SeededIds(3), trace=True)
            self.repo = AggregateRepository(self.store, Order)
            order = self._create_order()
            self.crud = VersionedTable(self.store, "crud_orders")
            self.crud.insert(ORDER_ID, encode(order))
            self.crud.write(ORDER_ID, encode(order), 1, session="setup")  # version 2 too
        else:
            self.store = self.shared
            self.repo = AggregateRepository(self.store, Order)
            if self.store.head("Order", self.order_id) == 0:
                try:
                    self._create_order()
                except (StreamExistsError, ConcurrencyError):
                    pass  # a classmate created it first
            order = self.repo.find(self.order_id)
        self.statements: list[tuple[str, str, str, str]] = []
        self.rejected: list[Mark] = []
        self.lost: list[str] = []
        self.tabs = {p: Tab(p, box["command"].value, order) for p, box in self.tab_boxes.items()}
        for tab in self.tabs.values():
            tab.status = _("loaded version {version}: {summary}").format(
                version=order.version, summary=_summary(order)
            )
        self.banner.value = ""
        self.last_notice = ""
        self.log.clear_output()
        self.refresh()

    def _choose(self, person: str, command: str) -> None:
        self.tabs[person].command = command

    # -- actions -----------------------------------------------------------------------

    def save(self, person: str) -> str:
        """Save the tab's command against the version the tab loaded; return the outcome."""
        tab = self.tabs[person]
        command = COMMANDS[tab.command]
        try:
            events = tab.order.process(command)
        except CommandRejectedError as exc:
            return self._done(
                tab, "refused", _("refused by the order itself: {error}").format(error=exc)
            )
        changed = Order.replay(events, decode(Order, encode(tab.order)))
        changed.id, changed.version = self.order_id, tab.order.version + 1
        if self.mode.value == EVENT_STORE:
            return self._append(tab, events, changed)
        return self._crud_write(tab, changed)

    def reload_and_retry(self, person: str) -> str:
        """Load the current version, then save the same command again."""
        tab = self.tabs[person]
        if self.mode.value == EVENT_STORE:
            tab.order = self.repo.find(self.order_id)
        else:
            row = self.crud.read(ORDER_ID)
            tab.order = decode(Order, row.data)
            tab.order.id, tab.order.version = ORDER_ID, row.version
        tab.history.append(_("reloaded version {version}").format(version=tab.order.version))
        return self.save(person)

    def _append(self, tab: Tab, events: list[Any], changed: Order) -> str:
        expected = tab.order.version
        shown = _SHOWN_INSERT.format(order=self.order_id, v=expected + 1)
        who = None if self.shared is None else f"{learner_tag()}/{tab.person}"
        try:
            self.store.append(
                "Order",
                self.order_id,
                events,
                expected,
                metadata=None if who is None else EventMetadata(extra={"learner": who}),
            )
        except ConcurrencyError as exc:
            self.statements.append(
                (
                    tab.person,
                    shown,
                    _("0 (duplicate key)"),
                    _(
                        "ConcurrencyError: stream at version {actual}, {person} expected {expected}"
                    ).format(actual=exc.actual_version, person=tab.person, expected=expected),
                )
            )
            # The refused INSERT used up the next position: it stays a gap in the log.
            self.rejected.append(
                Mark(
                    f"Order {self.order_id}",
                    self.store.last_position() + 1,
                    "rejected",
                    _("{person}: v{version} refused").format(
                        person=tab.person, version=expected + 1
                    ),
                )
            )
            # In a workshop the instructor's live view counts it (no-op without ESLAB_STORE).
            class_record.conflict_seen(f"Order/{self.order_id}", expected, exc.actual_version)
            return self._done(tab, "conflict", f"{type(exc).__name__}: {exc}")
        self.statements.append(
            (tab.person, shown, "1", _("version {version} stored").format(version=expected + 1))
        )
        tab.order = changed
        return self._done(
            tab,
            "saved",
            _("saved version {version}: {summary}").format(
                version=changed.version, summary=_summary(changed)
            ),
        )

    def _crud_write(self, tab: Tab, changed: Order) -> str:
        original = tab.order.version
        before = self.crud.read(ORDER_ID)
        checked = self.mode.value == CRUD_VERSIONED
        write = self.crud.write(
            ORDER_ID, encode(changed), original if checked else None, session=tab.person
        )
        sql = (
            write.sql.replace("$original_version", str(original))
            .replace("$id", f"'{ORDER_ID}'")
            .replace("$data", "…")
        )
        if not write.won:
            self.statements.append(
                (tab.person, sql, "0", _("someone saved first: nothing changed"))
            )
            return self._done(
                tab,
                "conflict",
                _(
                    "0 rows updated: the row is no longer at version {version}. Reload and retry."
                ).format(version=original),
            )
        tab.order = changed
        tab.order.version = before.version + 1
        if before.version != original:
            self.lost.append(
                _("{person} overwrote version {version} ({summary})").format(
                    person=tab.person,
                    version=before.version,
                    summary=_summary(decode(Order, before.data)),
                )
            )
            self.statements.append((tab.person, sql, "1", _("LOST UPDATE: overwrote a newer row")))
            return self._done(
                tab,
                "overwrote",
                _(
                    "saved, but it silently overwrote version {version} — that change is lost"
                ).format(version=before.version),
            )
        self.statements.append(
            (
                tab.person,
                sql,
                "1",
                _("row now at version {version}").format(version=before.version + 1),
            )
        )
        return self._done(
            tab,
            "saved",
            _("saved version {version}: {summary}").format(
                version=tab.order.version, summary=_summary(changed)
            ),
        )

    def _done(self, tab: Tab, outcome: str, status: str) -> str:
        tab.outcome, tab.status = outcome, status
        tab.history.append(status)
        if outcome in ("conflict", "refused"):
            self.notice(f"{tab.person}: {status}")
        self.refresh()
        return outcome

    # -- showing -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw the tabs, the SQL, the table and the timeline."""
        colours = {
            "saved": "#1b7837",
            "conflict": "#b2182b",
            "overwrote": "#b2182b",
            "refused": "#b35806",
            "loaded": "#333",
        }
        for person, tab in self.tabs.items():
            self.tab_boxes[person]["status"].value = (
                f"<div style='color:{colours[tab.outcome]}'>"
                + _("holds version {version}").format(version=tab.order.version)
                + f"<br>{html.escape(tab.status)}</div>"
            )
        self.sql_view.value = (
            "<b>"
            + _("What ran")
            + "</b>"
            + html_table(
                [_("tab"), _("statement"), _("rows affected"), _("result")],
                self.statements,
                highlight=len(self.statements) - 1 if self.statements else None,
                css_class=f"eslab-{self.name}-sqltable",
            )
        )
        self.banner.value = (
            (
                "<div style='color:#b2182b;font-weight:bold'>"
                + _("Lost update: ")
                + html.escape("; ".join(self.lost))
                + "</div>"
            )
            if self.lost
            else ""
        )
        if self.mode.value == EVENT_STORE:
            rows = [
                (e.position, e.entity_version, e.event_type)
                for e in self.store.load("Order", self.order_id)
            ]
            self.table_view.value = f"<b>events (Order {self.order_id})</b>" + html_table(
                ["position", "entity_version", "event_type"],
                rows,
                css_class=f"eslab-{self.name}-rows",
            )
            fig = timeline(
                self.store.load("Order", self.order_id),
                marks=self.rejected,
                title=_("Order {order}: a rejected append is marked ✕").format(order=self.order_id),
                figsize=(8, 1.9),
            )
            self.last_figure = fig
            show_figure(self.figure, fig)
            self.caption.value = _(
                "Timeline: {stored} events stored, {rejected} rejected append(s) marked ✕"
            ).format(stored=len(rows), rejected=len(self.rejected))
        else:
            row = self.crud.read(ORDER_ID)
            self.table_view.value = (
                "<b>"
                + _("crud_orders (the only copy)")
                + "</b>"
                + html_table(
                    ["id", _("state / items / total"), "version"],
                    [(row.id, _summary(decode(Order, row.data)), row.version)],
                    css_class=f"eslab-{self.name}-rows",
                )
            )
            with self.figure:
                self.figure.clear_output(wait=True)
                display(
                    HTML(
                        "<i>"
                        + _("A CRUD table has no history to draw: only the current row.")
                        + "</i>"
                    )
                )
            self.caption.value = _("CRUD: one row at version {version}, no history").format(
                version=row.version
            )

    def rows_affected(self) -> list[str]:
        """The 'rows affected' column, in order (for tests and checks)."""
        return [s[2] for s in self.statements]
