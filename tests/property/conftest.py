"""Hypothesis profiles for the property tests, and the count of cases they generated.

``make test`` uses the ``eslab`` profile: derandomized (the same cases on every run, so CI
is deterministic), no example database, no deadline (a shared 2-core machine is slow at
times). ``make soak`` sets ``HYPOTHESIS_PROFILE=soak``: fresh random cases on every run and
``support.SCALE`` times as many per test. When the whole of ``tests/property`` ran and
passed, the session fails if it generated fewer than ``support.MIN_CASES`` cases.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.property import support

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "eslab", derandomize=True, database=None, deadline=None, suppress_health_check=_QUIET
)
settings.register_profile(
    "soak",
    derandomize=False,
    database=None,
    deadline=None,
    suppress_health_check=_QUIET,
    print_blob=True,  # a failure prints @reproduce_failure(...) to replay it
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "eslab"))

HERE = Path(__file__).parent
_partial: list[str] = []


def _ours(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).parents


def pytest_deselected(items: list[pytest.Item]) -> None:
    if any(_ours(i) for i in items):
        _partial.append("some property tests were deselected")


def pytest_collection_finish(session: pytest.Session) -> None:
    files = {Path(str(i.path)).name for i in session.items if _ours(i)}
    if files != {p.name for p in HERE.glob("test_*.py")}:
        _partial.append("not every property test file was collected")
    if any("::" in a for a in session.config.args):
        _partial.append("single tests were selected")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not support.CASES:
        return
    total = sum(support.CASES.values())
    terminalreporter.write_line(
        f"property tests: {total:,} generated cases ({sum(support.STEPS.values()):,} "
        f"state-machine steps), profile {settings.get_current_profile_name()!r}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(support.CASES.items()))
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    total = sum(support.CASES.values())
    if exitstatus != 0 or _partial or not support.CASES:
        return
    if total < support.MIN_CASES:
        session.config.get_terminal_writer().line(
            f"FAILED: the property tests generated {total} cases, fewer than "
            f"{support.MIN_CASES} (see tests/property/support.py)",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
