"""The forget-customer lab of notebook 10, driven in-process."""

from __future__ import annotations

from eslab.shredding import FORGOTTEN
from eslab.widgets.forget_lab import ForgetLab


def test_before_forgetting_only_the_read_model_holds_plaintext() -> None:
    lab = ForgetLab()
    assert "eslab-forget" in lab.widget._dom_classes
    assert "eslab-forget-button" in lab.forget_button._dom_classes
    assert lab.customer.value == "customer-2"
    assert "김민준" in lab.replayed_view.value and "김민준" not in lab.stored_view.value
    assert "enc:" in lab.stored_view.value
    assert "customer_directory" in lab.scan_view.value and lab.leftovers() == 3


def test_forget_with_the_read_model_leaves_nothing() -> None:
    lab = ForgetLab()
    lab.forget_button.click()
    assert lab.log.outputs == ()
    assert "forgotten (key deleted)" in lab.status.value
    assert FORGOTTEN in lab.replayed_view.value and "Seoul" in lab.replayed_view.value
    assert "no plaintext personal data of customer-2 anywhere" in lab.scan_view.value
    assert lab.leftovers() == 0
    lab.customer.value = "customer-1"  # the others are untouched
    assert "Alice Martin" in lab.replayed_view.value and lab.leftovers() == 3


def test_without_the_read_model_the_scan_shows_the_leak_until_catch_up() -> None:
    lab = ForgetLab()
    lab.customer.value = "customer-3"
    lab.update_model.value = False
    lab.forget_button.click()
    assert "NOT been told" in lab.status.value
    assert "3 place(s) still hold it" in lab.scan_view.value
    lab.catchup_button.click()
    assert "no plaintext" in lab.scan_view.value and lab.leftovers() == 0
