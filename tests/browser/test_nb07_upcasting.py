"""Notebook 07 in a real JupyterLab: Run All, then switch an upcaster off and on again."""

from __future__ import annotations

import re
from typing import Any

from .conftest import LabServer
from .harness import (
    assert_no_errors,
    run_notebook,
    screenshot_widget,
    text_of,
    wait_for_text,
)

NOTEBOOK = "07_upcasting.ipynb"


def test_upcast_lab(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean; unticking v1 → v2 breaks the chain with a named error."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=1, timeout=300_000)  # the upcast lab
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 1  # when each schema version was written

    lab = page.locator(".eslab-upcastlab")
    status = lab.locator(".eslab-upcastlab-status")
    wait_for_text(status, "All 2 events load at today's schema.")
    assert "orderTotal" in text_of(lab.locator(".eslab-upcastlab-raw"))
    assert '"cents": 2450' in text_of(lab.locator(".eslab-upcastlab-upcast"))
    assert text_of(lab.locator(".eslab-upcastlab-timeline")).count("v1") == 2

    step = lab.locator(".eslab-upcastlab-step-ordercreated-1 input")
    step.click()
    wait_for_text(
        status,
        re.compile(
            r"1 of 2 events cannot be loaded\..*"
            r"No upcaster brings OrderCreated from v1 to v2",
            re.S,
        ),
    )
    wait_for_text(
        lab.locator(".eslab-upcastlab-application"), re.compile(r"UpcastError — find\(\) fails")
    )
    wait_for_text(lab.locator(".eslab-upcastlab-stored"), re.compile(r"Stored rows unchanged ✓"))
    screenshot_widget(lab, "nb07-upcast-lab-step-off")

    step.click()
    wait_for_text(status, "All 2 events load at today's schema.")
    wait_for_text(
        lab.locator(".eslab-upcastlab-application"), re.compile(r"APPROVED · total \$24\.50")
    )
    assert_no_errors(page)
