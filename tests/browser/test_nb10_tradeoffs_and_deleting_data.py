"""Notebook 10 in a real JupyterLab: Run All, then forget customers in the forget lab."""

from __future__ import annotations

import re
from typing import Any

from eslab.shredding import FORGOTTEN

from .conftest import LabServer
from .harness import (
    assert_no_errors,
    click_button,
    run_notebook,
    screenshot_widget,
    text_of,
    wait_for_text,
)

NOTEBOOK = "10_tradeoffs_and_deleting_data.ipynb"


def test_forget_lab(page: Any, lab_server: LabServer) -> None:
    """Learner copy runs clean; forgetting leaves no plaintext — unless the read model is
    not told, until it catches up."""
    run_notebook(page, lab_server, NOTEBOOK, widgets=1, timeout=240_000)  # the forget lab
    figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
    assert figures.count() >= 2  # the order timeline and the customers timeline

    lab = page.locator(".eslab-forget")
    scan = lab.locator(".eslab-forget-scan")
    replayed = lab.locator(".eslab-forget-replayed")
    wait_for_text(scan, re.compile(r"3 place\(s\) still hold it"))
    assert "김민준" in text_of(replayed)
    assert "enc:" in text_of(lab.locator(".eslab-forget-stored"))

    click_button(lab, "Forget this customer")
    wait_for_text(scan, re.compile(r"no plaintext personal data of customer-2 anywhere"))
    wait_for_text(replayed, re.compile(re.escape(FORGOTTEN)))
    assert "Seoul" in text_of(replayed)
    screenshot_widget(lab, "nb10-forget-lab")

    lab.locator(".eslab-forget-customer select").select_option("customer-3")
    wait_for_text(replayed, re.compile(r"Carlos Diaz"))
    lab.locator(".eslab-forget-update input[type=checkbox]").uncheck()
    click_button(lab, "Forget this customer")
    wait_for_text(lab.locator(".eslab-forget-status"), re.compile(r"NOT been told"))
    wait_for_text(scan, re.compile(r"3 place\(s\) still hold it"))
    click_button(lab, "Catch up")
    wait_for_text(scan, re.compile(r"no plaintext personal data of customer-3 anywhere"))
    screenshot_widget(lab, "nb10-forget-lab-catch-up")
    assert_no_errors(page)
