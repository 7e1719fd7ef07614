"""Swimlanes: who sent which message to whom, in delivery order (a sequence diagram).

One vertical lane per service; time runs down the page; one arrow per delivery the
broker made. Colours say what a message is: a **command** (blue), a successful
**reply** (green), a **failure** reply (purple), a **compensation** command (red) or a
domain **event** (grey, choreography). A redelivered duplicate is dashed and marked
"skipped" when the receiver recognised it; a delivery whose handler crashed or failed
ends in a red ✕ (the broker delivers it again). When the arrows of several sagas
interleave, each arrow's label starts with its saga's (short) id.

``swimlane(system)`` takes an :class:`eslab.ftgo.FtgoSystem` (or anything with a
``broker``), a :class:`eslab.messaging.MessageBroker`, or a list of :class:`Exchange`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from eslab.i18n import N_, _
from eslab.messaging import CRASHED, DEAD, FAILED, SKIPPED, Delivery, Message, MessageBroker
from eslab.viz.palette import ALERT, ROLE_COLOURS
from eslab.viz.timeline import short_id

KIND_COLOURS = ROLE_COLOURS
"""A colour per kind of message (the palette's, the same in every picture)."""
KIND_LABELS = {
    "command": N_("command"),
    "reply": N_("reply (success)"),
    "failure": N_("failure (reply or event)"),
    "compensation": N_("compensation"),
    "event": N_("event"),
}


@dataclass(frozen=True)
class Exchange:
    """One delivery drawn as an arrow: ``sender`` → ``receiver``."""

    seq: int
    sender: str
    receiver: str
    label: str
    kind: str
    outcome: str
    redelivery: bool
    message_id: str
    saga: str = ""

    @property
    def failed(self) -> bool:
        """The receiver crashed or failed: the broker will deliver this again."""
        return self.outcome in (CRASHED, FAILED, DEAD)


Keep = Callable[[Delivery, Message], bool]


def exchanges(broker: MessageBroker, keep: Keep | None = None) -> list[Exchange]:
    """The broker's delivery log as arrows (``keep(delivery, message)`` filters).

    The sender comes from the message's ``sender`` header (else its topic), the receiver
    is the consumer group, the kind from the ``kind`` header (commands, replies and
    events published by :class:`eslab.sagas.SagaMessageRelay` carry one).
    """
    index = {(topic, m.id): m for topic, messages in broker.topics.items() for m in messages}
    out = []
    for d in broker.deliveries:
        message = index[(d.topic, d.message_id)]
        if keep is not None and not keep(d, message):
            continue
        h = message.headers
        kind = h.get("kind", "event")
        label = (
            h.get("command_type") or h.get("reply_type") or h.get("event_type") or message.id[:8]
        )
        if kind == "reply" and h.get("reply_outcome") == "FAILURE":
            kind = "failure"
            reason = message.payload.get("reason", "") if isinstance(message.payload, dict) else ""
            label = f"{label}: {_short(reason)}" if reason else label
        elif kind == "event" and label.endswith("Failed"):
            kind = "failure"
        out.append(
            Exchange(
                d.seq,
                h.get("sender", d.topic),
                d.group,
                label,
                kind,
                d.outcome,
                d.redelivery,
                d.message_id,
                h.get("saga_id") or h.get("correlation_id") or "",
            )
        )
    return out


def swimlane(
    source: Any,
    *,
    lanes: Sequence[str] | None = None,
    upto: int | None = None,
    highlight: int | None = None,
    ax: Any = None,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw the messages of ``source`` as a sequence diagram; return the Figure.

    ``lanes`` fixes the lane order (default: ``source.lanes`` if it has one, else order
    of first appearance). ``upto`` draws only the first ``upto`` arrows; ``highlight``
    (an index into the arrows, default the last one drawn) is shaded.
    """
    rows = _exchanges_of(source)
    if upto is not None:
        rows = rows[:upto]
    lane_names = list(lanes or getattr(source, "lanes", None) or [])
    for e in rows:
        for name in (e.sender, e.receiver):
            if name not in lane_names:
                lane_names.append(name)
    x_of = {name: i for i, name in enumerate(lane_names)}
    if ax is None:
        height = 1.6 + 0.34 * max(len(rows), 3)
        fig = Figure(
            figsize=figsize or (max(7.5, 2.1 * len(lane_names)), min(height, 16)),
            layout="constrained",
        )
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    _draw_lanes(ax, lane_names, len(rows))
    if highlight is None and rows:
        highlight = len(rows) - 1
    tagged = interleaved(rows)
    for y, e in enumerate(rows):
        _draw_arrow(
            ax, x_of[e.sender], x_of[e.receiver], y + 1, e, highlighted=(y == highlight), tag=tagged
        )
    _legend(ax, {e.kind for e in rows})
    ax.set_xlim(-0.6, max(len(lane_names), 1) - 0.4)
    ax.set_ylim(len(rows) + 0.8, -0.9)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title or _("Messages between services ({n} deliveries)").format(n=len(rows)))
    return fig


def interleaved(rows: Sequence[Exchange]) -> bool:
    """Do the arrows of two sagas alternate (one starts before the other's last arrow)?"""
    spans: dict[str, list[int]] = {}
    for i, e in enumerate(rows):
        if e.saga:
            spans.setdefault(e.saga, [i, i])[1] = i
    reached = -1
    for start, end in sorted(spans.values()):
        if start < reached:
            return True
        reached = max(reached, end)
    return False


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _exchanges_of(source: Any) -> list[Exchange]:
    if isinstance(source, MessageBroker):
        return exchanges(source)
    if isinstance(source, Sequence) and all(isinstance(e, Exchange) for e in source):
        return list(source)
    broker = getattr(source, "broker", None)
    if isinstance(broker, MessageBroker):
        return exchanges(broker, getattr(source, "relevant", None))
    raise TypeError(
        f"Cannot draw {type(source).__name__}: pass a MessageBroker, a list of "
        "Exchange, or a system with a .broker (e.g. eslab.ftgo.FtgoSystem)."
    )


def _draw_lanes(ax: Any, names: list[str], n_rows: int) -> None:
    for x, name in enumerate(names):
        ax.plot([x, x], [0, n_rows + 0.6], color="#bbbbbb", lw=1, ls="--", zorder=1)
        ax.text(
            x,
            -0.3,
            name,
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "#f2f2f2", "edgecolor": "#888888"},
            zorder=3,
        )


def _draw_arrow(
    ax: Any, x0: int, x1: int, y: float, e: Exchange, *, highlighted: bool, tag: bool = False
) -> None:
    colour = KIND_COLOURS.get(e.kind, "#555555")
    if highlighted:
        ax.axhspan(y - 0.45, y + 0.45, color="#fff3b0", zorder=0)
    end = x1 if x0 != x1 else x1 + 0.25
    style = "--" if e.redelivery else "-"
    alpha = 0.45 if e.outcome == SKIPPED else 1.0
    ax.annotate(
        "",
        xy=(end, y),
        xytext=(x0, y),
        zorder=2,
        arrowprops={
            "arrowstyle": "-|>",
            "color": colour,
            "lw": 1.6,
            "ls": style,
            "alpha": alpha,
            "shrinkA": 2,
            "shrinkB": 2,
        },
    )
    note = f"[{short_id(e.saga, 12)}] {e.label}" if tag and e.saga else e.label
    if e.outcome == SKIPPED:
        note += _("  (duplicate: skipped)")
    elif e.redelivery:
        note += _("  (redelivered)")
    ax.text(
        (x0 + end) / 2,
        y - 0.12,
        f"{e.seq}. {note}",
        ha="center",
        va="bottom",
        fontsize=7.5,
        color=colour,
        alpha=max(alpha, 0.7),
        zorder=3,
    )
    if e.failed:
        ax.scatter([end], [y], marker="X", s=110, color=ALERT, zorder=4)
        ax.text(
            end,
            y + 0.32,
            e.outcome,
            ha="center",
            va="center",
            fontsize=7,
            color=ALERT,
            zorder=4,
        )


def _legend(ax: Any, kinds: set[str]) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([0], [0], color=KIND_COLOURS[k], lw=2, label=_(KIND_LABELS[k]))
        for k in KIND_COLOURS
        if k in kinds
    ]
    if handles:
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False
        )
