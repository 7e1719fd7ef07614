"""The upcast lab: stored events beside what the application gets (book §6.1.7).

Pick an order from the old-schema FTGO data (``data/``). On the left, its rows as they
are stored — ``OrderCreated`` at schema v1 or v2; on the right, the same events after
the upcaster chain, at today's schema. Switch upcaster steps off to see a missing step
fail with an error that names the event type and the versions. The timeline strip shows
each event's version badge (stored → loaded).

The switches are the lab's own: the chain runs inside ``upcasting.switched(...)``, so
the global registry is unchanged after every redraw (other cells are not affected).
The stored rows are never modified — the lab checks their checksum after each redraw.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from eslab import datasets, events, upcasting
from eslab.aggregate import AggregateRepository
from eslab.domain.order import Order
from eslab.errors import EslabError
from eslab.store import EventStore
from eslab.widgets.base import Lab, control

BADGE_COLOURS = ("#1a9850", "#f46d43", "#a50026")
"""Badge colour by how many versions behind today's schema: 0, 1, 2 or more."""

_CHECKSUM_SQL = (
    "SELECT count(*), coalesce(md5(string_agg(event_type || schema_version || "
    "event_data::VARCHAR, '|' ORDER BY position)), '') FROM events"
)


@dataclass(frozen=True)
class UpcastRow:
    """One stored event and what the upcaster chain made of it."""

    entity_version: int
    stored_type: str
    stored_version: int
    stored_data: dict[str, Any]
    loaded_type: str
    loaded_version: int
    loaded_data: dict[str, Any]
    current_version: int | None
    steps: tuple[str, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def badge(version: int, current: int | None) -> str:
    """An HTML badge ``v1`` coloured by how far it is behind ``current``."""
    behind = 0 if current is None else max(current - version, 0)
    colour = BADGE_COLOURS[min(behind, len(BADGE_COLOURS) - 1)]
    return (
        f"<span class='eslab-badge' style='background:{colour};color:white;"
        f"border-radius:8px;padding:0 6px;font-size:11px;font-weight:bold'>v{version}</span>"
    )


def upcast_row(
    entity_version: int, event_type: str, schema_version: int, event_data: str
) -> UpcastRow:
    """Run the (currently enabled) chain on one stored row; never raises eslab errors."""
    stored = json.loads(event_data)
    cls = events.registered_types().get(event_type)
    current = cls.schema_version if cls is not None else None
    trail, error = [upcasting.Stage(event_type, schema_version, stored)], None
    try:
        trail = upcasting.stages(event_type, schema_version, stored)
        events.deserialize(event_type, schema_version, event_data)
    except EslabError as exc:
        error = f"{type(exc).__name__}: {exc}"
    last = trail[-1]
    final_cls = events.registered_types().get(last.event_type)
    current = final_cls.schema_version if final_cls is not None else current
    steps = tuple(str(stage.step) for stage in trail if stage.step is not None)
    return UpcastRow(
        entity_version,
        event_type,
        schema_version,
        stored,
        last.event_type,
        last.schema_version,
        last.data,
        current,
        steps,
        error,
    )


def schema_history_figure(store: EventStore, event_type: str = "OrderCreated") -> Figure:
    """When each schema version of ``event_type`` was written: one dot per stored event."""
    rows = store.sql(
        "SELECT created_at, schema_version FROM events WHERE event_type = $t ORDER BY position",
        {"t": event_type},
    )
    cls = events.registered_types().get(event_type)
    current = cls.schema_version if cls is not None else None
    fig = Figure(figsize=(8, 2.4), layout="constrained")
    ax = fig.add_subplot()
    for version in sorted(set(rows.schema_version)):
        chosen = rows[rows.schema_version == version]
        behind = 0 if current is None else max(current - version, 0)
        ax.scatter(
            chosen.created_at,
            [version] * len(chosen),
            s=18,
            alpha=0.7,
            color=BADGE_COLOURS[min(behind, len(BADGE_COLOURS) - 1)],
            label=f"v{version}: {len(chosen)} events",
        )
    ax.set_yticks(sorted(set(rows.schema_version) | ({current} if current else set())))
    ax.set_yticklabels([f"v{v}" for v in ax.get_yticks()])
    ax.set_ylabel("stored schema")
    ax.set_xlabel("created_at")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.set_title(
        f"{event_type} as stored: each release wrote its own schema (today's class is v{current})"
    )
    return fig


class UpcastLab(Lab):
    """Raw stored events vs upcast events, with each upcaster step switchable."""

    name = "upcastlab"

    def __init__(self, store: EventStore | None = None, entity_id: str | None = None) -> None:
        super().__init__()
        self.store = store or datasets.ftgo_store()
        self.repo = AggregateRepository(self.store, Order)
        created = self.store.sql(
            "SELECT entity_id, schema_version FROM events WHERE entity_type = 'Order' "
            "AND event_type = 'OrderCreated' ORDER BY position"
        )
        if created.empty:
            raise EslabError(
                "The upcast lab needs Order streams in the store: load them with "
                "eslab.datasets.load(store)."
            )
        options = [
            (f"{i}  (OrderCreated stored as v{v})", i)
            for i, v in zip(created.entity_id, created.schema_version, strict=True)
        ]
        self.order = control(
            w.Dropdown(
                options=options,
                value=entity_id or options[0][1],
                description="order",
                layout=w.Layout(width="380px"),
            ),
            self.name,
            "order",
        )
        stored_types = set(self.store.sql("SELECT DISTINCT event_type FROM events").event_type)
        self.steps = [s for s in upcasting.steps() if s.event_type in stored_types]
        self.switches: dict[tuple[str, int], w.Checkbox] = {}
        for step in self.steps:
            box = w.Checkbox(
                value=upcasting.is_enabled(*step.key),
                indent=False,
                description=f"{step}  ({step.function.__name__})",
                layout=w.Layout(width="auto"),
            )
            control(box, self.name, "step")
            control(box, self.name, f"step-{step.event_type.lower()}-{step.from_version}")
            box.observe(self.callback(lambda _: self.render()), names="value")
            self.switches[step.key] = box
        self.timeline = control(w.HTML(), self.name, "timeline")
        self.raw = control(w.HTML(layout=w.Layout(width="50%")), self.name, "raw")
        self.upcast = control(w.HTML(layout=w.Layout(width="50%")), self.name, "upcast")
        self.application = control(w.HTML(), self.name, "application")
        self.status = control(w.HTML(), self.name, "status")
        self.stored = control(w.HTML(), self.name, "stored")
        self.order.observe(self.callback(lambda _: self.render()), names="value")
        switches = w.VBox(
            [w.HTML("<b>upcaster steps</b> (untick to switch one off)"), *self.switches.values()]
        )
        self._finish(
            self.order,
            switches,
            self.timeline,
            w.HBox([self.raw, self.upcast]),
            self.application,
            self.status,
            self.stored,
        )
        self.checksum = self.store_checksum()
        self.rows: list[UpcastRow] = []
        self.render()

    def store_checksum(self) -> tuple[int, str]:
        """(rows, md5 of every stored type, version and payload): proof nothing changed."""
        count, digest = self.store.cursor().execute(_CHECKSUM_SQL).fetchall()[0]
        return int(count), str(digest)

    def enabled(self) -> dict[tuple[str, int], bool]:
        """The lab's switches: step key → on/off."""
        return {key: box.value for key, box in self.switches.items()}

    def render(self) -> None:
        """Upcast the chosen order's events with the lab's switches and redraw everything."""
        entity_id = self.order.value
        stored = (
            self.store.cursor()
            .execute(
                "SELECT entity_version, event_type, schema_version, event_data::VARCHAR "
                "FROM events WHERE entity_type = 'Order' AND entity_id = $i "
                "ORDER BY entity_version",
                {"i": entity_id},
            )
            .fetchall()
        )
        with upcasting.switched(self.enabled()):
            self.rows = [upcast_row(*row) for row in stored]
            self.application.value = self._application_view(entity_id)
        self.timeline.value = self._timeline()
        self.raw.value = self._raw_table()
        self.upcast.value = self._upcast_table()
        failed = [r for r in self.rows if not r.ok]
        if failed:
            self.status.value = (
                f"<div style='color:#a50026'><b>{len(failed)} of "
                f"{len(self.rows)} events cannot be loaded.</b> "
                f"{html.escape(failed[0].error or '')}</div>"
            )
        else:
            self.status.value = (
                f"<div style='color:#1a9850'><b>All {len(self.rows)} events "
                "load at today's schema.</b></div>"
            )
        now = self.store_checksum()
        same = "unchanged ✓" if now == self.checksum else "CHANGED ✗"
        self.stored.value = (
            f"<div style='font-size:12px;color:#555'>Stored rows {same} — "
            f"{now[0]:,} rows, checksum <code>{now[1][:12]}</code> "
            "(upcasting happens on load, never on the stored events)</div>"
        )

    def _application_view(self, entity_id: str) -> str:
        try:
            order = self.repo.find(entity_id)
        except EslabError as exc:
            return (
                "<div><b>The application gets:</b> <span style='color:#a50026'>"
                f"{type(exc).__name__}</span> — find() fails</div>"
            )
        address = order.delivery_address
        where = f"{address.street}, {address.city} {address.postcode}" if address else "—"
        state = order.state.value if order.state else "—"
        return (
            f"<div><b>The application gets:</b> Order {html.escape(entity_id)} · "
            f"{state} · total {order.total} · {html.escape(where)}</div>"
        )

    def _timeline(self) -> str:
        chips = []
        for row in self.rows:
            arrow = (
                f" → {badge(row.loaded_version, row.current_version)}"
                if row.loaded_version != row.stored_version
                else ""
            )
            border = "#a50026" if not row.ok else "#999"
            chips.append(
                f"<div class='eslab-upcastlab-chip' style='display:inline-block;margin:2px 6px;"
                f"padding:4px 8px;border:2px solid {border};border-radius:6px'>"
                f"<span style='color:#555'>#{row.entity_version}</span> "
                f"{html.escape(row.stored_type)} {badge(row.stored_version, row.current_version)}"
                f"{arrow}</div>"
            )
        return (
            "<div style='white-space:nowrap;overflow-x:auto'>"
            + "<span style='color:#555'>stream:</span> "
            + " ─ ".join(chips)
            + "</div>"
        )

    def _raw_table(self) -> str:
        cells = [
            (
                r.entity_version,
                html.escape(r.stored_type),
                badge(r.stored_version, r.current_version),
                _pre(r.stored_data),
            )
            for r in self.rows
        ]
        return _table("Stored (never changed)", ["#", "event_type", "schema", "event_data"], cells)

    def _upcast_table(self) -> str:
        cells = []
        for r in self.rows:
            chain = "<br>".join(html.escape(s) for s in r.steps) or "no step needed"
            body = _pre(r.loaded_data)  # as far as the chain got
            if not r.ok:
                body += f"<div style='color:#a50026'>{html.escape(r.error or '')}</div>"
            cells.append(
                (
                    r.entity_version,
                    badge(r.loaded_version, r.current_version),
                    f"<span style='font-size:11px'>{chain}</span>",
                    body,
                )
            )
        return _table("Loaded (after the upcasters)", ["#", "schema", "steps run", "data"], cells)


def _pre(data: dict[str, Any]) -> str:
    text = json.dumps(data, indent=1, ensure_ascii=False)
    return (
        f"<pre style='font-size:10.5px;line-height:1.25;margin:0;white-space:pre-wrap;"
        f"max-height:260px;overflow:auto'>{html.escape(text)}</pre>"
    )


def _table(title: str, headers: list[str], rows: list[tuple[Any, ...]]) -> str:
    """An HTML table whose cells are already HTML (escaped by the caller)."""
    head = "".join(f"<th style='padding:2px 6px;text-align:left'>{h}</th>" for h in headers)
    body = "".join(
        "<tr style='vertical-align:top;border-top:1px solid #ddd'>"
        + "".join(f"<td style='padding:2px 6px'>{c}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return (
        f"<div><b>{html.escape(title)}</b><table style='border-collapse:collapse;"
        f"font-size:12px;width:100%'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )
