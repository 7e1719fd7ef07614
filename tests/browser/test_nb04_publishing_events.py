"""Notebook 04 in a real JupyterLab: Run All, then step the relay lab through the race."""

from __future__ import annotations

import re
from typing import Any

from .conftest import LabServer
from .harness import (
    assert_no_errors,
    click_button,
    run_notebook,
    screenshot_widget,
    text_of,
    wait_for_text,
)

NOTEBOOK = "04_publishing_events.ipynb"


def test_relay_lab(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean; eight steps show the naive poller skipping position 1."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=1, timeout=240_000)  # the relay lab
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 2  # the duplicate timeline and the skipped timeline

    lab = page.locator(".eslab-relaylab")
    summary = lab.locator(".eslab-relaylab-summary")
    events = lab.locator(".eslab-relaylab-events")
    relays = lab.locator(".eslab-relaylab-relays")
    wait_for_text(summary, re.compile(r"Step 0 of 8 done"))
    for step in range(1, 3):
        click_button(lab, "Next step")
        wait_for_text(summary, re.compile(rf"Step {step} of 8 done"))
    assert "in flight (T1, not visible)" in text_of(events)
    for step in range(3, 7):
        click_button(lab, "Next step")
        wait_for_text(summary, re.compile(rf"Step {step} of 8 done"))
    wait_for_text(relays, re.compile(r"waiting for 1"))
    screenshot_widget(lab, "nb04-relay-lab-mid-race")
    for _ in range(2):
        click_button(lab, "Next step")
    wait_for_text(summary, re.compile(r"naive poller skipped position 1 forever"))
    naive_row = lab.locator(".eslab-relaylab-relaytable tr", has_text="naive poller")
    assert text_of(naive_row).split()[-1] == "1"  # missed: position 1
    screenshot_widget(lab, "nb04-relay-lab-skipped")

    click_button(lab.locator(".eslab-relaylab-mode"), "serialised appends")
    wait_for_text(summary, re.compile(r"Step 0 of 8 done"))
    click_button(lab, "Run to the end")
    wait_for_text(summary, re.compile(r"No relay missed anything"))
    assert_no_errors(page)
