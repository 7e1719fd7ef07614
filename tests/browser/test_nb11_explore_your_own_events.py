"""Notebook 11 in a real JupyterLab: run all, then drive both explorers as a learner would."""

from __future__ import annotations

import re
from typing import Any

from .conftest import LabServer
from .harness import (
    assert_fills_output,
    assert_no_errors,
    assert_no_truncated_labels,
    click_button,
    press_slider,
    run_notebook,
    screenshot_widget,
    slider_by_description,
    wait_for_text,
)

NOTEBOOK = "11_explore_your_own_events.ipynb"


def test_explore_your_own_events(page: Any, lab_server: LabServer) -> None:
    # two widgets: the orders explorer and the 100k one
    run_notebook(page, lab_server, NOTEBOOK, widgets=2, timeout=240_000)

    explorer = page.locator(".eslab-explorer").first
    label = explorer.locator(".eslab-explorer-range")
    details = explorer.locator(".eslab-explorer-event")
    wait_for_text(label, re.compile(r"^positions 1–20 · .* · 20 of 20 events shown$"))
    plot = explorer.locator("img.eslab-explorer-plot")
    plot.wait_for(state="visible")
    assert plot.evaluate("img => img.naturalWidth") > 300
    for width in (900, 1900, 1400):  # a narrow window, a wide one, the usual one
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)  # Lab lays the panel out again
        assert_fills_output(plot)  # the picture is as wide as the notebook's column
        assert_no_truncated_labels(explorer)  # "Zoom in", not "Zoom…"
    before = plot.get_attribute("src")

    # keyboard on the positions window: the lower handle moves right, the picture follows
    press_slider(slider_by_description(explorer, "positions"), "ArrowRight", 2)
    wait_for_text(label, re.compile(r"^positions 3–20 · .* · 18 of 20 events shown$"))
    page.wait_for_function(
        "([img, old]) => img.src !== old", arg=[plot.element_handle(), before], timeout=15_000
    )
    click_button(explorer, "Show all")
    wait_for_text(label, re.compile(r"^positions 1–20 .*20 of 20 events shown$"))

    # filter by event type: the first such event is selected, with the Order replayed to it
    explorer.locator(".eslab-explorer-event-type select").select_option("OrderAuthorized")
    wait_for_text(label, re.compile(r"7 of 20 events shown$"))
    wait_for_text(
        details,
        re.compile(
            r"^Order order-104 · OrderAuthorized\s*position 2 · "
            r"version 2.*\"state\": \"APPROVED\"",
            re.S,
        ),
    )
    explorer.locator(".eslab-explorer-event-type select").select_option("(all)")
    wait_for_text(label, re.compile(r"20 of 20 events shown$"))
    click_button(explorer, "Next ▶")
    wait_for_text(
        details,
        re.compile(
            r"^Order order-101 · OrderCreated\s*position 3 · "
            r"version 1.*\"state\": \"APPROVAL_PENDING\"",
            re.S,
        ),
    )

    click_button(explorer, "Zoom in")
    wait_for_text(label, re.compile(r"^positions 6–14 · .* · 9 of 20 events shown$"))

    click_button(explorer, "Export picture")
    status = explorer.locator(".eslab-explorer-download")
    wait_for_text(status, re.compile(r"^Saved .*timeline-6-14\.png \(\d+ KB\) · download$"))
    assert status.locator("a[download='timeline-6-14.png']").count() == 1
    screenshot_widget(explorer, "nb11-explorer-orders")

    # the 100,000-event explorer answers a zoom too
    big = page.locator(".eslab-explorer").nth(1)
    big_label = big.locator(".eslab-explorer-range")
    wait_for_text(big_label, re.compile(r"^positions 1–100,000 · .* 100,000 of 100,000"))
    assert_fills_output(big.locator("img.eslab-explorer-plot"))
    assert_no_truncated_labels(big)
    click_button(big, "Zoom in")
    wait_for_text(big_label, re.compile(r"^positions 25,001–74,999 · "), timeout=60_000)
    screenshot_widget(big, "nb11-explorer-100k")
    assert_no_errors(page)
