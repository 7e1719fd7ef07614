"""The explorer: look at any event log — filter, zoom, pan, pick an event, export.

``Explorer(source)`` takes what :func:`eslab.viz.events_frame` reads (a store, a
DataFrame, a file, an import from Eventuate or eventsourcing). It draws the timeline of
what the filters leave (stream type, stream, event type) inside a window of global
positions, counts the events per type, and shows one event: its payload and — when you
pass the aggregate class (``aggregates=[Order]``) — the aggregate's state right after
it, rebuilt by replaying the stream up to that event (the seed's time machine).

Big logs stay quick: past ``max_points`` events the picture is thinned (one dot per
stream, event type and slice of the x-axis, see :func:`eslab.viz.frame.thin`); the
counts always use every event.
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
import pandas as pd

from eslab import events as events_module
from eslab import serialization
from eslab.aggregate import Aggregate
from eslab.errors import BadInputError, EslabError
from eslab.viz.frame import events_frame, thin
from eslab.viz.timeline import event_colours, figure_png, timeline
from eslab.widgets.base import Lab, control

ALL = "(all)"
NAME = "explorer"
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
        max_points: int = 20_000,
        export_dir: str | Path = ".",
    ) -> None:
        super().__init__()
        self.frame = events_frame(source, columns, stream_type=stream_type)
        if self.frame.empty:
            raise BadInputError("There are no events to explore in this source.")
        self.aggregates = _aggregate_map(aggregates)
        self.title, self.max_lanes, self.max_points = title, max_lanes, max_points
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
                options=[ALL, *sorted(frame["entity_type"].unique())], description="stream type"
            ),
            "type",
        )
        self.stream_select = _part(w.Dropdown(options=[ALL], description="stream"), "stream")
        self.event_select = _part(
            w.Dropdown(
                options=[ALL, *sorted(frame["event_type"].unique())], description="event type"
            ),
            "event-type",
        )
        has_times = bool(frame["created_at"].notna().any())
        self.x_toggle = _part(
            w.ToggleButtons(
                options=["position", "time"] if has_times else ["position"],
                value=x if has_times else "position",
                description="x axis",
                style={"button_width": "80px"},
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
                layout=w.Layout(width="480px"),
            ),
            "window",
        )
        self.buttons = {
            name: _part(w.Button(description=text, layout=w.Layout(width="auto")), name)
            for name, text in [
                ("zoom-in", "Zoom in"),
                ("zoom-out", "Zoom out"),
                ("pan-left", "◀ Pan"),
                ("pan-right", "Pan ▶"),
                ("reset", "Show all"),
            ]
        }
        self.range_label = _part(w.HTML(), "range")
        # An Image widget, not an Output: the PNG travels as a binary buffer (an Output would
        # send it as base64 text, which notebook runners such as nbclient handle slowly).
        self.plot = _part(w.Image(format="png", layout=w.Layout(max_width="100%")), "plot")
        self.empty_note = _part(w.HTML(), "empty")
        self.position = _part(
            w.BoundedIntText(min=low, max=high, value=low, description="event at"), "position"
        )
        self.prev_button = _part(w.Button(description="◀ Previous"), "prev")
        self.next_button = _part(w.Button(description="Next ▶"), "next")
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
            w.Button(description="Export picture", icon="download"), "export"
        )
        self.export_status = _part(w.HTML(), "download")

        for dropdown in (self.type_select, self.event_select):
            dropdown.observe(self.callback(self._on_filter), names="value")
        self.stream_select.observe(self.callback(self._on_stream), names="value")
        for changed in (self.x_toggle, self.window, self.position):
            changed.observe(self.callback(self._on_change), names="value")
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

        filters = w.HBox([self.type_select, self.stream_select, self.event_select, self.x_toggle])
        moves_row = w.HBox([self.window, *self.buttons.values()])
        picker = w.VBox(
            [w.HBox([self.position, self.prev_button, self.next_button]), self.details],
            layout=w.Layout(width="62%"),
        )
        below = w.HBox([picker, w.VBox([self.counts], layout=w.Layout(width="38%"))])
        export = w.HBox([self.format, self.export_button, self.export_status])
        self._finish(
            filters, moves_row, self.range_label, self.plot, self.empty_note, below, export
        )

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
        if view.empty:
            self.drawn, self.png = view, b""
            self.plot.layout.display = "none"
            self.empty_note.value = "<i>No events here: change the filters or press Show all.</i>"
        else:
            self.drawn, options = self._drawing(self.max_points)
            self.png = figure_png(timeline(self.drawn, **options), dpi=80)
            self.empty_note.value = ""
            self.plot.value = self.png
            self.plot.layout.display = None
        # the texts change after the picture, so what you read always matches what you see
        self.counts.value = _counts_html(view, self.drawn)
        self.details.value = self._details_html()
        self.range_label.value = self._range_text(view)

    def figure(self, max_points: int | None = None) -> Any:
        """The matplotlib Figure of the current view (thinned to ``max_points`` dots)."""
        drawn, options = self._drawing(max_points or self.max_points)
        return timeline(drawn, **options)

    def _drawing(self, max_points: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The rows to draw (busiest lanes, thinned) and the timeline's options."""
        view = self.view
        counts = view["stream"].value_counts()
        lanes = set(counts.index[: self.max_lanes])
        hidden = len(counts) - len(lanes)
        shown = view[view["stream"].isin(lanes)] if hidden else view
        x = self.x_toggle.value
        drawn = thin(shown, x=x, max_points=max_points)
        selected = self.position.value
        if selected in set(shown["position"]) and selected not in set(drawn["position"]):
            drawn = pd.concat([drawn, shown[shown["position"] == selected]])
        title = f"{self.title} · {len(view):,} events"
        if len(drawn) < len(shown):
            title += f" · drawn as {len(drawn):,} dots"
        if hidden:
            title += f" · {len(lanes)} busiest of {len(counts):,} streams"
        highlight = selected if selected in set(drawn["position"]) else None
        return drawn, {"x": x, "highlight": highlight, "title": title, "max_lanes": len(lanes)}

    def export(self, path: str | Path | None = None, fmt: str | None = None) -> Path:
        """Save the current picture (PNG or SVG, for slides); returns the file's path."""
        fmt = (fmt or (Path(path).suffix.lstrip(".") if path else "png")).lower()
        if fmt not in ("png", "svg"):
            raise BadInputError(f"Export as png or svg, not {fmt!r}.")
        if path is None:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.export_dir / f"{self._slug()}.{fmt}"
        path = Path(path)
        fig = self.figure(max_points=5_000 if fmt == "svg" else None)
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


def _part(widget: Any, part: str) -> Any:
    return control(widget, NAME, part)


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


def _counts_html(view: pd.DataFrame, drawn: pd.DataFrame) -> str:
    """Events per type in the view; the dot has the type's colour in the picture."""
    counts = view["event_type"].value_counts()
    colours = event_colours(drawn["event_type"])
    rows = "".join(
        f"<tr><td><span style='color:{_hex(colours.get(str(name), '#bbbbbb'))}'>●</span> "
        f"{html.escape(str(name))}</td><td style='text-align:right'>{n:,}</td></tr>"
        for name, n in counts.items()
    )
    return (
        "<table class='eslab-explorer-counts-table'><tr><th>event type</th><th>events</th>"
        f"</tr>{rows}<tr><td><b>total</b></td><td style='text-align:right'><b>{len(view):,}"
        "</b></td></tr></table>"
    )


def _hex(colour: Any) -> str:
    from matplotlib.colors import to_hex

    return to_hex(colour)
