"""Self-checks for notebook 07 (evolving events: upcasting)."""

from __future__ import annotations

import json
import numbers
from typing import Any

from eslab.checks import CheckResult, hint, passed

SAMPLES = {
    "Ada Lovelace": ("Ada", "Lovelace"),
    "Mary Ann Evans": ("Mary Ann", "Evans"),
    "Grace Brewster Murray Hopper": ("Grace Brewster Murray", "Hopper"),
}
"""Exercise 1: v1 names and the (first_name, last_name) v2 expects (the last word is the
last name)."""


def exercise_1(upcaster: Any) -> CheckResult:
    """An upcaster ``CourierHired`` v1 → v2 that splits ``name`` into first and last name."""
    from eslab import events, upcasting

    if not callable(upcaster):
        return hint(
            "Define a function that takes the v1 event data (a dict) and returns the v2 data."
        )
    for name, (first, last) in SAMPLES.items():
        v1 = {"courier_id": "courier-7", "name": name}
        try:
            result = upcaster(dict(v1))
        except Exception as exc:  # the learner's code: report, don't raise
            return hint(f"Your upcaster raised {type(exc).__name__} on {v1}: {exc}.")
        if not isinstance(result, dict):
            return hint("An upcaster returns the new event data as a dict.")
        want = {"courier_id": "courier-7", "first_name": first, "last_name": last}
        if result != want:
            return hint(
                f"For {name!r} the v2 data should hold courier_id, first_name and "
                "last_name only (the last word is the last name)."
            )
    step = next((s for s in upcasting.steps("CourierHired") if s.from_version == 1), None)
    if step is None:
        return hint(
            "The function is right; now register it so loads use it: decorate it with "
            '@upcaster("CourierHired", from_version=1).'
        )
    try:
        event = events.deserialize(
            "CourierHired", 1, json.dumps({"courier_id": "c-1", "name": "Ada Lovelace"})
        )
    except Exception as exc:
        return hint(f"Loading a stored v1 CourierHired failed: {type(exc).__name__}: {exc}")
    if (getattr(event, "first_name", None), getattr(event, "last_name", None)) != SAMPLES[
        "Ada Lovelace"
    ]:
        return hint("A stored v1 event should load as a v2 CourierHired with the name split.")
    return passed("Stored v1 events now load as v2: the rows stay as they are.")


def exercise_2(answer: Any) -> CheckResult:
    """How many OrderCreated events are still stored at schema v1 after loading them all?"""
    from eslab import datasets

    rows = [r for name in datasets.DATA_FILES for r in datasets.read_rows(name)]
    v1 = sum(1 for r in rows if r["event_type"] == "OrderCreated" and r["schema_version"] == 1)
    if answer is None:
        return hint("Set `answer` to a number of events: ask the store with SQL.")
    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        return hint(f"`answer` should be an int, not {type(answer).__name__}.")
    if answer == 0:
        return hint(
            "Loading an order upcasts its events in memory. Does it write anything "
            "back to the events table?"
        )
    if answer != v1:
        return hint(
            "Count the OrderCreated rows whose schema_version is 1 in the events "
            "table (GROUP BY event_type, schema_version)."
        )
    return passed("Still all there at v1: upcasting never rewrites the stored events.")
