"""The explorer: look at any event log — filter, zoom, pan, pick an event, export.

``Explorer(source)`` takes what :func:`eslab.viz.events_frame` reads (a store, a
DataFrame, a file, an import from Eventuate or eventsourcing). It draws the timeline of
what the filters leave (stream type, stream, event type) inside a window of global
positions, counts the events per type, and shows one event: its payload and — when you
pass the aggregate class (``aggregates=[Order]``) — the aggregate's state right after
it, rebuilt by replaying the stream up to that event (the seed's time machine).

Big logs stay quick and readable: a lane whose dots would overlap is drawn as bars of
events per slice of the x-axis, stacked by event type (see :func:`eslab.viz.timeline`);
zoom in and the dots come back. Every stream type keeps a lane. The counts always use
every event. The selected event always lies inside the window: moving the window picks
the nearest event in it, typing a position outside it moves the window.

Zoom and pan are buttons and a slider, not the mouse: ``bench/bench_explorer.py`` measured
``ipympl`` (matplotlib's Jupyter canvas) against this PNG redraw — see the README.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from eslab import events as events_module
from eslab import serialization
from eslab.aggregate import Aggregate
from eslab.errors import BadInputError, EslabError
from eslab.frame import events_frame
from eslab.viz.palette import type_styles
from eslab.viz.timeline import figure_png, lane_plan, timeline
from eslab.widgets.base import Lab, control

ALL = "(all)"
NAME = "explorer"
DPI = 96
"""The picture's resolution: a 10-inch figure is 960 pixels, the width of a notebook."""
_BOX = "max-height:14em;overflow:auto;font-size:85%;line-height:1.25"


def select(
    frame: pd.DataFrame,
    *,
    entity_type: str | None = None,
    stream: str | None = None,
    event_type: str | None = None,
    window: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """The events of ``frame`` that pass the filters (``None`` = no filter), by position."""
    keep = pd.Series(True, index=frame.index)
    if entity_type is not None:
        keep &= frame["entity_type"] == entity_type
    if stream is not None:
        keep &= frame["stream"] == stream
    if event_type is not None:
        keep &= frame["event_type"] == event_type
    if window is not None:
        keep &= frame["position"].between(*window)
    return frame[keep]


def state_after(source: Any, position: int, aggregate: type[Aggregate]) -> Aggregate:
    """The aggregate as it was right after the event at ``position`` (replay up to it).

    Events are decoded with the Event classes registered under their type names; for
    imported rows (no schema version) only the payload keys the class has are used.
    """
    frame = events_frame(source)
    row = frame[frame["position"] == position]
    if row.empty:
        raise BadInputError(
            f"No event at position {position}; positions run from "
            f"{frame['position'].min()} to {frame['position'].max()}."
        )
    event = row.iloc[0]
    history = frame[
        (frame["entity_type"] == event["entity_type"])
        & (frame["entity_id"] == event["entity_id"])
        & (frame["entity_version"] <= event["entity_version"])
    ]
    history = history.sort_values("entity_version")
    events = [
        decode_row(r.event_type, r.schema_version, r.event_data)
        for r in history.itertuples(index=False)
    ]
    replayed = aggregate.replay(events)
    replayed.id, replayed.version = str(event["entity_id"]), int(event["entity_version"])
    return replayed


def decode_row(event_type: str, schema_version: Any, event_data: Any) -> events_module.Event:
    """One row's event as its registered Event class (upcast when it has a schema version)."""
    data = "{}" if pd.isna(event_data) else str(event_data)
    if not pd.isna(schema_version):
        return events_module.deserialize(event_type, int(schema_version), data)
    cls = events_module.event_class(event_type)
    fields = set(getattr(cls, "__dataclass_fields__", {}))
    payload = {k: v for k, v in json.loads(data).items() if k in fields}
    return serialization.decode(cls, payload)


class Explorer(Lab):
    """Filter, zoom, pan and pick events of any log; export the current picture."""

    name = NAME

    def __init__(
        self,
        source: Any,
        *,
        columns: Mapping[str, str | None] | None = None,
        stream_type: str | None = None,
        aggregates: Mapping[str, type[Aggregate]] | Sequence[type[Aggregate]] | None = None,
        x: str = "position",
        title: str = "Event log",
        max_lanes: int = 20,
        label: str | None = None,
        export_dir: str | Path = ".",
    ) -> None:
        super().__init__()
        self.frame = events_frame(source, columns, stream_type=stream_type)
        if self.frame.empty:
            raise BadInputError("There are no events to explore in this source.")
        self.aggregates = _aggregate_map(aggregates)
        self.title, self.max_lanes, self.label = title, max_lanes, label
        self.export_dir = Path(export_dir)
        self.view = self.frame
        self.drawn = self.frame
        self.png = b""
        self.last_export: Path | None = None
        self._quiet = False
        self._build(x)
        self._refresh_streams()
        self._select_first()
        self.refresh()

    # -- the widget ------------------------------------------------------------------------

    def _build(self, x: str) -> None:
        frame = self.frame
        self.type_select = _part(
            w.Dropdown(
                options=[ALL, *sorted(frame["entity_type"].unique())],
                description="stream type",
                **_fits(),
            ),
            "type",
        )
        self.stream_select = _part(
            w.Dropdown(options=[ALL], description="stream", **_fits()), "stream"
        )
        self.event_select = _part(
            w.Dropdown(
                options=[ALL, *sorted(frame["event_type"].unique())],
                description="event type",
                **_fits(),
            ),
            "event-type",
        )
        has_times = bool(frame["created_at"].notna().any())
        self.x_toggle = _part(
            w.ToggleButtons(
                options=["position", "time"] if has_times else ["position"],
                value=x if has_times else "position",
                description="x axis",
                tooltips=["x = global position", "x = time appended"][: 2 if has_times else 1],
                style={"button_width": "auto", "description_width": "initial"},
            ),
            "x",
        )
        low, high = int(frame["position"].min()), int(frame["position"].max())
        self.window = _part(
            w.IntRangeSlider(
                min=low,
                max=high,
                value=(low, high),
                description="positions",
                continuous_update=False,
                layout=w.Layout(flex="1 1 420px", min_width="300px"),
            ),
            "window",
        )
        self.buttons = {
            name: _part(_button(text, tip), name)
            for name, text, tip in [
                ("zoom-in", "Zoom in", "Halve the window around its middle"),
                ("zoom-out", "Zoom out", "Double the window around its middle"),
                ("pan-left", "◀ Pan", "Move the window half its width to the left"),
                ("pan-right", "Pan ▶", "Move the window half its width to the right"),
                ("reset", "Show all", "The whole log again (the filters stay)"),
            ]
        }
        self.range_label = _part(w.HTML(), "range")
        # An Image widget, not an Output: the PNG travels as a binary buffer (an Output would
        # send it as base64 text, which notebook runners such as nbclient handle slowly).
        self.plot = _part(w.Image(format="png", layout=w.Layout(width="100%")), "plot")
        self.empty_note = _part(w.HTML(), "empty")
        self.position = _part(
            w.BoundedIntText(
                min=low, max=high, value=low, description="event at", layout=w.Layout(width="auto")
            ),
            "position",
        )
        self.prev_button = _part(_button("◀ Previous", "The event before, in view"), "prev")
        self.next_button = _part(_button("Next ▶", "The event after, in view"), "next")
        self.details = _part(w.HTML(), "event")
        self.counts = _part(w.HTML(), "counts")
        self.format = _part(
            w.Dropdown(
                options=["png", "svg"],
                value="png",
                description="format",
                layout=w.Layout(width="160px"),
            ),
            "format",
        )
        self.export_button = _part(
            _button(
                "Export picture", "Save the picture as a file, with a download link", "download"
            ),
            "export",
        )
        self.export_status = _part(w.HTML(), "download")

        for dropdown in (self.type_select, self.event_select):
            dropdown.observe(self.callback(self._on_filter), names="value")
        self.stream_select.observe(self.callback(self._on_stream), names="value")
        for changed in (self.x_toggle, self.window):
            changed.observe(self.callback(self._on_change), names="value")
        self.position.observe(self.callback(self._on_position), names="value")
        moves = {
            "zoom-in": self.zoom_in,
            "zoom-out": self.zoom_out,
            "pan-left": lambda: self.pan(-1),
            "pan-right": lambda: self.pan(1),
            "reset": self.show_all,
        }
        for name, move in moves.items():
            self.buttons[name].on_click(self.callback(lambda _b, move=move: move()))
        self.prev_button.on_click(self.callback(lambda _b: self.step(-1)))
        self.next_button.on_click(self.callback(lambda _b: self.step(1)))
        self.export_button.on_click(self.callback(lambda _b: self._export_clicked()))

        filters = _row(self.type_select, self.stream_select, self.event_select, self.x_toggle)
        moves_row = _row(self.window, *self.buttons.values())
        picker = w.VBox(
            [_row(self.position, self.prev_button, self.next_button), self.details],
            layout=w.Layout(flex="3 1 360px", min_width="0"),
        )
        counts = w.VBox([self.counts], layout=w.Layout(flex="2 1 240px", min_width="0"))
        below = _row(picker, counts)
        export = _row(self.format, self.export_button, self.export_status)
        self._finish(
            filters, moves_row, self.range_label, self.plot, self.empty_note, below, export
        )
        self.widget.layout.width = "100%"

    # -- callbacks ---------------------------------------------------------------------------

    def _on_filter(self, _change: dict[str, Any]) -> None:
        if not self._quiet:
            self._refresh_streams()
            self._select_first()
            self.refresh()

    def _on_stream(self, _change: dict[str, Any]) -> None:
        if not self._quiet:
            self._select_first()
            self.refresh()

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._quiet:
            self.refresh()

    def _on_position(self, change: dict[str, Any]) -> None:
        """A position typed outside the window moves the window (same width) to it."""
        if self._quiet:
            return
        low, high = self.window.value
        position = change["new"]
        if not low <= position <= high:
            width = high - low
            low = max(self.window.min, min(position - width // 2, self.window.max - width))
            self._quiet = True
            try:
                self._set_window(low, low + width)
            finally:
                self._quiet = False
        self.refresh()

    def _export_clicked(self) -> None:
        path = self.export(fmt=self.format.value)
        data = path.read_bytes()
        mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
        link = ""
        if len(data) < 8_000_000:
            href = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            link = (
                f' · <a download="{html.escape(path.name)}" href="{href}" '
                f'class="eslab-explorer-link">download</a>'
            )
        self.export_status.value = (
            f"Saved <code>{html.escape(str(path))}</code> ({len(data) / 1024:,.0f} KB){link}"
        )

    # -- moving around -------------------------------------------------------------------------

    def zoom_in(self) -> None:
        """Halve the window around its middle."""
        low, high = self.window.value
        middle, half = (low + high) // 2, max(1, (high - low) // 4)
        self._set_window(middle - half, middle + half)

    def zoom_out(self) -> None:
        """Double the window around its middle."""
        low, high = self.window.value
        width = max(2, high - low)
        self._set_window(low - width // 2, high + width // 2)

    def pan(self, direction: int) -> None:
        """Move the window half its width left (-1) or right (+1)."""
        low, high = self.window.value
        shift = direction * max(1, (high - low) // 2)
        if low + shift < self.window.min:
            shift = self.window.min - low
        if high + shift > self.window.max:
            shift = self.window.max - high
        self._set_window(low + shift, high + shift)

    def show_all(self) -> None:
        """The whole log again (filters stay)."""
        self._set_window(self.window.min, self.window.max)

    def show_time(self, start: datetime | str, end: datetime | str) -> None:
        """Set the window to the events appended between ``start`` and ``end``."""
        times = self.frame["created_at"]
        inside = self.frame[(times >= pd.Timestamp(start)) & (times <= pd.Timestamp(end))]
        if inside.empty:
            raise BadInputError(
                f"No event was appended between {start} and {end}; the log "
                f"runs from {times.min()} to {times.max()}."
            )
        self._set_window(int(inside["position"].min()), int(inside["position"].max()))

    def step(self, direction: int) -> None:
        """Select the previous (-1) or next (+1) event that the filters and window show."""
        positions = self.view["position"].to_numpy()
        if positions.size == 0:
            return
        current = self.position.value
        later = positions[positions > current] if direction > 0 else positions[positions < current]
        if later.size:
            self.position.value = int(later[0] if direction > 0 else later[-1])

    def select_event(self, position: int) -> None:
        """Show the event at ``position`` (payload and state after it)."""
        self.position.value = position

    def _set_window(self, low: int, high: int) -> None:
        low, high = max(self.window.min, low), min(self.window.max, high)
        self.window.value = (low, max(low, high))

    def _refresh_streams(self) -> None:
        """Offer the streams that the type and event-type filters leave (busiest first)."""
        kept = select(
            self.frame, entity_type=_value(self.type_select), event_type=_value(self.event_select)
        )
        counts = kept["stream"].value_counts(sort=True)
        options = [(ALL, ALL)] + [(f"{name} ({n:,})", name) for name, n in counts.items()]
        current = self.stream_select.value
        self._quiet = True
        try:
            self.stream_select.options = options
            self.stream_select.value = current if current in counts.index else ALL
        finally:
            self._quiet = False

    def _select_first(self) -> None:
        view = self._filtered()
        if not view.empty and self.position.value not in set(view["position"]):
            self._quiet = True
            try:
                self.position.value = int(view["position"].iloc[0])
            finally:
                self._quiet = False

    # -- drawing -------------------------------------------------------------------------------

    def _filtered(self) -> pd.DataFrame:
        view = select(
            self.frame,
            entity_type=_value(self.type_select),
            stream=_value(self.stream_select),
            event_type=_value(self.event_select),
            window=self.window.value,
        )
        if self.x_toggle.value == "time":
            view = view[view["created_at"].notna()]
        return view

    def refresh(self) -> None:
        """Apply the filters and window, redraw, recount and show the selected event."""
        self.view = view = self._filtered()
        self._keep_selection_in_view(view)
        if view.empty:
            self.drawn, self.png = view, b""
            self.plot.layout.display = "none"
            self.empty_note.value = "<i>No events here: change the filters or press Show all.</i>"
        else:
            self.drawn, options = self._drawing()
            self.png = figure_png(timeline(self.drawn, **options), dpi=DPI)
            self.empty_note.value = ""
            self.plot.value = self.png
            self.plot.layout.display = None
        # the texts change after the picture, so what you read always matches what you see
        self.counts.value = _counts_html(view)
        self.details.value = self._details_html()
        self.range_label.value = self._range_text(view)

    def figure(self) -> Any:
        """The matplotlib Figure of the current view."""
        drawn, options = self._drawing()
        return timeline(drawn, **options)

    def _keep_selection_in_view(self, view: pd.DataFrame) -> None:
        """When the selected event left the view, select the nearest event in it."""
        positions = view["position"].to_numpy()
        current = self.position.value
        if positions.size == 0 or (positions == current).any():
            return
        self._quiet = True
        try:
            self.position.value = int(positions[np.argmin(np.abs(positions - current))])
        finally:
            self._quiet = False

    def _drawing(self) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The rows to draw (the lanes of :func:`lane_plan`) and the timeline's options."""
        view = self.view
        plan = lane_plan(view, self.max_lanes)
        drawn = view[view["stream"].isin(plan.lanes)] if plan.hidden else view
        selected = self.position.value
        highlight = selected if (drawn["position"] == selected).any() else None
        options = {
            "x": self.x_toggle.value,
            "highlight": highlight,
            "title": f"{self.title} · {len(view):,} events",
            "lanes": plan,
            "label": self.label,
        }
        return drawn, options

    def export(self, path: str | Path | None = None, fmt: str | None = None) -> Path:
        """Save the current picture (PNG or SVG, for slides); returns the file's path."""
        fmt = (fmt or (Path(path).suffix.lstrip(".") if path else "png")).lower()
        if fmt not in ("png", "svg"):
            raise BadInputError(f"Export as png or svg, not {fmt!r}.")
        if path is None:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.export_dir / f"{self._slug()}.{fmt}"
        path = Path(path)
        fig = self.figure()
        options: dict[str, Any] = {"metadata": {"Date": None}} if fmt == "svg" else {"dpi": 150}
        fig.savefig(path, format=fmt, bbox_inches="tight", **options)
        self.last_export = path
        return path

    def _slug(self) -> str:
        parts = ["timeline"] + [
            v
            for v in (
                _value(self.type_select),
                _value(self.stream_select),
                _value(self.event_select),
            )
            if v
        ]
        low, high = self.window.value
        name = "-".join(parts + [f"{low}-{high}"])
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)

    def _range_text(self, view: pd.DataFrame) -> str:
        low, high = self.window.value
        inside = self.frame[self.frame["position"].between(low, high)]["created_at"].dropna()
        when = ""
        if not inside.empty:
            when = f" · {inside.min():%Y-%m-%d %H:%M:%S} → {inside.max():%Y-%m-%d %H:%M:%S}"
        return (
            f"positions {low:,}–{high:,}{when} · <b>{len(view):,}</b> of "
            f"{len(self.frame):,} events shown"
        )

    def _details_html(self) -> str:
        position = self.position.value
        rows = self.frame[self.frame["position"] == position]
        if rows.empty:
            return f"<i>No event at position {position:,}.</i>"
        row = rows.iloc[0]
        facts = [f"position {position:,}", f"version {row['entity_version']}"]
        if pd.notna(row["created_at"]):
            facts.append(f"{row['created_at']:%Y-%m-%d %H:%M:%S}")
        for name in ("event_id", "triggering_event", "metadata"):
            if pd.notna(row[name]):
                facts.append(f"{name}: <code>{html.escape(str(row[name]))}</code>")
        if pd.notna(row["published"]):
            facts.append("published" if row["published"] else "not published yet")
        head = (
            f"<b>{html.escape(row['stream'])}</b> · <b>{html.escape(row['event_type'])}"
            f"</b><br>{' · '.join(facts)}"
        )
        payload = _pretty(row["event_data"])
        return (
            f"{head}<br>Payload:<pre class='eslab-explorer-payload' style='{_BOX}'>"
            f"{payload}</pre>{self._state_html(row)}"
        )

    def _state_html(self, row: pd.Series) -> str:
        aggregate = self.aggregates.get(row["entity_type"])
        if aggregate is None:
            name = html.escape(row["entity_type"])
            return (
                f"<i>State after it: no aggregate class given for {name} "
                "(pass aggregates=[YourAggregate]).</i>"
            )
        try:
            state = state_after(self.frame, int(row["position"]), aggregate)
        except (EslabError, ValueError, TypeError, KeyError) as exc:
            return f"<i>State after it: cannot replay ({html.escape(str(exc))})</i>"
        fields = json.dumps(serialization.encode(state), indent=2, ensure_ascii=False)
        return (
            f"{aggregate.__name__} right after it (replayed {state.version} "
            f"event{'s' if state.version != 1 else ''}):"
            f"<pre class='eslab-explorer-state' style='{_BOX}'>{html.escape(fields)}</pre>"
        )


# -- helpers --------------------------------------------------------------------------------


def _fits() -> dict[str, Any]:
    """Keywords for a control whose description and value show in full."""
    return {
        "style": {"description_width": "initial"},
        "layout": w.Layout(width="auto", max_width="100%"),
    }


def _part(widget: Any, part: str) -> Any:
    return control(widget, NAME, part)


def _button(text: str, tooltip: str, icon: str = "") -> w.Button:
    """A button as wide as its label (never cut to "Zoom…"), with a tooltip."""
    return w.Button(
        description=text,
        tooltip=tooltip,
        icon=icon,
        layout=w.Layout(width="auto", min_width="max-content", flex="0 0 auto"),
    )


def _row(*children: w.Widget) -> w.HBox:
    """A row that wraps onto a new line instead of squeezing its children."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", width="100%"))


def _value(dropdown: w.Dropdown) -> str | None:
    return None if dropdown.value == ALL else dropdown.value


def _aggregate_map(aggregates: Any) -> dict[str, type[Aggregate]]:
    if aggregates is None:
        return {}
    if isinstance(aggregates, Mapping):
        return dict(aggregates)
    if isinstance(aggregates, type):
        aggregates = [aggregates]
    return {cls.__name__: cls for cls in aggregates}


def _pretty(payload: Any) -> str:
    if pd.isna(payload):
        return "(none)"
    try:
        text = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        text = str(payload)
    if len(text) > 4000:
        text = text[:4000] + "\n…"
    return html.escape(text)


def _counts_html(view: pd.DataFrame) -> str:
    """Events per type in the view; the mark has the type's colour and shape in the picture."""
    counts = view["event_type"].value_counts()
    styles = type_styles(counts.index)
    rows = "".join(
        f"<tr><td><span style='color:{styles[str(name)].colour}'>{styles[str(name)].glyph}"
        f"</span> {html.escape(str(name))}</td><td style='text-align:right'>{n:,}</td></tr>"
        for name, n in counts.items()
    )
    return (
        "<table class='eslab-explorer-counts-table'><tr><th>event type</th><th>events</th>"
        f"</tr>{rows}<tr><td><b>total</b></td><td style='text-align:right'><b>{len(view):,}"
        "</b></td></tr></table>"
    )
