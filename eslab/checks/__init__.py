"""Self-checks for the exercises: a clear ✓, or a hint that points at the idea.

Each notebook's checks live in ``eslab.checks.nbNN_<name>``. A check never reveals the
answer and never raises: it returns a :class:`CheckResult`, which shows itself in the
notebook and is truthy only when the answer is right.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one self-check."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"✓ {self.message}" if self.passed else f"✗ Not yet. Hint: {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#1b7837" if self.passed else "#b2182b"
        from html import escape

        return f'<div class="eslab-check" style="color:{colour}">{escape(str(self))}</div>'


def passed(message: str = "Correct.") -> CheckResult:
    """A passing verdict."""
    return CheckResult(True, message)


def hint(message: str) -> CheckResult:
    """A failing verdict with a hint (about the concept, never the answer).

    An error text quoted inside a sentence often brings its own full stop; the doubled
    ".." that would leave is written as one.
    """
    return CheckResult(False, re.sub(r"(?<!\.)\.\.(?=\s|$)", ".", message))


def never_raise(check: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
    """Decorate a check so that a surprise inside it becomes a hint (a check never raises).

    A learner's odd answer (or a stale kernel) must not end in a traceback: the
    exception is reported as a hint to rerun the cells above.
    """

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> CheckResult:
        try:
            result = check(*args, **kwargs)
        except Exception as exc:
            return hint(
                f"Checking your answer raised {type(exc).__name__}: {exc}. Run the cells "
                "above again from the top, then retry."
            )
        if result and os.environ.get("ESLAB_STORE"):  # a workshop: tell the instructor
            from eslab.checks import class_record

            class_record.exercise_passed(check.__module__.rsplit(".", 1)[-1], check.__name__)
        return result

    return run
