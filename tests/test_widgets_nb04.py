"""The relay lab of notebook 04, driven in-process."""

from __future__ import annotations

from eslab.widgets.relay_lab import SERIALISED, RelayLab


def test_stepping_shows_the_in_flight_row_then_the_skip() -> None:
    lab = RelayLab()
    assert "eslab-relaylab" in lab.widget._dom_classes
    assert "Next: T1: BEGIN" in lab.summary.value
    for _ in range(2):
        lab.step_button.click()
    assert "in flight (T1, not visible)" in lab.events_view.value
    for _ in range(4):  # T2 begins, inserts, commits; relays poll
        lab.step_button.click()
    assert "naive poller: READ" in lab.actions_view.value
    assert "waiting for 1" in lab.relays_view.value  # the position poller remembers the gap
    lab.step_button.click()  # T1 commits
    lab.step_button.click()  # relays poll again
    assert "skipped position 1 forever" in lab.summary.value
    assert lab.missed() == {"naive poller": [1], "position poller": [], "polling publisher": []}
    lab.step_button.click()
    assert "The race is over" in lab.summary.value


def test_serialised_appends_let_nobody_miss_anything() -> None:
    lab = RelayLab()
    lab.mode.value = SERIALISED
    lab.run_button.click()
    assert "No relay missed anything" in lab.summary.value
    assert lab.missed() == {"naive poller": [], "position poller": [], "polling publisher": []}
    assert "T2: WAIT" in lab.actions_view.value or "waits" in lab.steps_view.value


def test_reset_goes_back_to_step_one() -> None:
    lab = RelayLab()
    lab.run_button.click()
    lab.reset_button.click()
    assert lab.race is not None and lab.race.done == 0
    assert "Step 0 of 8" in lab.summary.value
