"""Notebook 03 in a real JupyterLab: Run All, then Alice and Bob save in the conflict lab."""

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

NOTEBOOK = "03_optimistic_locking.ipynb"


def test_conflict_lab(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean; Bob's second save shows the ConcurrencyError; CRUD loses it."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=1, timeout=240_000)  # the conflict lab
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 2  # the rejected-append timeline and the threads plot

    lab = page.locator(".eslab-conflictlab")
    alice = lab.locator(".eslab-conflictlab-alice-status")
    bob = lab.locator(".eslab-conflictlab-bob-status")
    wait_for_text(bob, re.compile(r"holds version 2"))
    lab.locator(".eslab-conflictlab-alice-save").click()
    wait_for_text(alice, re.compile(r"saved version 3"))
    caption = lab.locator(".eslab-conflictlab-caption")
    wait_for_text(caption, "Timeline: 3 events stored, 0 rejected append(s) marked ✕")
    timeline_img = lab.locator(".eslab-conflictlab-timeline img")
    old_src = timeline_img.get_attribute("src")
    lab.locator(".eslab-conflictlab-bob-save").click()
    wait_for_text(bob, re.compile(r"is at version 3, you expected 2"))
    sql = lab.locator(".eslab-conflictlab-sql")
    wait_for_text(sql, re.compile(r"0 \(duplicate key\).*Bob expected 2", re.S))
    wait_for_text(caption, "Timeline: 3 events stored, 1 rejected append(s) marked ✕")
    page.wait_for_function(  # the timeline is redrawn with the rejected append marked
        "([sel, old]) => { const img = document.querySelector(sel); "
        "return img && img.src !== old && img.naturalWidth > 100; }",
        arg=[".eslab-conflictlab-timeline img", old_src],
    )
    screenshot_widget(lab, "nb03-conflict-lab-event-store")

    click_button(lab.locator(".eslab-conflictlab-mode"), "CRUD: blind overwrite")
    wait_for_text(bob, re.compile(r"holds version 2"))
    lab.locator(".eslab-conflictlab-alice-save").click()
    wait_for_text(alice, re.compile(r"saved version 3"))
    lab.locator(".eslab-conflictlab-bob-save").click()
    banner = lab.locator(".eslab-conflictlab-banner")
    wait_for_text(banner, re.compile(r"Lost update: Bob overwrote version 3"))
    assert "proposed: 1 × Margherita, 2 × Tiramisu" in text_of(
        lab.locator(".eslab-conflictlab-table")
    )
    screenshot_widget(lab, "nb03-conflict-lab-crud-blind")
    assert_no_errors(page)
