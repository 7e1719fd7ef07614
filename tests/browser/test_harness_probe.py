"""Self-test of the browser harness on two tiny fixture notebooks (served under _probe/)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PROBE_DIR, LabServer
from .harness import (
    assert_no_errors,
    assert_widgets_rendered,
    click_button,
    error_texts,
    open_notebook,
    press_slider,
    run_all,
    screenshot_widget,
    slider_by_description,
    text_of,
    wait_for_text,
    wait_until_executed,
)


def test_probe_slider_label_button_plot(page: Any, lab_server: LabServer) -> None:
    """Run All, then drive slider and button: the kernel answers, nothing errors."""
    open_notebook(page, lab_server, f"{PROBE_DIR}/probe.ipynb")
    run_all(page)
    assert wait_until_executed(page, timeout=120_000) == "done"
    assert_no_errors(page)
    assert_widgets_rendered(page, expected=2)  # the probe VBox and the plot Output

    probe = page.locator(".eslab-probe")
    label = probe.locator(".eslab-probe-label")
    slider = slider_by_description(probe, "n")
    wait_for_text(label, "n = 0")

    assert press_slider(slider, "ArrowRight", 3) == "3"
    wait_for_text(label, "n = 3")
    screenshot_widget(probe, "probe-n3")

    click_button(probe, "Reset")
    wait_for_text(label, "n = 0")
    wait_for_text(slider.locator(".widget-readout"), "0")
    assert text_of(page.locator(".eslab-probe-reset")) == "Reset"

    plot = page.locator(".eslab-probe-plot img")
    plot.wait_for(state="visible")
    assert plot.evaluate("img => img.naturalWidth") > 100
    screenshot_widget(page.locator(".eslab-probe-plot"), "probe-plot")
    assert_no_errors(page)


def test_assert_no_errors_sees_widget_callback_errors(page: Any, lab_server: LabServer) -> None:
    """An exception in a callback routed through Output.capture() makes the check fail."""
    open_notebook(page, lab_server, f"{PROBE_DIR}/probe_error.ipynb")
    run_all(page)
    assert wait_until_executed(page, timeout=120_000) == "done"
    assert_no_errors(page)  # nothing wrong before the click

    click_button(page, "Boom")
    output = page.locator(".eslab-probe-error-output")
    output.get_by_text("deliberate failure").first.wait_for()
    assert any("RuntimeError" in text for text in error_texts(page))
    with pytest.raises(AssertionError, match="deliberate failure"):
        assert_no_errors(page)
    screenshot_widget(output, "probe-error")


def test_run_all_stops_at_a_failing_cell(page: Any, lab_server: LabServer) -> None:
    """A cell that raises ends the wait at once and fails ``assert_no_errors``."""
    open_notebook(page, lab_server, f"{PROBE_DIR}/probe_cell_error.ipynb")
    run_all(page)
    assert wait_until_executed(page, timeout=60_000) == "error"
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        assert_no_errors(page)
