"""The shared self-check helpers of eslab.checks (CheckResult, passed, hint, never_raise)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed


@never_raise
def check_positive(answer: Any) -> CheckResult:
    """A check that trips over odd answers (a str cannot be compared with 0)."""
    return passed("Positive.") if answer > 0 else hint("Think about the sign.")


def test_never_raise_passes_the_checks_verdict_through() -> None:
    assert check_positive(3) == CheckResult(True, "Positive.")
    assert check_positive(-1) == CheckResult(False, "Think about the sign.")


def test_never_raise_turns_an_exception_into_a_hint() -> None:
    result = check_positive("three")
    assert isinstance(result, CheckResult) and not result
    assert "raised TypeError" in result.message and "Run the cells above again" in result.message
    assert str(result).startswith("✗ Not yet. Hint:")


def test_never_raise_keeps_the_checks_name_and_docstring() -> None:
    assert check_positive.__name__ == "check_positive"
    assert check_positive.__doc__ is not None and "odd answers" in check_positive.__doc__
