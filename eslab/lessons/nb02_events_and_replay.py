"""Notebook 02's pictures: an aggregate's life as events, and Eventuate Local (seed 1.2, 2.1).

- :func:`plot_life` replays events one at a time and draws a field after each one: the
  aggregate's life, event by event.
- the library ``Book``'s commands and events for exercise 3 (an aggregate with an
  invariant, tested with Given/When/Then);
- :func:`eventuate_local_figure` draws how the book's event store works: the service's
  repository writes ``events`` and ``entities`` (and ``snapshots``) in one transaction;
  a CDC service reads the committed events (binlog / WAL, or polling ``published = 0``)
  and publishes them to a message broker topic per aggregate type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from eslab.aggregate import Aggregate
from eslab.events import Event
from eslab.viz.fonts import use_korean_font

# -- exercise 3: a library book (commands and events; the learner writes the aggregate) --


@dataclass(frozen=True)
class AddBook:
    """Add a book to the catalogue."""

    title: str


@dataclass(frozen=True)
class BorrowBook:
    """A member asks to borrow the book."""

    member: str


@dataclass(frozen=True)
class ReturnBook:
    """A member brings the book back."""

    member: str


@dataclass(frozen=True)
class BookAdded(Event):
    event_type = "Lesson02BookAdded"  # notebook 12 has its own
    title: str


@dataclass(frozen=True)
class BookBorrowed(Event):
    event_type = "Lesson02BookBorrowed"  # notebook 12 has its own
    member: str


@dataclass(frozen=True)
class BookReturned(Event):
    event_type = "Lesson02BookReturned"  # notebook 12 has its own
    member: str


def plot_life(
    aggregate_class: type[Aggregate], events: Sequence[Event], field: str, *, title: str = ""
) -> Figure:
    """Replay ``events`` into a fresh ``aggregate_class`` and draw ``field`` after each one."""
    aggregate = aggregate_class.new()
    values, labels = [], []
    for event in events:
        aggregate.apply(event)
        values.append(getattr(aggregate, field))
        labels.append(type(event).__name__)
    versions = list(range(1, len(values) + 1))
    fig = Figure(figsize=(8, 2.8))
    ax = fig.subplots()
    ax.step(versions, values, where="post", color="#4c72b0")
    ax.plot(versions, values, "o", color="#4c72b0")
    for version, value, label in zip(versions, values, labels, strict=True):
        ax.annotate(
            f"{label}\n{field}={value}",
            (version, value),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=8,
        )
    ax.set_xlabel("version (events applied so far)")
    ax.set_ylabel(field)
    ax.set_xticks(versions)
    ax.margins(x=0.12, y=0.35)
    ax.set_title(title or f"{aggregate_class.__name__}: the life of an aggregate, event by event")
    fig.tight_layout()
    return fig


_BOXES = {
    "service": (0.01, 0.55, "Order Service\nAggregateRepository\nsave / update / find"),
    "db": (0.40, 0.55, "event store DB\nevents · entities ·\nsnapshots"),
    "cdc": (0.79, 0.55, "CDC service\nbinlog / WAL tailing,\nor poll published = 0"),
    "broker": (0.79, 0.05, "message broker\n(Kafka): one topic\nper aggregate type"),
    "consumers": (0.40, 0.05, "other services\n(consumers, sagas,\nread models)"),
}


def eventuate_local_figure() -> Figure:
    """Eventuate Local (seed 2.1) as a picture: store, CDC, broker, subscribers."""
    use_korean_font()
    fig = Figure(figsize=(9, 3.6))
    ax = fig.subplots()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    w, h = 0.2, 0.34
    centres = {}
    for name, (x, y, text) in _BOXES.items():
        colour = "#fde0c5" if name == "db" else "#dbe9f6"
        ax.add_patch(
            FancyBboxPatch(
                (x, y), w, h, boxstyle="round,pad=0.01", facecolor=colour, edgecolor="#555"
            )
        )
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5)
        centres[name] = (x, y)
    arrows = [
        (
            "service",
            "db",
            "one transaction:\nINSERT events,\nUPDATE entities\n"
            "WHERE entity_version\n= <version read>",
        ),
        ("db", "cdc", "committed\nevents"),
        ("cdc", "broker", "publish"),
        ("broker", "consumers", "at least\nonce"),
    ]
    for start, end, label in arrows:
        (x0, y0), (x1, y1) = centres[start], centres[end]
        if y0 == y1:  # left to right
            a, b = (x0 + w, y0 + h / 2), (x1, y1 + h / 2)
            if x1 < x0:
                a, b = (x0, y0 + h / 2), (x1 + w, y1 + h / 2)
            where = ((a[0] + b[0]) / 2, a[1] + 0.02)
        else:  # downwards
            a, b = (x0 + w / 2, y0), (x1 + w / 2, y1 + h)
            where = (a[0] + 0.01, (a[1] + b[1]) / 2)
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color="#333"))
        ax.text(*where, label, ha="center" if y0 == y1 else "left", va="bottom", fontsize=7.5)
    ax.set_title("Eventuate Local: the book's event store (seed 2.1 이벤추에이트 로컬)")
    fig.tight_layout()
    return fig
