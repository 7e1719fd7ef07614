"""Timelines: one lane per stream, one dot per event, a colour per event type.

``timeline(store)`` draws every stream; ``x="time"`` uses the append time instead of
the global position. Markers show what the chapter talks about: the current event
(``highlight``), rejected appends, duplicate deliveries, snapshots, compensations.

Readable at any size:

* a type has the same colour (and dot shape) in every picture (:mod:`eslab.viz.palette`);
* a lane whose dots would overlap at the figure's width is drawn as a **density lane**:
  one bar per slice of the x-axis, as tall as the events in it and stacked by event type,
  so no type hides another (zoom in and the dots come back);
* with more streams than ``max_lanes`` every stream type keeps at least one lane, and a
  row says how many of that type are not shown ("+27 more Book streams");
* lane labels are short (a UUID becomes its first 8 digits) or name a column you choose
  (``label="title"``: a column of the table or a key of the payload);
* position ticks are whole numbers; labels are wrapped to stay inside the figure.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from eslab.errors import BadInputError
from eslab.frame import events_frame
from eslab.viz.palette import OUTCOME_STYLES, event_colours, type_styles

MARK_STYLES = OUTCOME_STYLES
"""Outcome markers (the palette's :data:`~eslab.viz.palette.OUTCOME_STYLES`)."""

LABEL_LIMIT = 40
"""Up to this many events, each dot gets its version number."""

SLICE_PT = 6.0
"""Width of one slice of a density lane, in points (1/72 inch)."""

LEGEND_ROWS = 16
"""Legend entries per column (more entries: more columns)."""

__all__ = [
    "LABEL_LIMIT",
    "LanePlan",
    "MARK_STYLES",
    "Mark",
    "event_colours",
    "figure_png",
    "lane_plan",
    "short_id",
    "texts_outside",
    "timeline",
]

_UUID = re.compile(r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Mark:
    """A marker on the timeline, also for things that have no row (a rejected append)."""

    stream: str
    x: Any
    kind: str
    label: str = ""


@dataclass(frozen=True)
class LanePlan:
    """Which streams get a lane (in drawing order) and how many of each type do not."""

    lanes: tuple[str, ...]
    hidden: tuple[tuple[str, int], ...] = ()

    @property
    def hidden_total(self) -> int:
        """How many streams have no lane."""
        return sum(n for _, n in self.hidden)

    def rows(self, type_of: dict[str, str]) -> list[tuple[str, str]]:
        """``("lane", stream)`` per lane, and ``("more", stream type)`` after a type's lanes
        when some of its streams are hidden."""
        hidden = dict(self.hidden)
        out: list[tuple[str, str]] = []
        for i, stream in enumerate(self.lanes):
            out.append(("lane", stream))
            kind = type_of[stream]
            last_of_type = i + 1 == len(self.lanes) or type_of[self.lanes[i + 1]] != kind
            if last_of_type and hidden.get(kind):
                out.append(("more", kind))
        return out


def lane_plan(frame: pd.DataFrame, max_lanes: int = 30) -> LanePlan:
    """Lanes for ``frame``: all streams when they fit, else per stream type.

    Streams are in order of first appearance. When there are more than ``max_lanes``,
    every stream type keeps its busiest stream, the other lanes go to the busiest streams
    of any type, and lanes are grouped by type.
    """
    counts = frame.groupby("stream", sort=False).size()
    order = list(counts.index)
    if len(order) <= max_lanes:
        return LanePlan(tuple(order))
    type_of = frame.drop_duplicates("stream").set_index("stream")["entity_type"]
    types = list(dict.fromkeys(type_of[order]))
    busiest = counts.sort_values(ascending=False, kind="stable")
    busiest_types = type_of[busiest.index]
    chosen = {busiest.index[int(np.argmax((busiest_types == t).to_numpy()))] for t in types}
    for stream in busiest.index:
        if len(chosen) >= max_lanes:
            break
        chosen.add(stream)
    lanes = [s for t in types for s in order if s in chosen and type_of[s] == t]
    per_type = type_of.value_counts()
    shown = type_of[lanes].value_counts()
    hidden = tuple((t, int(per_type[t] - shown.get(t, 0))) for t in types)
    return LanePlan(tuple(lanes), tuple((t, n) for t, n in hidden if n))


def short_id(entity_id: str, width: int = 16) -> str:
    """A lane-sized id: a UUID becomes its first 8 digits, a long id is cut with …"""
    text = str(entity_id)
    if _UUID.match(text):
        return text[:8] + "…"
    return text if len(text) <= width else text[: width - 1] + "…"


def timeline(
    source: Any,
    *,
    x: str = "position",
    highlight: int | Sequence[int] | None = None,
    marks: dict[int, str] | Sequence[Mark] | None = None,
    ax: Any = None,
    title: str | None = None,
    max_lanes: int = 30,
    figsize: tuple[float, float] | None = None,
    label: str | None = None,
    density: bool | None = None,
    lanes: LanePlan | None = None,
) -> Figure:
    """Draw the events of ``source`` (a store, StoredEvents or DataFrame); return the Figure.

    ``label`` names a column (or payload key) whose value labels each lane; ``density``
    forces density lanes on (True) or off (False) — by default a lane is drawn as density
    when its dots would overlap. ``lanes`` gives the lanes (see :func:`lane_plan`).
    """
    if x not in ("position", "time"):
        raise ValueError(f"x must be 'position' or 'time', got {x!r}.")
    frame = events_frame(source)
    plan = lanes or lane_plan(frame, max_lanes)
    frame = frame[frame["stream"].isin(plan.lanes)]
    first = frame.drop_duplicates("stream")
    type_of = dict(zip(first["stream"], first["entity_type"], strict=True))
    rows = plan.rows(type_of)
    lane_of = {name: i for i, (kind, name) in enumerate(rows) if kind == "lane"}
    if ax is None:
        height = 1.3 + 0.42 * max(len(rows), 1)
        fig = Figure(figsize=figsize or (10, min(height, 12)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    xs = _x_values(frame, x)
    ys = frame["stream"].map(lane_of).to_numpy(dtype="float64")
    n = len(frame)
    size = 80 if n <= LABEL_LIMIT else (30 if n <= 2000 else 14)
    low, high = _x_range(np.concatenate([xs, _marks_x(marks, x)]), x)
    types = frame["event_type"].to_numpy(dtype=object)
    styles = type_styles(pd.unique(types))
    lane_texts = _row_texts(frame, rows, label, plan)
    width_pt = _axes_width_pt(ax, lane_texts, list(styles))
    dense = _dense_lanes(xs, ys, size, (high - low) / width_pt, density)
    sparse = ~np.isin(ys, list(dense))
    _draw_dots(ax, xs[sparse], ys[sparse], types[sparse], styles, size)
    if dense:
        _draw_density(ax, xs, ys, types, dense, styles, low, high, width_pt)
    if n <= LABEL_LIMIT:
        versions = frame["entity_version"].to_numpy()
        ringed = np.isin(frame["position"].to_numpy(), _positions(highlight))
        for xv, yv, v, ring in zip(
            xs[sparse], ys[sparse], versions[sparse], ringed[sparse], strict=True
        ):
            ax.annotate(
                f"v{v}",
                (xv, yv),
                textcoords="offset points",
                xytext=(0, 13 if ring else 8),  # above the current event's ring
                ha="center",
                fontsize=7,
                color="#333333",
            )
    for yv, (kind, _name) in enumerate(rows):
        if kind == "lane":
            ax.axhline(yv, color="#dddddd", lw=0.8, zorder=1)
    lines = _draw_marks(ax, frame, xs, x, lane_of, highlight, marks, (low, high))
    _axes_labels(ax, rows, lane_texts, x)
    ax.set_xlim(low, high)
    ax.set_ylim(len(rows) - 0.3 + (0.35 + 0.3 * lines if lines else 0.0), -0.7)
    ax.set_xlabel(_x_label(frame, x, xs))
    text = title or "Event timeline"
    if plan.hidden_total:
        text += f"  (+{plan.hidden_total:,} more streams)"
    ax.set_title(_wrap(text, fig.get_figwidth() * 72 / 7.0))
    _legend(ax, styles, size, bool(dense))
    return fig


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (what notebooks and widgets display)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


# -- geometry ----------------------------------------------------------------------------------


def _x_values(frame: pd.DataFrame, x: str) -> np.ndarray:
    if x == "position":
        return frame["position"].to_numpy(dtype="float64")
    from matplotlib import dates

    return dates.date2num(frame["created_at"].to_numpy())


def _x_range(xs: np.ndarray, x: str) -> tuple[float, float]:
    finite = xs[np.isfinite(xs)]
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if x == "position":
        pad = max((high - low) * 0.03, 0.6)  # whole positions: most of one on each side
    else:
        pad = (high - low) * 0.03 or 0.6 / 86_400  # one instant: most of a second
    return low - pad, high + pad


def _axes_width_pt(ax: Any, lane_texts: list[str], legend_texts: list[str]) -> float:
    """The axes' width in points once laid out (estimated before the layout runs)."""
    fig = ax.figure
    width = fig.get_figwidth() * 72
    if fig.get_layout_engine() is None:
        return max(width * ax.get_position().width, 72.0)
    left = 6.0 * max(map(len, lane_texts), default=0) + 24  # 10 pt labels, ticks, padding
    names = max(map(len, legend_texts), default=0)
    columns = 1 + (len(legend_texts) + 2) // LEGEND_ROWS
    right = (5.0 * max(names, 22) + 30) * columns  # 8 pt legend text beside its marker
    return max(width - left - right, 72.0)


def _dense_lanes(
    xs: np.ndarray,
    ys: np.ndarray,
    size: float,
    data_per_pt: float,
    density: bool | None,
) -> set[float]:
    """Lanes whose dots would touch (closer than a dot's diameter) at this width."""
    if density is False or len(xs) == 0:
        return set()
    if density is True:
        return set(np.unique(ys).tolist())
    diameter = np.sqrt(size) * data_per_pt
    order = np.lexsort((xs, ys))
    lane, at = ys[order], xs[order]
    same_lane = lane[1:] == lane[:-1]
    close = same_lane & (np.diff(at) < diameter)
    return set(np.unique(lane[1:][close]).tolist())


# -- drawing -----------------------------------------------------------------------------------


def _draw_dots(
    ax: Any, xs: np.ndarray, ys: np.ndarray, types: np.ndarray, styles: dict, size: float
) -> None:
    names, counts = np.unique(types, return_counts=True)
    for name in names[np.argsort(-counts, kind="stable")]:  # frequent first: rare on top
        chosen = types == name
        style = styles[name]
        ax.scatter(
            xs[chosen],
            ys[chosen],
            s=size,
            color=style.colour,
            marker=style.marker,
            edgecolors="#333333",
            linewidths=0.3,
            label=name,
            zorder=3,
        )


def _draw_density(
    ax: Any,
    xs: np.ndarray,
    ys: np.ndarray,
    types: np.ndarray,
    dense: set[float],
    styles: dict,
    low: float,
    high: float,
    width_pt: float,
) -> None:
    """One bar per (lane, slice): height by the events in it, stacked by type (sorted)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    slices = max(8, int(width_pt / SLICE_PT))
    inside = np.isin(ys, list(dense))
    lanes = np.array(sorted(dense))
    names = np.array(sorted(set(types[inside])))
    lane_i = np.searchsorted(lanes, ys[inside])
    type_i = np.searchsorted(names, types[inside])
    step = (high - low) / slices
    slot = np.clip(((xs[inside] - low) / step).astype("int64"), 0, slices - 1)
    counts = np.zeros((len(lanes), slices, len(names)), dtype="int64")
    np.add.at(counts, (lane_i, slot, type_i), 1)
    totals = counts.sum(axis=2)
    peak = max(int(totals.max()), 1)
    heights = np.where(totals > 0, 0.25 + 0.55 * np.sqrt(totals / peak), 0.0)
    present = counts > 0
    shares = np.where(present, np.maximum(counts / np.maximum(totals, 1)[..., None], 0.12), 0.0)
    shares = shares / np.maximum(shares.sum(axis=2, keepdims=True), 1e-9)
    parts = shares * heights[..., None]
    tops = np.cumsum(parts, axis=2) - heights[..., None] / 2
    bottoms = tops - parts
    li, si, ti = np.nonzero(present)
    x0 = low + si * step
    x1 = x0 + step * 0.92
    y0 = lanes[li] + bottoms[li, si, ti]
    y1 = lanes[li] + tops[li, si, ti]
    corners = np.stack([x0, y0, x0, y1, x1, y1, x1, y0, x0, y0], 1).reshape(-1, 5, 2)
    box = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
    for t, name in enumerate(names):  # one compound path per type: quick to build and draw
        mine = corners[ti == t]
        path = Path(mine.reshape(-1, 2), np.tile(box, len(mine)))
        style = styles[name]
        patch = PathPatch(
            path, facecolor=style.colour, edgecolor="white", hatch=style.hatch, lw=0, zorder=3
        )
        ax.add_artist(patch)  # not add_patch: the limits are set, no need to scan the bars


def _draw_marks(
    ax: Any,
    frame: pd.DataFrame,
    xs: np.ndarray,
    x: str,
    lane_of: dict[str, int],
    highlight: int | Sequence[int] | None,
    marks: dict[int, str] | Sequence[Mark] | None,
    span: tuple[float, float],
) -> int:
    """Highlight and outcome markers; returns the most lines a label below a mark has."""
    positions = frame["position"].to_numpy()
    lanes = frame["stream"].map(lane_of).to_numpy()
    if highlight is not None:
        chosen = np.isin(positions, _positions(highlight))
        ax.scatter(
            xs[chosen],
            lanes[chosen],
            s=420,
            facecolors="none",
            edgecolors="black",
            linewidths=2.5,
            zorder=4,
            label="current event",
        )
    if not marks:
        return False
    points: dict[str, list[tuple[Any, float]]] = {}
    lines = 0
    if isinstance(marks, dict):
        chosen = np.isin(positions, list(marks))
        for pos, xv, yv in zip(positions[chosen], xs[chosen], lanes[chosen], strict=True):
            points.setdefault(marks[pos], []).append((xv, yv))
    else:
        for mark in marks:
            if mark.stream not in lane_of:
                continue
            xv = _mark_x(mark.x, x)
            points.setdefault(mark.kind, []).append((xv, lane_of[mark.stream]))
            if mark.label:
                lines = max(lines, _mark_label(ax, mark, xv, lane_of[mark.stream], span))
    for kind, xy in points.items():
        style = dict(OUTCOME_STYLES.get(kind, {"marker": "*", "color": "black", "s": 120}))
        style.setdefault("label", kind)
        ax.scatter([p[0] for p in xy], [p[1] for p in xy], zorder=5, **style)
    return lines


def _positions(highlight: int | Sequence[int] | None) -> list[int]:
    if highlight is None:
        return []
    return [highlight] if isinstance(highlight, int | np.integer) else list(highlight)


def _marks_x(marks: dict[int, str] | Sequence[Mark] | None, x: str) -> np.ndarray:
    """Where the marks without a row (a rejected append) sit: the x-axis must show them."""
    if not marks or isinstance(marks, dict):
        return np.array([], dtype="float64")
    return np.array([_mark_x(m.x, x) for m in marks], dtype="float64")


def _mark_x(value: Any, x: str) -> float:
    if x == "time" and not isinstance(value, int | float | np.number):
        from matplotlib import dates

        return float(dates.date2num(pd.Timestamp(value).to_datetime64()))
    return float(value)


def _mark_label(ax: Any, mark: Mark, xv: float, yv: float, span: tuple[float, float]) -> int:
    """The mark's label under it, wrapped, aligned to stay inside the axes; its lines."""
    share = (xv - span[0]) / ((span[1] - span[0]) or 1.0)
    ha = "left" if share < 0.25 else ("right" if share > 0.75 else "center")
    text = _wrap(mark.label, 40)
    ax.annotate(
        text,
        (xv, yv),
        xytext=(0, -8),
        textcoords="offset points",
        ha=ha,
        va="top",
        fontsize=7,
        color=OUTCOME_STYLES.get(mark.kind, {}).get("color", "#D55E00"),
        zorder=6,
    )
    return text.count("\n") + 1


def _row_texts(
    frame: pd.DataFrame, rows: list[tuple[str, str]], label: str | None, plan: LanePlan
) -> list[str]:
    """The text of each row's tick label: the lane's name, or "+N more Book streams"."""
    names = _lane_labels(frame, label)
    hidden = dict(plan.hidden)
    return [
        names.get(name, name) if kind == "lane" else f"+{hidden[name]:,} more {name} streams"
        for kind, name in rows
    ]


def _axes_labels(ax: Any, rows: list[tuple[str, str]], texts: list[str], x: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_yticks(range(len(rows)), texts)
    for tick, (kind, _name) in zip(ax.get_yticklabels(), rows, strict=True):
        if kind == "more":
            tick.set_color("#777777")
            tick.set_fontstyle("italic")
    if x == "position":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        from matplotlib import dates

        locator = dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))


def _lane_labels(frame: pd.DataFrame, label: str | None) -> dict[str, str]:
    """``stream → "Type short-id"`` (plus the ``label`` column's first value)."""
    first = frame.drop_duplicates("stream")
    out = {
        s: f"{t} {short_id(i)}"
        for s, t, i in zip(first["stream"], first["entity_type"], first["entity_id"], strict=True)
    }
    if label is None:
        return out
    values = _label_values(frame, label)
    for stream, value in values.items():
        if stream in out and value:
            out[stream] = _cut(f"{out[stream]} · {value}", 36)
    return out


def _label_values(frame: pd.DataFrame, label: str) -> dict[str, str]:
    if label in frame.columns:
        kept = frame[frame[label].notna()].drop_duplicates("stream")
        return {s: str(v) for s, v in zip(kept["stream"], kept[label], strict=True)}
    found: dict[str, str] = {}
    for stream, data in zip(frame["stream"], frame["event_data"], strict=True):
        if stream in found or not isinstance(data, str):
            continue
        try:
            payload = json.loads(data)
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get(label) is not None:
            found[stream] = str(payload[label])
    if not found:
        raise BadInputError(
            f"label={label!r} is neither a column of the events ({list(frame.columns)}) nor a "
            "key of their payloads: name one of them."
        )
    return found


def _x_label(frame: pd.DataFrame, x: str, xs: np.ndarray) -> str:
    if x == "position":
        return "global position"
    shared = int(pd.Series(xs).duplicated(keep=False).sum())
    if shared > len(xs) // 2:
        return f"time appended ({shared:,} events share their time: x=position separates them)"
    return "time appended"


def _legend(ax: Any, styles: dict, size: float, dense: bool) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    drawn = {h.get_label() for h in ax.collections}
    handles: list[Any] = [
        Patch(facecolor=style.colour, edgecolor="white", hatch=style.hatch, lw=0, label=name)
        if dense and style.hatch
        else Line2D(
            [],
            [],
            ls="",
            marker=style.marker,
            markersize=7,
            markerfacecolor=style.colour,
            markeredgecolor="#333333",
            markeredgewidth=0.3,
            label=name,
        )
        for name, style in styles.items()
    ]
    extra = [c for c in ax.collections if c.get_label() in drawn and c.get_label() not in styles]
    handles += [c for c in extra if not c.get_label().startswith("_")]
    if dense:
        handles.append(Patch(color="#bbbbbb", label="bar: events per slice,\nstacked by type"))
    if not handles:
        return
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=8,
        frameon=False,
        ncols=1 + (len(handles) - 1) // LEGEND_ROWS,
        markerscale=max(1.0, 40 / size) ** 0.25,
    )


def _wrap(text: str, width: float) -> str:
    return "\n".join(textwrap.wrap(text, max(int(width), 10))) or text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def texts_outside(fig: Figure) -> list[str]:
    """The texts of ``fig`` that stick out once drawn (empty when every label fits).

    Titles, axis labels, the tick labels in view and legends must lie inside the figure;
    the labels written on the data (versions, marks' labels) inside their axes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxed: list[tuple[Any, Any]] = [(t, fig.bbox) for t in fig.texts]
    for ax in fig.axes:
        titles = [ax.title, ax._left_title, ax._right_title]  # type: ignore[attr-defined]
        frame_texts = [*titles, ax.xaxis.label, ax.yaxis.label]
        frame_texts += ax.get_xticklabels() + ax.get_yticklabels()
        legend = ax.get_legend()
        if legend is not None:
            frame_texts += legend.get_texts()
        boxed += [(t, fig.bbox) for t in frame_texts]
        boxed += [(t, ax.bbox) for t in ax.texts]
    out = []
    for text, box in boxed:
        if not text.get_visible() or not text.get_text():
            continue
        ext = text.get_window_extent(renderer)
        if ext.x0 < box.x0 - 1 or ext.y0 < box.y0 - 1 or ext.x1 > box.x1 + 1 or ext.y1 > box.y1 + 1:
            out.append(text.get_text())
    return out
