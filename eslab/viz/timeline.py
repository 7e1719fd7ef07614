"""Timelines: one lane per stream, one dot per event, a colour per event type.

``timeline(store)`` draws every stream; ``x="time"`` uses the append time instead of
the global position. Markers show what the chapter talks about: the current event
(``highlight``), rejected appends, duplicate deliveries, snapshots, compensations.
Readable with 10 events (labels on the dots) and with 10,000 (small dots, busiest lanes).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from eslab.viz.frame import events_frame

MARK_STYLES: dict[str, dict[str, Any]] = {
    "rejected": {"marker": "X", "color": "#d62728", "s": 160, "label": "rejected append"},
    "duplicate": {
        "marker": "o",
        "facecolors": "none",
        "edgecolors": "#ff7f0e",
        "s": 260,
        "linewidths": 2,
        "label": "duplicate delivery",
    },
    "snapshot": {"marker": "D", "color": "#6a3d9a", "s": 90, "label": "snapshot"},
    "compensation": {
        "marker": "o",
        "facecolors": "none",
        "edgecolors": "#d62728",
        "s": 260,
        "linewidths": 2,
        "linestyles": "--",
        "label": "compensation",
    },
    "skipped": {
        "marker": "s",
        "facecolors": "none",
        "edgecolors": "#555555",
        "s": 200,
        "linewidths": 2,
        "label": "skipped (missed)",
    },
}
LABEL_LIMIT = 40
"""Up to this many events, each dot gets its version number."""


@dataclass(frozen=True)
class Mark:
    """A marker on the timeline, also for things that have no row (a rejected append)."""

    stream: str
    x: float
    kind: str
    label: str = ""


def event_colours(event_types: Iterable[str]) -> dict[str, Any]:
    """A stable colour per event type (sorted names → tab20)."""
    import matplotlib as mpl

    names = sorted(set(event_types))
    cmap = mpl.colormaps["tab20" if len(names) > 10 else "tab10"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


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
) -> Figure:
    """Draw the events of ``source`` (a store, StoredEvents or DataFrame); return the Figure."""
    if x not in ("position", "time"):
        raise ValueError(f"x must be 'position' or 'time', got {x!r}.")
    frame = events_frame(source)
    column = "position" if x == "position" else "created_at"
    lanes = _lanes(frame, max_lanes)
    frame = frame[frame["stream"].isin(lanes)]
    lane_of = {name: i for i, name in enumerate(lanes)}
    if ax is None:
        height = 1.2 + 0.45 * max(len(lanes), 1)
        fig = Figure(figsize=figsize or (10, min(height, 12)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    xs = frame[column]
    ys = frame["stream"].map(lane_of).to_numpy()
    size = 80 if len(frame) <= LABEL_LIMIT else (30 if len(frame) <= 2000 else 6)
    colours = event_colours(frame["event_type"])
    by_count = frame["event_type"].value_counts().index  # frequent first: rare ones on top
    for event_type in by_count:
        colour = colours[event_type]
        chosen = (frame["event_type"] == event_type).to_numpy()
        ax.scatter(xs[chosen], ys[chosen], s=size, color=colour, label=event_type, zorder=3)
    if len(frame) <= LABEL_LIMIT:
        for xv, yv, v in zip(xs, ys, frame["entity_version"], strict=True):
            ax.annotate(
                f"v{v}",
                (xv, yv),
                textcoords="offset points",
                xytext=(0, 11),
                ha="center",
                fontsize=7,
                color="#333333",
            )
    for lane in range(len(lanes)):
        ax.axhline(lane, color="#dddddd", lw=0.8, zorder=1)
    _draw_marks(ax, frame, column, lane_of, highlight, marks)
    ax.set_yticks(range(len(lanes)), [_short(name) for name in lanes])
    ax.set_ylim(-0.7, max(len(lanes), 1) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel("global position" if x == "position" else "time appended")
    hidden = frame.attrs.get("hidden_lanes", 0)
    ax.set_title((title or "Event timeline") + (f"  (+{hidden} more streams)" if hidden else ""))
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles[:20],
            labels[:20],
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            fontsize=8,
            frameon=False,
            markerscale=max(1.0, 40 / size) ** 0.5,
        )
    return fig


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (what notebooks and widgets display)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _lanes(frame: pd.DataFrame, max_lanes: int) -> list[str]:
    """Streams in order of first appearance; only the busiest ``max_lanes`` when many."""
    order = list(dict.fromkeys(frame["stream"]))
    if len(order) <= max_lanes:
        return order
    busiest = set(frame["stream"].value_counts().index[:max_lanes])
    frame.attrs["hidden_lanes"] = len(order) - max_lanes
    return [s for s in order if s in busiest]


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _draw_marks(
    ax: Any,
    frame: pd.DataFrame,
    column: str,
    lane_of: dict[str, int],
    highlight: int | Sequence[int] | None,
    marks: dict[int, str] | Sequence[Mark] | None,
) -> None:
    if highlight is not None:
        wanted = [highlight] if isinstance(highlight, int | np.integer) else list(highlight)
        rows = frame[frame["position"].isin(wanted)]
        ax.scatter(
            rows[column],
            rows["stream"].map(lane_of),
            s=420,
            facecolors="none",
            edgecolors="black",
            linewidths=2.5,
            zorder=4,
            label="current event",
        )
    if not marks:
        return
    points: dict[str, list[tuple[Any, float]]] = {}
    if isinstance(marks, dict):
        rows = frame[frame["position"].isin(list(marks))]
        for pos, xv, stream in zip(rows["position"], rows[column], rows["stream"], strict=True):
            points.setdefault(marks[pos], []).append((xv, lane_of[stream]))
    else:
        for mark in marks:
            if mark.stream in lane_of:
                points.setdefault(mark.kind, []).append((mark.x, lane_of[mark.stream]))
                if mark.label:
                    ax.annotate(
                        mark.label,
                        (mark.x, lane_of[mark.stream]),
                        xytext=(0, -16),
                        textcoords="offset points",
                        ha="center",
                        fontsize=7,
                        color=MARK_STYLES.get(mark.kind, {}).get("color", "#d62728"),
                    )
    for kind, xy in points.items():
        style = dict(
            MARK_STYLES.get(kind, {"marker": "*", "color": "black", "s": 120, "label": kind})
        )
        ax.scatter([p[0] for p in xy], [p[1] for p in xy], zorder=5, **style)
