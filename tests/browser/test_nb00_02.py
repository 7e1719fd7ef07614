"""Notebooks 00–02 in a real JupyterLab: run all, no errors, drive every lab."""

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
    text_of,
    wait_for_text,
)


def _run(page: Any, server: LabServer, name: str, widgets: int) -> None:
    run_notebook(page, server, name, widgets=widgets, timeout=180_000)


def test_00_welcome_widget_check(page: Any, lab_server: LabServer) -> None:
    _run(page, lab_server, "00_welcome.ipynb", widgets=1)
    lab = page.locator(".eslab-welcome")
    echo = lab.locator(".eslab-welcome-echo")
    wait_for_text(echo, "Move the slider: this text should follow it.")
    assert press_slider(slider_by_description(lab, "move me"), "ArrowRight", 2) == "2"
    wait_for_text(echo, "Widgets work: the slider is at 2.")
    screenshot_widget(lab, "00-welcome")
    assert_no_errors(page)


def test_01_crud_vs_events_lab(page: Any, lab_server: LabServer) -> None:
    _run(page, lab_server, "01_why_event_sourcing.ipynb", widgets=1)
    lab = page.locator(".eslab-crudlab")
    summary = lab.locator(".eslab-crudlab-summary")
    wait_for_text(summary, "CRUD: 1 row, balance 50 · Events: 1 rows, balance 50")
    click_button(lab, "Deposit")  # amount slider starts at 10
    wait_for_text(summary, "CRUD: 1 row, balance 60 · Events: 2 rows, balance 60")
    click_button(lab, "Withdraw")
    wait_for_text(summary, "CRUD: 1 row, balance 50 · Events: 3 rows, balance 50")
    assert text_of(lab.locator(".eslab-crud-table tbody")).count("\n") == 0  # one row
    assert text_of(lab.locator(".eslab-events-table")).count("MoneyWithdrawn") == 1
    screenshot_widget(lab, "01-crud-vs-events")
    assert_no_errors(page)


def test_02_time_machine_slider(page: Any, lab_server: LabServer) -> None:
    _run(page, lab_server, "02_events_and_replay.ipynb", widgets=1)
    machine = page.locator(".eslab-timemachine")
    caption = machine.locator(".eslab-timemachine-caption")
    state = machine.locator(".eslab-timemachine-state")
    wait_for_text(caption, re.compile(r"^Version 5 of 5: MoneyWithdrawn"))
    before = machine.locator(".eslab-timemachine-figure img").get_attribute("src")
    assert press_slider(slider_by_description(machine, "version"), "ArrowLeft", 3) == "2"
    wait_for_text(caption, re.compile(r"^Version 2 of 5: MoneyDeposited"))
    assert re.search(r"balance\s+50", text_of(state)), text_of(state)
    page.wait_for_function(
        "([el, old]) => el && el.getAttribute('src') !== old",
        arg=[machine.locator(".eslab-timemachine-figure img").element_handle(), before],
    )
    screenshot_widget(machine, "02-time-machine")
    assert_no_errors(page)
