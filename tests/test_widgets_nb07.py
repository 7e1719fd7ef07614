"""The upcast lab of notebook 07, driven in-process (pick orders, switch steps off/on)."""

from __future__ import annotations

import pytest

from eslab import EslabError, EventStore, datasets, upcasting
from eslab.widgets.upcast_lab import UpcastLab, badge, schema_history_figure, upcast_row


@pytest.fixture(scope="module")
def store() -> EventStore:
    return datasets.ftgo_store()


@pytest.fixture
def lab(store: EventStore) -> UpcastLab:
    return UpcastLab(store)


def test_lab_is_tagged_for_the_browser(lab: UpcastLab) -> None:
    assert "eslab-upcastlab" in lab.widget._dom_classes
    boxes = list(lab.switches.values())
    assert [b.description for b in boxes] == [
        "OrderCreated v1 → OrderCreated v2  (money_in_cents)",
        "OrderCreated v2 → OrderCreated v3  (money_objects_and_address)",
    ]
    assert "eslab-upcastlab-step-ordercreated-1" in boxes[0]._dom_classes
    for part in ("order", "raw", "upcast", "timeline", "status", "stored", "application"):
        assert f"eslab-upcastlab-{part}" in getattr(lab, part)._dom_classes


def test_a_v1_order_is_shown_raw_and_upcast_side_by_side(lab: UpcastLab) -> None:
    assert lab.order.value == "order-0001"
    created = lab.rows[0]
    assert (created.stored_version, created.loaded_version) == (1, 3)
    assert created.steps == (
        "OrderCreated v1 → OrderCreated v2",
        "OrderCreated v2 → OrderCreated v3",
    )
    assert "orderTotal" in lab.raw.value and "orderTotal" not in lab.upcast.value
    assert "&quot;cents&quot;: 2450" in lab.upcast.value
    assert (
        "All 2 events load at today&#x27;s schema" in lab.status.value
        or "All 2 events load at today's schema" in lab.status.value
    )
    assert "APPROVED · total $24.50" in lab.application.value
    assert lab.timeline.value.count("eslab-badge") == 3  # v1 → v3, then v1 (unchanged type)


def test_switching_a_step_off_fails_with_type_and_versions(lab: UpcastLab) -> None:
    lab.switches[("OrderCreated", 1)].value = False
    assert "No upcaster brings OrderCreated from v1 to v2" in lab.status.value
    assert "1 of 2 events cannot be loaded" in lab.status.value
    assert "UpcastError" in lab.application.value
    assert lab.rows[0].loaded_version == 1 and not lab.rows[0].ok
    assert upcasting.is_enabled("OrderCreated", 1)  # the global switch is untouched
    lab.switches[("OrderCreated", 1)].value = True
    assert all(r.ok for r in lab.rows) and "$24.50" in lab.application.value


def test_the_second_step_off_stops_at_v2(lab: UpcastLab) -> None:
    lab.switches[("OrderCreated", 2)].value = False
    assert lab.rows[0].loaded_version == 2
    assert "from v2 to v3" in lab.status.value and "switched off" in lab.status.value
    assert "totalCents" in lab.upcast.value
    assert upcasting.is_enabled("OrderCreated", 2)


def test_a_v2_order_runs_only_the_second_step(lab: UpcastLab) -> None:
    lab.order.value = "order-0240"
    assert lab.rows[0].stored_version == 2 and lab.rows[0].steps == (
        "OrderCreated v2 → OrderCreated v3",
    )
    lab.switches[("OrderCreated", 1)].value = False  # not needed for a v2 event
    assert all(r.ok for r in lab.rows)


def test_stored_rows_are_never_changed(lab: UpcastLab) -> None:
    before = lab.store_checksum()
    for off in (1, 2):
        lab.switches[("OrderCreated", off)].value = False
        lab.switches[("OrderCreated", off)].value = True
    assert lab.store_checksum() == before == lab.checksum
    assert "unchanged ✓" in lab.stored.value and f"{before[0]:,} rows" in lab.stored.value


def test_upcast_row_reports_errors_instead_of_raising() -> None:
    row = upcast_row(1, "NoSuchEvent", 1, "{}")
    assert not row.ok and "UnknownEventTypeError" in (row.error or "")


def test_badges_colour_by_versions_behind() -> None:
    assert "#1a9850" in badge(3, 3) and "#f46d43" in badge(2, 3) and "#a50026" in badge(1, 3)
    assert ">v1<" in badge(1, 3)


def test_schema_history_figure_has_one_series_per_version(store: EventStore) -> None:
    fig = schema_history_figure(store)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert [label.split(":")[0] for label in labels] == ["v1", "v2"]


def test_an_empty_store_gets_a_clear_error() -> None:
    with pytest.raises(EslabError, match="datasets.load"):
        UpcastLab(EventStore())
