"""Self-checks for notebook 05 (snapshots)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from eslab.checks import CheckResult, hint, passed

EXERCISE_1 = {"events": 2_345, "every": 500}
"""Exercise 1: a stream of 2,345 events with a snapshot every 500 events."""


def exercise_1(answer: Any) -> CheckResult:
    """How many events does ``find`` read for 2,345 events with a snapshot every 500?"""
    n, every = EXERCISE_1["events"], EXERCISE_1["every"]
    if answer is None:
        return hint("Set `answer` to a number of events (an int).")
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        return hint(f"`answer` should be an int (a number of events), not {type(answer).__name__}.")
    if answer == n:
        return hint(
            "That is a full replay. With snapshots, find() starts from the newest "
            "snapshot at or below the version it wants."
        )
    if answer == (n // every) * every:
        return hint(
            "That is the snapshot's version, not a count: find() loads only the "
            "events *after* the snapshot's version (N + 1 onwards)."
        )
    if answer == every:
        return hint(
            "That is the interval. Which snapshot is the newest at or below the "
            "stream's last version, and how many events come after it?"
        )
    if answer != n - (n // every) * every:
        return hint(
            "Work out the version of the newest snapshot (a multiple of the interval, "
            "at most the stream's length), then count the events after it."
        )
    return passed("find() restores the snapshot, then replays only the events after it.")


def exercise_2(upcaster: Any) -> CheckResult:
    """A snapshot upcaster for class version 2 → 3: ``owner`` renamed to ``holder``."""
    if not callable(upcaster):
        return hint(
            "Define a function that takes the snapshot's data (a dict) and returns the new dict."
        )
    sample = {"owner": "Ada", "balance": 12_000}
    try:
        result = upcaster(dict(sample))
    except Exception as exc:  # the learner's code: report, don't raise
        return hint(
            f"Your function raised {type(exc).__name__}: {exc}. It gets the v2 "
            "snapshot's fields as a dict: owner and balance."
        )
    if not isinstance(result, dict):
        return hint("Return the new snapshot data as a dict.")
    if result != {"holder": "Ada", "balance": 12_000}:
        return hint(
            "The v3 class has exactly the fields `holder` and `balance`: keep the "
            "value, change the field's name, and leave nothing else behind."
        )
    return _check_through_the_strategy(upcaster)


def _check_through_the_strategy(upcaster: Any) -> CheckResult:
    """Register the step for a moment and load a v2 snapshot into a v3 class."""
    from eslab import snapshots
    from eslab.aggregate import Aggregate, AggregateRepository
    from eslab.store import EventStore

    @dataclass
    class BankAccount(Aggregate):  # today's class in the exercise: version 3
        class_version = 3
        holder: str = ""
        balance: int = 0

    store = EventStore()
    store.save_snapshot(
        "BankAccount",
        "acc-x",
        7,
        "BankAccount",
        '{"owner": "Bo", "balance": 700}',
        snapshot_version=2,
    )
    strategy = snapshots.SnapshotStrategy(every=None)
    repo = AggregateRepository(store, BankAccount, snapshots=strategy)
    try:
        with snapshots.preserved():
            snapshots.snapshot_upcaster("BankAccount", from_version=2)(upcaster)
            account = repo.find("acc-x")
    except Exception as exc:
        return hint(f"Loading through a SnapshotStrategy failed ({type(exc).__name__}: {exc}).")
    finally:
        store.close()
    if strategy.last.outcome != "upcast" or (account.holder, account.balance) != ("Bo", 700):
        return hint("The strategy should upcast the v2 snapshot and use it.")
    return passed("The v2 snapshot is upcast to v3 and used — no full replay needed.")


def exercise_3(
    snapshot_every: Any, ms_per_event: float, budget_ms: float, candidates: tuple[int, ...]
) -> CheckResult:
    """The largest candidate interval whose worst-case replay fits the time budget."""
    if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, numbers.Integral):
        return hint(
            "`snapshot_every` should be an int: a number of events between snapshots, "
            f"not {type(snapshot_every).__name__}."
        )
    if snapshot_every not in candidates:
        return hint(f"Choose one of the candidates {candidates}.")
    fitting = [n for n in candidates if n * ms_per_event <= budget_ms]
    if int(snapshot_every) * ms_per_event > budget_ms:
        return hint(
            "Too far apart: right before the next snapshot, find() replays about a whole "
            "interval of events, and interval × (time per event) is over the budget."
        )
    if snapshot_every != max(fitting):
        return hint(
            "That fits, but a larger interval fits too. Each snapshot is one more write and "
            "one more row: take the largest interval that keeps find() within the budget."
        )
    return passed(
        "Measured cost × interval ≤ budget, and no more snapshots than that needs: an "
        "interval chosen from numbers, not by habit."
    )
