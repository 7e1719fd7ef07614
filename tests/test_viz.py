"""Timelines draw what the store holds, and Korean labels render."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import eslab
from eslab import AggregateRepository, EventStore
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.viz import Mark, events_frame, timeline, use_korean_font


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
    assert len(ax.get_yticklabels()) == 20 and not ax.texts
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
