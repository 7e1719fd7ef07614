"""Notebook 06 in a real JupyterLab: Run All, then drive the redelivery lab like a learner."""

from __future__ import annotations

from typing import Any

from eslab.lessons.nb06_idempotent_consumers import counters_text, run_redelivery

from .conftest import LabServer
from .harness import (
    assert_no_errors,
    click_button,
    press_slider,
    run_notebook,
    screenshot_widget,
    slider_by_description,
    text_of,
    wait_for_text,
)

NOTEBOOK = "06_idempotent_consumers.ipynb"


def test_redelivery_lab(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean; duplicates slider + RDBMS + Run gives exactly-once balances."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=1, timeout=240_000)  # the lab
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 3  # drift, timeline, drift of all three

    lab = page.locator(".eslab-redelivery")
    counters = lab.locator(".eslab-redelivery-counters")
    verdict = lab.locator(".eslab-redelivery-verdict")
    first = run_redelivery("naive", duplicate_rate=0.2, crash_rate=0.1, seed=0)
    wait_for_text(counters, f"naive: {counters_text(first)}")
    assert "balances differ from expected ⚠" in text_of(verdict)

    slider = slider_by_description(lab, "duplicate rate")
    assert press_slider(slider, "ArrowRight", 2) == "0.30"
    click_button(lab.locator(".eslab-redelivery-kind"), "RDBMS")
    plot = lab.locator(".eslab-redelivery-plot img")
    old_src = plot.get_attribute("src")
    click_button(lab, "Run")
    expected = run_redelivery("RDBMS", duplicate_rate=0.3, crash_rate=0.1, seed=0)
    wait_for_text(counters, f"RDBMS: {counters_text(expected)}", timeout=30_000)
    wait_for_text(verdict, "exactly-once effects ✓ (balances = expected)")
    table = lab.locator(".eslab-redelivery-table")
    for account, balance in expected.expected.items():
        row = table.locator("tr", has_text=account)
        assert text_of(row).split() == [account, str(balance), str(balance), "+0"]

    page.wait_for_function(
        "([sel, old]) => { const img = document.querySelector(sel); "
        "return img && img.src !== old && img.naturalWidth > 0; }",
        arg=[".eslab-redelivery-plot img", old_src],
    )
    assert plot.evaluate("img => img.naturalWidth") > 100
    screenshot_widget(lab, "nb06-redelivery-lab")
    assert_no_errors(page)
