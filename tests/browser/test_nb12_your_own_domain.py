"""Notebook 12 in a real JupyterLab: Run All, then slide the time machine over a Book."""

from __future__ import annotations

import re
from typing import Any

from .conftest import LabServer
from .harness import (
    assert_no_errors,
    press_slider,
    run_notebook,
    screenshot_widget,
    slider_by_description,
    text_of,
    wait_for_text,
)

NOTEBOOK = "12_your_own_domain.ipynb"


def test_library_time_machine(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean (3 hints); the slider walks Dune back from returned to lent."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=1, timeout=240_000)
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 2  # the saga's timeline and the swimlane
    hints = page.locator(".eslab-check")
    assert hints.count() == 3  # the learner's copy: every exercise still to do
    assert all("Not yet" in text_of(h) for h in hints.all())

    machine = page.locator(".eslab-timemachine")
    caption = machine.locator(".eslab-timemachine-caption")
    state = machine.locator(".eslab-timemachine-state")
    wait_for_text(caption, re.compile(r"^Version 3 of 3: BookReturned"))
    assert re.search(r"borrower\s+None", text_of(state)), text_of(state)
    before = machine.locator(".eslab-timemachine-figure img").get_attribute("src")

    assert press_slider(slider_by_description(machine, "version"), "ArrowLeft", 1) == "2"
    wait_for_text(caption, re.compile(r"^Version 2 of 3: BookLent"))
    assert re.search(r"borrower\s+ann", text_of(state)), text_of(state)
    assert re.search(r"times_lent\s+1", text_of(state)), text_of(state)
    page.wait_for_function(
        "([el, old]) => el && el.getAttribute('src') !== old",
        arg=[machine.locator(".eslab-timemachine-figure img").element_handle(), before],
    )

    assert press_slider(slider_by_description(machine, "version"), "ArrowLeft", 1) == "1"
    wait_for_text(caption, re.compile(r"^Version 1 of 3: BookAdded"))
    assert re.search(r"title\s+Dune", text_of(state)), text_of(state)
    screenshot_widget(machine, "nb12-time-machine")
    assert_no_errors(page)
