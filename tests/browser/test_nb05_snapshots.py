"""Notebook 05 in a real JupyterLab: Run All, then move the length slider and Measure."""

from __future__ import annotations

import re
from typing import Any

from .conftest import LabServer
from .harness import (
    assert_no_errors,
    click_button,
    press_slider,
    run_notebook,
    screenshot_widget,
    slider_by_description,
    wait_for_text,
)

NOTEBOOK = "05_snapshots.ipynb"


def test_snapshot_lab(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean; a longer stream is measured: 0 events read after the snapshot."""
    # two widgets: the build progress bar and the snapshot lab
    run_notebook(page, lab_server, NOTEBOOK, widgets=2, timeout=300_000)
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 1  # the timeline with snapshot markers

    lab = page.locator(".eslab-snapshotlab")
    results = lab.locator(".eslab-snapshotlab-results")

    def cell(row: int, column: int) -> Any:  # the results table: 0 = replay, 1 = snapshot
        return results.locator("tbody tr").nth(row).locator("td").nth(column)

    wait_for_text(cell(1, 0), "from the snapshot at version 10,000", 60_000)
    wait_for_text(cell(1, 1), "500")
    wait_for_text(cell(0, 1), "10,500")
    lab.locator(".eslab-snapshotlab-figure img").wait_for(state="visible")

    assert press_slider(slider_by_description(lab, "events"), "ArrowRight", 1) == "11000"
    wait_for_text(
        lab.locator(".eslab-snapshotlab-plan"),
        re.compile(r"starts from the snapshot at version 11,000 and reads 0 events"),
    )
    click_button(lab, "Measure")
    wait_for_text(cell(1, 0), "from the snapshot at version 11,000", 120_000)
    wait_for_text(cell(1, 1), "0")
    wait_for_text(cell(0, 1), "11,000")
    wait_for_text(cell(1, 3), "yes ✓")
    wait_for_text(lab.locator(".eslab-snapshotlab-status"), "measured 4 stream lengths")
    screenshot_widget(lab, "nb05-snapshot-lab")
    assert_no_errors(page)
