"""The projection lab of notebook 09, driven in-process."""

from __future__ import annotations

import re

import pytest

from eslab.widgets.projection_lab import ProjectionLab


@pytest.fixture(scope="module")
def lab() -> ProjectionLab:
    return ProjectionLab(orders=300)


def behind(lab: ProjectionLab) -> int:
    found = re.search(r"behind: (\d+) events", lab.status.value)
    assert found, lab.status.value
    return int(found.group(1))


def test_it_starts_caught_up_with_dom_classes(lab: ProjectionLab) -> None:
    assert "eslab-projection" in lab.widget._dom_classes
    assert "eslab-projection-rebuild" in lab.rebuild_button._dom_classes
    assert behind(lab) == 0
    assert lab.projector.position == lab.store.last_position()
    assert "order_history" in lab.table.value


def test_placing_orders_makes_the_read_model_lag_then_catch_up(lab: ProjectionLab) -> None:
    head = lab.store.last_position()
    lab.append_button.click()
    added = lab.store.last_position() - head
    assert 3 <= added <= 6 and behind(lab) == added
    assert "new-order-" not in lab.table.value  # not projected yet
    lab.catchup_button.click()
    assert behind(lab) == 0 and f"handled {added} events" in lab.message.value
    assert "new-order-" in lab.table.value
    assert lab.log.outputs == ()


def test_redelivery_is_skipped(lab: ProjectionLab) -> None:
    lab.redeliver_button.click()
    assert "skipped 3, applied 0" in lab.message.value
    assert "Read model unchanged: yes" in lab.message.value


def test_rebuild_fills_the_progress_bar_and_matches(lab: ProjectionLab) -> None:
    lab.append_button.click()  # a lag before the rebuild: it is caught up first
    lab.rebuild_button.click()
    assert "identical" in lab.message.value
    assert lab.progress.value == lab.progress.max == lab.store.last_position()
    assert behind(lab) == 0 and lab.log.outputs == ()
