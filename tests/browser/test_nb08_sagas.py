"""Notebook 08 in a real JupyterLab: Run All, then drive the saga stepper like a learner."""

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

NOTEBOOK = "08_sagas.ipynb"
NEW_IMAGE_JS = (
    "([sel, old]) => { const all = document.querySelectorAll(sel); "
    "const img = all[all.length - 1]; "
    "return img && img.src !== old && img.naturalWidth > 0; }"
)
PICTURE = ".eslab-saga-stepper-picture img"
"""(JS below takes the last match: the orchestration stepper comes after the choreography one.)"""


def test_saga_stepper(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean; Step delivers one message; a card failure plays to rejected."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=2, timeout=240_000)  # the two steppers
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 4  # swimlanes, timeline, choreography
    hints = page.locator(".eslab-check")
    assert hints.count() == 6 and "Not yet" in text_of(hints.first)  # the learner's copy

    choreography = page.locator(".eslab-saga-stepper").first
    assert "CreateOrderSaga" not in text_of(choreography.locator(".eslab-saga-stepper-table"))
    lab = page.locator(".eslab-saga-stepper").last  # the orchestration stepper
    status = lab.locator(".eslab-saga-stepper-status")
    outcome = lab.locator(".eslab-saga-stepper-outcome")
    states = lab.locator(".eslab-saga-stepper-table")
    wait_for_text(status, re.compile(r"^delivered 0 · "))
    assert "APPROVAL_PENDING" in text_of(states)

    old_src = lab.locator(PICTURE).get_attribute("src")
    click_button(lab, "Step")
    wait_for_text(
        status,
        re.compile(
            r"^delivered 1 · .*1\. CreateOrderSaga → ConsumerService: ValidateOrderByConsumer"
        ),
    )
    page.wait_for_function(NEW_IMAGE_JS, arg=[PICTURE, old_src])

    lab.locator(".eslab-saga-stepper-failure select").select_option("card authorization")
    wait_for_text(status, re.compile(r"^delivered 0 · "))
    old_src = lab.locator(PICTURE).get_attribute("src")
    click_button(lab, "Play")
    rejected = re.compile(r"order REJECTED · ticket CANCELLED · no authorization")
    wait_for_text(outcome, rejected, timeout=30_000)
    assert "consistent ✓" in text_of(outcome)
    table = lab.locator(".eslab-saga-stepper-table")
    saga_row = text_of(table.locator("tr", has_text="CreateOrderSaga"))
    assert "FAILED" in saga_row and "card limit" in saga_row
    page.wait_for_function(NEW_IMAGE_JS, arg=[PICTURE, old_src])
    # ten arrows make a taller picture than the empty one shown after the reset
    page.wait_for_function(
        "sel => { const all = document.querySelectorAll(sel); const img = all[all.length - 1]; "
        "return img && img.naturalHeight > 400; }",
        arg=PICTURE,
    )
    screenshot_widget(lab, "nb08-saga-stepper")
    assert_no_errors(page)
