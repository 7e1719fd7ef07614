"""The explorer widget, driven in-process: filters, zoom and pan, event details, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import PathPatch

from eslab.domain.bank import BankAccount
from eslab.domain.order import Order
from eslab.errors import BadInputError
from eslab.frame import synthetic_frame
from eslab.importers import read_eventsourcing_sqlite, read_eventuate_events, sample_path
from eslab.viz import events_frame
from eslab.viz.palette import type_styles
from eslab.viz.timeline import texts_outside
from eslab.widgets.explorer import Explorer, select, state_after

ORDERS_COLUMNS = {
    "position": "seq_id",
    "event_id": "id",
    "stream_id": "stream_id",
    "stream_type": "stream_type",
    "version": "version",
    "event_type": "type",
    "payload": "data",
    "timestamp": "timestamp",
}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return events_frame(sample_path("orders.parquet"), ORDERS_COLUMNS)


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return read_eventsourcing_sqlite(sample_path("eventsourcing_stored_events.sqlite"))


@pytest.fixture
def explorer(orders: pd.DataFrame, tmp_path: Path) -> Explorer:
    return Explorer(orders, aggregates=[Order], title="orders", export_dir=tmp_path)


def test_it_opens_on_the_whole_log_with_the_first_event(explorer: Explorer) -> None:
    assert explorer.window.value == (1, 20)
    assert explorer.range_label.value == (
        "positions 1–20 · 2024-05-06 08:00:00 → 2024-05-06 08:14:15 · <b>20</b> of 20 events shown"
    )
    assert explorer.png.startswith(PNG) and explorer.plot.value == explorer.png
    assert explorer.position.value == 1
    assert "<b>Order order-104</b> · <b>OrderCreated</b>" in explorer.details.value
    assert "Pad Thai" in explorer.details.value
    assert "&quot;state&quot;: &quot;APPROVAL_PENDING&quot;" in explorer.details.value


def test_counts_per_event_type(explorer: Explorer, orders: pd.DataFrame) -> None:
    counts = orders["event_type"].value_counts()
    assert "OrderCreated</td><td style='text-align:right'>8</td>" in explorer.counts.value
    assert counts["OrderCreated"] == 8
    assert "<b>20</b></td></tr></table>" in explorer.counts.value


def test_dom_classes_for_the_browser_tests(explorer: Explorer) -> None:
    assert "eslab-explorer" in explorer.widget._dom_classes
    for part in (
        "type",
        "stream",
        "event-type",
        "window",
        "zoom-in",
        "next",
        "event",
        "counts",
        "plot",
        "export",
        "download",
        "range",
    ):
        assert any(
            f"eslab-explorer-{part}" in child._dom_classes for child in _walk(explorer.widget)
        ), part


def test_filter_by_event_type_then_stream(explorer: Explorer) -> None:
    explorer.event_select.value = "OrderAuthorized"
    assert set(explorer.view["event_type"]) == {"OrderAuthorized"}
    assert "<b>7</b> of 20 events" in explorer.range_label.value
    assert explorer.position.value == explorer.view["position"].iloc[0]  # picked in view
    labels = [label for label, _ in explorer.stream_select.options]
    assert labels[0] == "(all)" and all(label.endswith("(1)") for label in labels[1:])
    explorer.event_select.value = "(all)"
    explorer.stream_select.value = "Order order-105"
    assert explorer.view["entity_version"].tolist() == [1, 2, 3, 4]
    assert set(explorer.drawn["stream"]) == {"Order order-105"}


def test_filter_by_stream_type_offers_only_its_streams(bank: pd.DataFrame) -> None:
    mixed = pd.concat(
        [
            bank,
            events_frame(sample_path("orders.parquet"), ORDERS_COLUMNS).assign(
                position=lambda f: f["position"] + 100
            ),
        ]
    )
    explorer = Explorer(events_frame(mixed))
    explorer.type_select.value = "BankAccount"
    assert len(explorer.stream_select.options) == 1 + 4
    assert set(explorer.view["entity_type"]) == {"BankAccount"}


def test_zoom_pan_and_show_all(explorer: Explorer) -> None:
    explorer.zoom_in()
    assert explorer.window.value == (6, 14)
    explorer.pan(1)
    assert explorer.window.value == (10, 18)
    explorer.pan(1)
    assert explorer.window.value == (12, 20)  # stops at the end of the log
    explorer.buttons["pan-left"].click()
    assert explorer.window.value == (8, 16)
    explorer.buttons["zoom-out"].click()
    assert explorer.window.value == (4, 20)
    explorer.buttons["reset"].click()
    assert explorer.window.value == (1, 20)
    explorer.buttons["zoom-in"].click()
    assert set(explorer.view["position"]) == set(range(6, 15))
    assert "positions 6–14" in explorer.range_label.value


def test_show_time_sets_the_window_by_time(explorer: Explorer) -> None:
    explorer.show_time("2024-05-06 08:03:00", "2024-05-06 08:06:00")
    assert explorer.window.value == (5, 9)
    with pytest.raises(BadInputError, match="No event was appended"):
        explorer.show_time("2030-01-01", "2030-01-02")


def test_next_and_previous_step_through_the_view(explorer: Explorer) -> None:
    explorer.next_button.click()
    assert explorer.position.value == 2
    assert "position 2 · version 2" in explorer.details.value
    explorer.stream_select.value = "Order order-105"
    positions = explorer.view["position"].tolist()
    assert explorer.position.value == positions[0]
    explorer.next_button.click()
    explorer.next_button.click()
    assert explorer.position.value == positions[2]
    explorer.prev_button.click()
    assert explorer.position.value == positions[1]
    assert "REVISION_PENDING" not in explorer.details.value


def test_state_after_an_event_is_the_replayed_aggregate(explorer: Explorer) -> None:
    explorer.stream_select.value = "Order order-105"
    last = int(explorer.view["position"].iloc[-1])
    explorer.select_event(last)
    assert "Order right after it (replayed 4 events)" in explorer.details.value
    assert "&quot;state&quot;: &quot;APPROVED&quot;" in explorer.details.value
    assert "&quot;quantity&quot;: 3" in explorer.details.value  # the revision applied


def test_state_after_for_imported_bank_events(bank: pd.DataFrame) -> None:
    grace = state_after(bank, 8, BankAccount)
    assert (grace.owner, grace.balance, grace.version) == ("grace", 25, 3)
    with pytest.raises(BadInputError, match="No event at position 99"):
        state_after(bank, 99, BankAccount)


def test_without_an_aggregate_class_it_says_how_to_get_the_state() -> None:
    explorer = Explorer(read_eventuate_events(sample_path("eventuate_events.csv")))
    assert "no aggregate class given for Account" in explorer.details.value
    assert "0000018e093a4ec0-0242ac1200060000" in explorer.details.value  # the event id
    explorer.select_event(41)
    assert "not published yet" in explorer.details.value
    explorer.select_event(5)
    assert "triggering_event: <code>etpo:" in explorer.details.value


def test_an_aggregate_that_cannot_replay_is_explained(orders: pd.DataFrame) -> None:
    explorer = Explorer(orders, aggregates={"Order": BankAccount})
    assert "cannot replay" in explorer.details.value


def test_time_axis_and_logs_without_times(orders: pd.DataFrame) -> None:
    explorer = Explorer(orders, x="time")
    assert explorer.x_toggle.value == "time"
    assert explorer.figure().axes[0].get_xlabel() == "time appended"
    timeless = orders.assign(created_at=pd.NaT)
    explorer = Explorer(timeless, x="time")
    assert explorer.x_toggle.options == ("position",)
    assert "→" not in explorer.range_label.value


def test_an_empty_view_shows_a_note(explorer: Explorer) -> None:
    explorer.stream_select.value = "Order order-101"
    explorer.window.value = (19, 20)
    assert explorer.view.empty and explorer.png == b""
    assert "No events here" in explorer.empty_note.value
    assert explorer.plot.layout.display == "none"
    explorer.buttons["reset"].click()
    assert explorer.png.startswith(PNG) and explorer.empty_note.value == ""


def test_export_png_and_svg_files(explorer: Explorer, tmp_path: Path) -> None:
    explorer.stream_select.value = "Order order-105"
    png = explorer.export()
    assert png == tmp_path / "timeline-Order_order-105-1-20.png"
    assert png.read_bytes().startswith(PNG)
    svg = explorer.export(tmp_path / "slide.svg")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "order-105" in text
    with pytest.raises(BadInputError, match="png or svg"):
        explorer.export(fmt="pdf")


def test_export_button_writes_the_file_and_offers_a_download(
    explorer: Explorer, tmp_path: Path
) -> None:
    explorer.format.value = "svg"
    explorer.export_button.click()
    assert explorer.last_export == tmp_path / "timeline-1-20.svg"
    assert explorer.last_export.exists()
    status = explorer.export_status.value
    assert status.startswith(f"Saved <code>{tmp_path / 'timeline-1-20.svg'}</code>")
    assert 'download="timeline-1-20.svg" href="data:image/svg+xml;base64,' in status


def test_100k_events_keep_a_lane_per_stream_type_and_are_counted_in_full(tmp_path: Path) -> None:
    big = synthetic_frame(100_000, 2_000, seed=0)
    explorer = Explorer(big, export_dir=tmp_path)
    assert len(explorer.view) == 100_000
    assert explorer.drawn["stream"].nunique() == 20
    assert set(explorer.drawn["entity_type"]) == {"Order", "Ticket", "Account"}
    assert "<b>100,000</b></td></tr></table>" in explorer.counts.value
    ax = explorer.figure().axes[0]
    assert "(+1,980 more streams)" in ax.get_title()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert {"+660 more Order streams", "+660 more Ticket streams"} <= set(labels)
    assert any(isinstance(p, PathPatch) for p in ax.patches)  # dense lanes: stacked bars
    assert texts_outside(ax.figure) == []
    explorer.zoom_in()
    assert explorer.png.startswith(PNG)


def test_one_busy_stream_on_the_time_axis_is_many_bars_not_one() -> None:
    times = pd.Timestamp("2024-05-06 08:00") + pd.to_timedelta(np.arange(666) * 13, unit="ms")
    busy = pd.DataFrame(
        {
            "entity_type": "BankAccount",
            "entity_id": "acc-1",
            "event_type": ["AccountOpened"] + ["MoneyDeposited"] * 665,
            "created_at": times,
        }
    )
    explorer = Explorer(events_frame(busy), x="time")
    ax = explorer.figure().axes[0]
    bars = sum(len(p.get_path().vertices) // 5 for p in ax.patches if isinstance(p, PathPatch))
    assert bars >= 50  # one bar per slice of the 8.7 seconds, as tall as its events
    low, high = ax.get_xlim()
    span = (high - low) * 86_400  # matplotlib's dates count days
    assert 8.6 < span < 9.5


def test_the_selected_event_stays_inside_the_window(explorer: Explorer) -> None:
    explorer.select_event(2)
    explorer.zoom_in()  # positions 6–14: event 2 is outside
    assert explorer.window.value == (6, 14)
    assert explorer.position.value == 6 and "position 6 ·" in explorer.details.value
    explorer.select_event(19)  # typed outside the window: the window moves to it
    low, high = explorer.window.value
    assert low <= 19 <= high and high - low == 8
    assert explorer.position.value == 19


def test_buttons_show_their_whole_label_and_a_tooltip(explorer: Explorer) -> None:
    buttons = [*explorer.buttons.values(), explorer.prev_button, explorer.next_button]
    for button in [*buttons, explorer.export_button]:
        assert button.layout.width == "auto" and button.layout.flex == "0 0 auto"
        assert button.tooltip
    assert explorer.widget.layout.width == "100%"
    assert explorer.plot.layout.width == "100%"
    assert explorer.type_select.style.description_width == "initial"


def test_colours_of_the_counts_are_the_pictures(explorer: Explorer) -> None:
    ax = explorer.figure().axes[0]
    dots = {
        c.get_label(): to_hex(c.get_facecolor()[0])
        for c in ax.collections
        if c.get_label() != "current event"
    }
    glyph = type_styles(["OrderCreated"])["OrderCreated"].glyph  # ● or, past ten types, ■ …
    assert f"<span style='color:{dots['OrderCreated']}'>{glyph}</span> OrderCreated" in (
        explorer.counts.value
    )


def test_select_combines_filters(orders: pd.DataFrame) -> None:
    chosen = select(orders, entity_type="Order", event_type="OrderCreated", window=(1, 10))
    assert set(chosen["event_type"]) == {"OrderCreated"}
    assert chosen["position"].max() <= 10
    assert len(select(orders)) == len(orders)


def test_an_empty_source_is_refused() -> None:
    empty = pd.DataFrame(
        columns=[
            "position",
            "entity_type",
            "entity_id",
            "entity_version",
            "event_type",
            "created_at",
        ]
    )
    with pytest.raises(BadInputError, match="no events"):
        Explorer(empty)


def _walk(widget: object) -> list[object]:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _walk(child)
    return found


def test_lanes_can_be_labelled_by_a_payload_key(orders: pd.DataFrame) -> None:
    explorer = Explorer(orders, label="consumer_id")
    labels = [t.get_text() for t in explorer.figure().axes[0].get_yticklabels()]
    assert "Order order-104 · consumer-1" in labels
