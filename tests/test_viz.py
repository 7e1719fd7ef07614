"""Timelines draw what the store holds, stay readable at any size, and render Korean."""

from __future__ import annotations

import io
import json
import uuid
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch

import eslab
from eslab import AggregateRepository, EventStore
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.frame import synthetic_frame
from eslab.viz import Mark, events_frame, timeline, use_korean_font
from eslab.viz.palette import (
    ALERT,
    COLOURS,
    Palette,
    event_colours,
    stable_slot,
    type_styles,
)
from eslab.viz.swimlane import KIND_COLOURS, Exchange, swimlane
from eslab.viz.timeline import lane_plan, short_id, texts_outside


@pytest.fixture
def store() -> EventStore:
    store = EventStore(clock=eslab.FixedClock())
    repo = AggregateRepository(store, BankAccount)
    for name in ("a", "b"):
        repo.save(OpenAccount(name, 1), entity_id=name)
        repo.update(name, Deposit(2))
    return store


def test_one_lane_per_stream_and_a_colour_per_event_type(store: EventStore) -> None:
    fig = timeline(store)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["BankAccount a", "BankAccount b"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["AccountOpened", "MoneyDeposited"]
    dots = sum(len(c.get_offsets()) for c in ax.collections)
    assert dots == 4
    assert sorted(t.get_text() for t in ax.texts) == ["v1", "v1", "v2", "v2"]


def test_highlight_and_marks_are_drawn(store: EventStore) -> None:
    ax = timeline(
        store, highlight=2, marks=[Mark("BankAccount b", 5, "rejected", "Bob")], x="position"
    ).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "current event" in labels and "rejected append" in labels
    ax = timeline(store, marks={1: "snapshot"}).axes[0]
    assert "snapshot" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_time_axis_and_bad_x(store: EventStore) -> None:
    assert timeline(store, x="time").axes[0].get_xlabel() == "time appended"
    with pytest.raises(ValueError, match="x must be"):
        timeline(store, x="version")


def test_many_events_draw_without_labels_and_cap_the_lanes() -> None:
    n = 10_000
    frame = pd.DataFrame(
        {
            "position": np.arange(n),
            "entity_type": "T",
            "entity_id": np.arange(n) % 100,
            "entity_version": np.arange(n) // 100 + 1,
            "event_type": "E",
            "created_at": pd.Timestamp("2024-01-01"),
        }
    )
    ax = timeline(frame, max_lanes=20).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 21 and not ax.texts
    assert labels[-1] == "+80 more T streams"
    assert "(+80 more streams)" in ax.get_title()


def test_sources_it_cannot_draw_are_named() -> None:
    with pytest.raises((TypeError, eslab.EslabError), match="EventStore"):
        events_frame(42)
    with pytest.raises((ValueError, eslab.EslabError), match="no column .entity_id"):
        events_frame(pd.DataFrame({"position": [1]}))


def test_korean_labels_render_without_missing_glyphs() -> None:
    assert use_korean_font() is not None
    fig = Figure()
    fig.add_subplot().set_title("애그리거트 재연 · 낙관적 잠금 · 멱등 · 업캐스팅 · 사가 · 스냅샷")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message)]


# -- readable at any size (issue 16): the rules, not the pixels ---------------------------------


def library(books: int = 52, members: int = 5, loans: int = 300, seed: int = 1) -> pd.DataFrame:
    """A lending library with UUID ids: one book lent and returned twenty times in a row."""
    rng = np.random.default_rng(seed)
    book_ids = [str(uuid.UUID(int=int(v))) for v in rng.integers(0, 2**62, books)]
    member_ids = [str(uuid.UUID(int=int(v))) for v in rng.integers(0, 2**62, members)]
    rows = [("Member", m, "MemberRegistered") for m in member_ids]
    rows += [("Book", b, "BookAdded") for b in book_ids]
    rows += [
        ("Book", book_ids[0], kind) for _ in range(20) for kind in ("BookLent", "BookReturned")
    ]
    rows += [
        ("Book", book_ids[int(rng.integers(books))], ("BookLent", "BookReturned")[i % 2])
        for i in range(loans)
    ]
    table = pd.DataFrame(rows, columns=["entity_type", "entity_id", "event_type"])
    table["position"] = np.arange(1, len(table) + 1)
    table["event_data"] = [json.dumps({"title": f"title {i}"}) for i in range(len(table))]
    return events_frame(table, stream_type=None, columns={"created_at": None})


def dot_colours(ax: Any) -> dict[str, str]:
    """Event type → colour of its dots (legend entries that are event types)."""
    return {
        c.get_label(): to_hex(c.get_facecolor()[0])
        for c in ax.collections
        if c.get_label() and not c.get_label().startswith("_") and len(c.get_facecolor())
    }


def test_a_type_has_the_same_colour_in_two_different_figures(store: EventStore) -> None:
    bank = dot_colours(timeline(store).axes[0])
    other = pd.DataFrame(
        {
            "position": [1, 2, 3, 4],
            "entity_type": ["Shop", "Shop", "BankAccount", "Shop"],
            "entity_id": ["s", "s", "x", "s"],
            "event_type": ["ShopOpened", "ItemSold", "MoneyDeposited", "ShopClosed"],
        }
    )
    mixed = dot_colours(timeline(other, title="another figure").axes[0])
    assert mixed["MoneyDeposited"] == bank["MoneyDeposited"]
    styles = type_styles(mixed)
    assert {name: style.colour for name, style in styles.items()} == mixed
    # different types look different: by colour, or (past ten types in a session) by shape
    assert len({(style.colour, style.marker) for style in styles.values()}) == len(mixed)
    assert event_colours(["MoneyDeposited"])["MoneyDeposited"] == bank["MoneyDeposited"]


def test_the_palette_resolves_a_hash_collision_once_and_keeps_it() -> None:
    palette = Palette()
    names = [f"Event{i}" for i in range(200)]
    first, twin = next(
        (a, b)
        for a in names
        for b in names
        if a < b and stable_slot(a, len(COLOURS)) == stable_slot(b, len(COLOURS))
    )
    one = palette.styles([first, twin])
    assert one[first] != one[twin]
    again = palette.styles([twin, "Other"])
    assert again[twin] == one[twin]  # the type that moved keeps its new slot
    crowd = palette.styles(names[:40])
    assert len({(s.colour, s.marker) for s in crowd.values()}) == 40  # past the colours: shapes


def test_position_ticks_are_whole_numbers(store: EventStore) -> None:
    for source in (store, library().head(3)):
        fig = timeline(source)
        FigureCanvasAgg(fig).draw()
        ticks = fig.axes[0].get_xticks()
        low, high = fig.axes[0].get_xlim()
        shown = [t for t in ticks if low <= t <= high]
        assert shown and all(float(t).is_integer() for t in shown), shown


def test_every_stream_type_keeps_a_lane_and_says_how_many_are_hidden() -> None:
    frame = library()
    ax = timeline(frame, max_lanes=30).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(label.startswith("Member ") for label in labels)
    assert any(label.startswith("Book ") for label in labels)
    assert "+4 more Member streams" in labels and "+23 more Book streams" in labels
    assert sum(not label.startswith("+") for label in labels) == 30
    plan = lane_plan(frame, max_lanes=1)  # fewer lanes than types: still one per type
    assert {s.split()[0] for s in plan.lanes} == {"Member", "Book"}


def test_lane_labels_shorten_uuids_or_use_the_column_you_name() -> None:
    frame = library(books=3, members=1, loans=0)
    labels = [t.get_text() for t in timeline(frame).axes[0].get_yticklabels()]
    member = frame["entity_id"].iloc[0]
    assert labels[0] == f"Member {member[:8]}…"
    titled = [t.get_text() for t in timeline(frame, label="title").axes[0].get_yticklabels()]
    assert titled[0] == f"Member {member[:8]}… · title 0"
    with pytest.raises(eslab.EslabError, match="label='isbn'"):
        timeline(frame, label="isbn")
    assert short_id("order-101") == "order-101"


def test_no_text_sticks_out_of_the_figure(store: EventStore) -> None:
    refused = "Bob: v3 refused: the stream is already at version 2, reload and retry"
    figures = [
        timeline(store, marks=[Mark("BankAccount b", 5, "rejected", refused)], figsize=(8, 1.9)),
        timeline(store, marks=[Mark("BankAccount a", 0, "rejected", refused)], figsize=(8, 1.9)),
        timeline(library(), title="A library " * 20, label="title"),
        timeline(synthetic_frame(20_000, 300), x="time"),
    ]
    for fig in figures:
        assert texts_outside(fig) == []


def test_dense_lanes_become_bars_stacked_by_type_and_dots_never_hide_each_other() -> None:
    frame = library()
    ax = timeline(frame).axes[0]
    bars = [p for p in ax.patches if isinstance(p, PathPatch)]
    colours = event_colours(["BookLent", "BookReturned"])
    assert {to_hex(p.get_facecolor()) for p in bars} >= set(colours.values())
    assert "bar: events per slice,\nstacked by type" in [
        t.get_text() for t in ax.get_legend().get_texts()
    ]
    assert overlapping_dots(ax) == []
    busy = frame[frame["event_type"] == "BookLent"]["stream"].mode()[0]
    loans = frame[frame["stream"] == busy]
    start = int(loans[loans["event_type"] == "BookLent"]["position"].iloc[0])
    ax = timeline(loans[loans["position"].between(start, start + 12)]).axes[0]  # zoomed in
    assert not [p for p in ax.patches if isinstance(p, PathPatch)]  # dots again
    crowded = timeline(frame, density=False).axes[0]  # forced dots do overlap: the rule bites
    assert overlapping_dots(crowded) != []


def overlapping_dots(ax: Any) -> list[tuple[str, str]]:
    """Pairs of event-type dots in one lane closer than a dot's diameter."""
    FigureCanvasAgg(ax.figure).draw()
    points = []
    for c in ax.collections:
        label = c.get_label()
        if not label or label.startswith("_") or label in ("current event",):
            continue
        diameter = np.sqrt(c.get_sizes()[0]) * ax.figure.dpi / 72
        for x, y in ax.transData.transform(c.get_offsets()):
            points.append((round(y), x, label, diameter))
    points.sort()
    return [
        (a[2], b[2])
        for a, b in zip(points, points[1:], strict=False)
        if a[0] == b[0] and a[2] != b[2] and b[1] - a[1] < min(a[3], b[3])
    ]


def test_time_axis_says_when_events_share_their_time() -> None:
    same = pd.DataFrame(
        {
            "entity_type": "Order",
            "entity_id": "o-1",
            "event_type": ["OrderCreated"] + ["OrderRevised"] * 665,
            "created_at": pd.Timestamp("2024-01-01 12:00"),
        }
    )
    ax = timeline(events_frame(same), x="time").axes[0]
    assert "666 events share their time: x=position separates them" in ax.get_xlabel()


def test_swimlane_arrows_carry_the_saga_id_when_sagas_interleave() -> None:
    def arrow(seq: int, saga: str, sender: str, receiver: str, kind: str) -> Exchange:
        return Exchange(seq, sender, receiver, f"Step{seq}", kind, "acked", False, f"m{seq}", saga)

    apart = [
        arrow(1, "saga-a", "Saga", "Kitchen", "command"),
        arrow(2, "saga-a", "Kitchen", "Saga", "reply"),
        arrow(3, "saga-b", "Saga", "Kitchen", "command"),
        arrow(4, "saga-b", "Kitchen", "Saga", "reply"),
    ]
    interleaved = [apart[0], apart[2], apart[1], apart[3]]
    texts = [t.get_text() for t in swimlane(apart).axes[0].texts]
    assert "1. Step1" in texts and not any("[saga-" in t for t in texts)
    fig = swimlane(interleaved)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "1. [saga-a] Step1" in texts and "3. [saga-b] Step3" in texts
    assert texts_outside(fig) == []
    assert KIND_COLOURS["compensation"] == ALERT  # one palette for every picture
