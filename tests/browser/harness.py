"""Drive a notebook in a real JupyterLab the way a learner does: open, Run All, click.

Use from a per-notebook browser test (fixtures ``page`` and ``lab_server`` come from
``tests/browser/conftest.py``; paths are relative to ``notebooks/``)::

    from .harness import (
        assert_no_errors, assert_widgets_rendered, open_notebook, press_slider, run_all,
        screenshot_widget, slider_by_description, wait_for_text, wait_until_executed,
    )

    def test_time_machine(page, lab_server):
        open_notebook(page, lab_server, "02_events_and_replay.ipynb")
        run_all(page)
        assert wait_until_executed(page) == "done"
        assert_no_errors(page)
        assert_widgets_rendered(page, expected=1)
        machine = page.locator(".eslab-timemachine")
        press_slider(slider_by_description(machine, "version"), "ArrowRight", 2)
        wait_for_text(machine.locator(".eslab-timemachine-state"), "balance: 30")
        screenshot_widget(machine, "time-machine")

DOM convention for eslab widgets (the tests rely on it):

* every eslab widget's root view carries the CSS class ``eslab-<widget-name>``
  (``widget.add_class("eslab-timemachine")``, i.e. ``_dom_classes``), so a test finds it
  with ``page.locator(".eslab-timemachine")``;
* its child controls carry ``eslab-<widget-name>-<part>`` (``eslab-timemachine-slider``,
  ``eslab-timemachine-state``, ...);
* callbacks run inside an ``Output.capture()`` (or ``with out:``) so that an exception
  shows in the page (otherwise it only reaches Lab's log console and no test sees it).

ipywidgets 8 selectors (see shared notes): slider ``.widget-slider``, its handle
``.noUi-handle``, readout ``.widget-readout``, button ``button.jupyter-button``, label
and descriptions ``.widget-label``, Output widget ``.widget-output``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"

STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'
ERROR = '[data-mime-type="application/vnd.jupyter.error"]'
# Text that ipywidgets' manager shows instead of a widget it could not (yet) render.
WIDGET_FAILURES = ("Error displaying widget", "model not found")
WIDGET_LOADING = "Loading widget..."
# An error output is rendered by Lab as stderr text; these mark it as a failure.
ERROR_TEXT = re.compile(r"Traceback|^\s*\w*(Error|Exception)\b", re.MULTILINE)


class LabServerLike(Protocol):
    """What the harness needs from the ``lab_server`` fixture."""

    root_dir: Path

    def lab_url(self, relpath: str = "") -> str:
        """URL that opens ``relpath`` in JupyterLab."""
        ...


def notebook_panel(page: Page) -> Locator:
    """The visible notebook panel (the one the test opened)."""
    return page.locator(".jp-NotebookPanel:visible").first


def open_notebook(
    page: Page, server: LabServerLike, relpath: str, timeout: float = 60_000
) -> Locator:
    """Open ``relpath`` (relative to the served ``notebooks/`` copy) and wait for its kernel.

    Returns the notebook panel. The kernel has started and is idle when this returns.
    """
    if not (server.root_dir / relpath).is_file():
        raise AssertionError(f"{relpath} is not in the served copy of notebooks/")
    page.goto(server.lab_url(relpath), timeout=timeout)
    panel = notebook_panel(page)
    panel.locator(".jp-Cell").first.wait_for(state="attached", timeout=timeout)
    wait_for_kernel_idle(page, timeout)
    return panel


_KERNEL_READY_JS = """
(panel) => {
  const status = panel.querySelector(".jp-Notebook-ExecutionIndicator")?.dataset.status;
  const name = panel.querySelector(".jp-KernelName")?.textContent.trim() ?? "";
  return status === "idle" && name !== "" && name !== "No Kernel";
}
"""


def wait_for_kernel_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the notebook's kernel is started, connected and idle.

    The toolbar says "idle" once *before* any kernel exists (kernel name "No Kernel"), so
    both the indicator and the kernel name are checked.
    """
    panel = notebook_panel(page).element_handle()
    page.wait_for_function(_KERNEL_READY_JS, arg=panel, timeout=timeout)


_PROMPTS_JS = """
(panel) => [...panel.querySelectorAll(".jp-CodeCell .jp-InputArea-prompt")]
  .map((prompt) => prompt.textContent.trim())
"""


def run_all(page: Page, attempts: int = 3) -> None:
    """Run every cell via Run → Run All Cells (command palette as fallback).

    Checks that the run started (some prompt left ``[ ]``) and tries again if not.
    """
    panel = notebook_panel(page)
    wait_for_kernel_idle(page)
    for _ in range(attempts):
        _click_run_all(page)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            prompts = page.evaluate(_PROMPTS_JS, panel.element_handle())
            if any(p not in ("[ ]:", "[ ]") for p in prompts):
                return
            page.wait_for_timeout(100)
    raise AssertionError(f"Run All Cells did not start any cell after {attempts} attempts")


def _click_run_all(page: Page) -> None:
    """Issue Run All Cells once, through the menu bar or else the command palette."""
    notebook_panel(page).locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    try:
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click(
            timeout=5_000
        )
    except Exception:  # a changed menu layout: fall back to the palette
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input")
        palette.fill("Run All Cells")
        page.locator(".lm-CommandPalette-item", has_text="Run All Cells").first.click()


_EXECUTION_STATE_JS = """
([panel, errorSource]) => {
  const errorText = new RegExp(errorSource, "m");
  const outputs = panel.querySelectorAll(
    '[data-mime-type="application/vnd.jupyter.stderr"], '
    + '[data-mime-type="application/vnd.jupyter.error"]');
  for (const output of outputs) {
    if (errorText.test(output.textContent)) return "error";
  }
  for (const cell of panel.querySelectorAll(".jp-CodeCell")) {
    const source = cell.querySelector(".jp-InputArea-editor")?.textContent ?? "";
    if (!source.trim()) continue;  // Lab never gives an empty cell a count
    const prompt = cell.querySelector(".jp-InputArea-prompt")?.textContent.trim() ?? "";
    if (!/^\\[\\d+\\]:?$/.test(prompt)) return "running";
  }
  return "done";
}
"""


def wait_until_executed(page: Page, timeout: float = 300_000) -> str:
    """Wait until every non-empty code cell shows ``[n]`` (none ``[*]``) or an error shows.

    Returns ``"done"`` or ``"error"``. Use after ``run_all`` on a freshly opened notebook
    (a re-run would see the previous counts at once).
    """
    panel = notebook_panel(page).element_handle()
    deadline = time.monotonic() + timeout / 1000
    state = "running"
    while time.monotonic() < deadline:
        state = page.evaluate(_EXECUTION_STATE_JS, [panel, ERROR_TEXT.pattern])
        if state != "running":
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError(f"cells still running after {timeout / 1000:.0f} s")
    wait_for_widgets(page)
    return state


_WIDGET_OUTPUTS_JS = """
([failures, loading]) => {
  // A displayed widget is a cell output (no data-mime-type, unlike text/images) that
  // ipywidgets' renderer fills with one .jupyter-widgets view, or with an error text.
  const outputs = document.querySelectorAll(
    ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output");
  const found = [];
  for (const output of outputs) {
    const text = output.textContent.trim();
    if (failures.some((failure) => text.includes(failure))) {
      found.push({state: "failed", text});
    } else if (output.querySelector(":scope > .jupyter-widgets")) {
      found.push({state: "rendered", text: ""});
    } else if (!output.dataset.mimeType && text === loading) {
      found.push({state: "loading", text});
    }
  }
  return found;
}
"""


def widget_outputs(page: Page) -> list[dict[str, str]]:
    """One ``{"state": "rendered"|"loading"|"failed", "text": ...}`` per displayed widget."""
    return page.evaluate(_WIDGET_OUTPUTS_JS, [list(WIDGET_FAILURES), WIDGET_LOADING])


def wait_for_widgets(page: Page, timeout: float = 30_000) -> None:
    """Wait until no displayed widget still says "Loading widget..."."""
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        if all(w["state"] != "loading" for w in widget_outputs(page)):
            return
        page.wait_for_timeout(100)


def error_texts(page: Page) -> list[str]:
    """Texts of all errors in the page: tracebacks in cells and in widget Output areas,
    and widgets that failed to render."""
    texts = []
    for output in page.locator(f"{STDERR}, {ERROR}").all():
        text = output.inner_text()
        if ERROR_TEXT.search(text):
            texts.append(text)
    texts.extend(w["text"] for w in widget_outputs(page) if w["state"] == "failed")
    return texts


def assert_no_errors(page: Page) -> None:
    """Fail if any cell or widget Output shows a traceback, or a widget failed to render."""
    texts = error_texts(page)
    assert not texts, "errors shown in the notebook:\n\n" + "\n\n---\n\n".join(texts)


def count_rendered_widgets(page: Page) -> int:
    """Number of displayed (top-level) widgets whose view rendered."""
    wait_for_widgets(page)
    return sum(w["state"] == "rendered" for w in widget_outputs(page))


def assert_widgets_rendered(page: Page, expected: int) -> None:
    """Fail unless exactly ``expected`` widgets are displayed and all of them rendered.

    ``expected`` is the number of ``display(widget)`` outputs the notebook makes (a box
    counts once, however many children it has).
    """
    wait_for_widgets(page)
    states = [w["state"] for w in widget_outputs(page)]
    rendered = states.count("rendered")
    assert (rendered, len(states)) == (expected, expected), (
        f"{rendered} of {len(states)} displayed widgets rendered ({states}); "
        f"the notebook displays {expected}"
    )


def widget_by_description(
    scope: Page | Locator, description: str, kind: str = ".jupyter-widgets"
) -> Locator:
    """The widget (``kind`` selector, e.g. ``.widget-slider``) whose description is given."""
    label = re.compile(rf"^\s*{re.escape(description)}\s*$")
    page = scope if isinstance(scope, _page_class()) else scope.page
    own_label = page.locator(":scope > .widget-label", has_text=label)  # not a child's
    return scope.locator(kind).filter(has=own_label).first


def _page_class() -> type:
    """The Playwright ``Page`` class (imported late: the module loads without Playwright)."""
    from playwright.sync_api import Page

    return Page


def slider_by_description(scope: Page | Locator, description: str) -> Locator:
    """The ipywidgets slider whose description label reads ``description``."""
    return widget_by_description(scope, description, ".widget-slider")


def wait_for_stable_text(locator: Locator, quiet_ms: int = 400, timeout: float = 15_000) -> str:
    """Wait until ``locator``'s text has not changed for ``quiet_ms``; return it."""
    deadline = time.monotonic() + timeout / 1000
    text = text_of(locator)
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        locator.page.wait_for_timeout(50)
        now = text_of(locator)
        if now != text:
            text, stable_since = now, time.monotonic()
        elif (time.monotonic() - stable_since) * 1000 >= quiet_ms:
            return text
    raise AssertionError(f"text kept changing for {timeout / 1000:.0f} s (last: {text!r})")


def press_slider(slider: Locator, key: str = "ArrowRight", times: int = 1) -> str:
    """Focus the slider's handle and press ``key`` ``times`` times, one at a time.

    Each press is one kernel round trip: wait for the readout to move before the next
    press, and for it to settle at the end. Returns the final readout text.
    """
    handle = slider.locator(".noUi-handle").first
    readout = slider.locator(".widget-readout").first
    handle.focus()
    for _ in range(times):
        before = text_of(readout)
        handle.press(key)
        try:
            readout.page.wait_for_function(
                "([el, old]) => el.textContent.trim() !== old",
                arg=[readout.element_handle(), before],
                timeout=5_000,
            )
        except Exception:  # at the end of the range the readout does not move
            break
    return wait_for_stable_text(readout)


def click_button(scope: Page | Locator, text: str) -> None:
    """Click the ipywidgets button whose text is exactly ``text``."""
    label = re.compile(rf"^\s*{re.escape(text)}\s*$")
    scope.locator("button.jupyter-button", has_text=label).first.click()


def text_of(locator: Locator) -> str:
    """The element's visible text, stripped (a readout's or label's value)."""
    return locator.inner_text().strip()


def wait_for_text(
    locator: Locator, expected: str | re.Pattern[str], timeout: float = 15_000
) -> None:
    """Wait until the element's whole text is ``expected`` (string or regex)."""
    from playwright.sync_api import expect

    expect(locator).to_have_text(expected, timeout=timeout)


_TRUNCATED_JS = """
(root) => {
  // Text a control cannot show in full: its content is wider than its box (an ellipsis).
  const selector = "button, .widget-label, .widget-readout, .widget-toggle-button";
  const cut = [];
  for (const el of root.querySelectorAll(selector)) {
    const text = el.textContent.trim();
    if (!text || el.offsetParent === null) continue;  // empty or hidden
    if (el.scrollWidth > el.clientWidth + 1) {
      cut.push(`${text} (${el.scrollWidth}px of text in ${el.clientWidth}px)`);
    }
  }
  return cut;
}
"""


def truncated_labels(scope: Locator) -> list[str]:
    """Labels, descriptions, readouts and buttons under ``scope`` whose text is cut off."""
    return scope.evaluate(_TRUNCATED_JS)


def assert_no_truncated_labels(scope: Locator) -> None:
    """Fail if a label or button under ``scope`` shows only part of its text ("Zoom…")."""
    cut = truncated_labels(scope)
    assert not cut, "labels cut off: " + "; ".join(cut)


_WIDTHS_JS = """
(el) => {
  const output = el.closest(".jp-OutputArea-output") ?? el.parentElement;
  const style = getComputedStyle(output);
  const inner = output.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return [el.getBoundingClientRect().width, inner];
}
"""


def assert_fills_output(chart: Locator, share: float = 0.95) -> None:
    """Fail unless ``chart`` is at least ``share`` of its cell output's width wide."""
    width, available = chart.evaluate(_WIDTHS_JS)
    assert width >= share * available, (
        f"the chart is {width:.0f}px wide in an output {available:.0f}px wide"
    )


def screenshot_widget(locator: Locator, name: str) -> Path:
    """Save a PNG of the element as ``test-artifacts/browser/<name>.png``; return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    locator.screenshot(path=str(path))
    return path


def screenshot_page(page: Page, name: str, **options: Any) -> Path:
    """Save a PNG of the whole page as ``test-artifacts/browser/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


def run_notebook(
    page: Page, server: LabServerLike, relpath: str, *, widgets: int, timeout: float = 300_000
) -> None:
    """Open ``relpath``, Run All, wait for every cell; assert no errors and ``widgets`` rendered.

    The opening every per-notebook browser test shares.
    """
    open_notebook(page, server, relpath)
    run_all(page)
    state = wait_until_executed(page, timeout=timeout)
    assert_no_errors(page)
    assert state == "done", f"{relpath}: cells did not all execute ({state})"
    assert_widgets_rendered(page, expected=widgets)
