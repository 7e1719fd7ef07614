"""Notebook 09 in a real JupyterLab: Run All, then drive the projection lab like a learner."""

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

NOTEBOOK = "09_queries_and_projections.ipynb"


def test_projection_lab(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean (a million events included); append → lag → catch up → rebuild."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=1, timeout=480_000)  # the projection lab
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 2  # the checkpoint strip and the million-event timings

    lab = page.locator(".eslab-projection")
    status = lab.locator(".eslab-projection-status")
    table = lab.locator(".eslab-projection-table")
    wait_for_text(status, re.compile(r"behind: 0 events"))
    assert "new-order-" not in text_of(table)

    click_button(lab, "Place 3 orders")
    wait_for_text(status, re.compile(r"behind: [3-6] events"), timeout=30_000)
    lag = int(re.search(r"behind: (\d+)", text_of(status)).group(1))  # type: ignore[union-attr]

    click_button(lab, "Catch up")
    wait_for_text(status, re.compile(r"behind: 0 events"), timeout=30_000)
    wait_for_text(lab.locator(".eslab-projection-message"), re.compile(rf"handled {lag} events"))
    wait_for_text(table, re.compile(r"new-order-3"))

    click_button(lab, "Redeliver last 3")
    wait_for_text(
        lab.locator(".eslab-projection-message"),
        re.compile(r"skipped 3, applied 0\. Read model unchanged: yes"),
    )

    click_button(lab, "Rebuild from zero")
    wait_for_text(
        lab.locator(".eslab-projection-message"),
        re.compile(r"Rebuilt from zero: [\d,]+ events .* identical"),
        timeout=120_000,
    )
    bar = lab.locator(".eslab-projection-progress .progress-bar")
    assert bar.evaluate("el => el.style.width") == "100%"
    screenshot_widget(lab, "nb09-projection-lab")
    assert_no_errors(page)
