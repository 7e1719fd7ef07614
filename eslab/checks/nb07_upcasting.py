"""Self-checks for notebook 07 (evolving events: upcasting)."""

from __future__ import annotations

import json
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
    if getattr(step.function, "__name__", None) != getattr(upcaster, "__name__", None):
        return hint(
            f"Another function, {step.function.__name__}, is registered for CourierHired "
            "v1 → v2, so loads still use it. Register yours in its place with "
            '@upcaster("CourierHired", from_version=1, replace=True).'
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


SCHEMA_CHANGES: dict[str, str] = {
    "OrderCreated gets a new optional field tip_cents (0 when missing)": "compatible",
    "a new event type OrderDelayed, emitted when the kitchen runs late": "compatible",
    "a new aggregate type Courier in the Delivery service": "compatible",
    "OrderAuthorized is renamed OrderApproved": "breaking",
    "OrderCreated's field notes is removed (the Order aggregate never read it)": "breaking",
    "OrderCreated's total changes from integer cents to a float of euros": "breaking",
    "OrderCreated's field restaurantId is renamed restaurant_id": "breaking",
    "the Ticket aggregate type is removed (Kitchen keeps no tickets any more)": "breaking",
}
"""Exercise 2: FTGO schema changes and the book's verdict (§6.1.7, the table of changes)."""

KINDS = ("compatible", "breaking")


def exercise_2(answer: Any) -> CheckResult:
    """Classify each change of :data:`SCHEMA_CHANGES` as ``"compatible"`` or ``"breaking"``."""
    if answer is None or answer is ... or not isinstance(answer, dict):
        return hint(
            "Answer with a dict {change: 'compatible' or 'breaking'} with one entry for every "
            "change in check.SCHEMA_CHANGES (copy the keys: `{c: ... for c in "
            "check.SCHEMA_CHANGES}`)."
        )
    missing = [c for c in SCHEMA_CHANGES if c not in answer]
    if missing:
        return hint(f"Classify every change; missing: {missing[0]!r}.")
    odd = {c: v for c, v in answer.items() if c in SCHEMA_CHANGES and v not in KINDS}
    if odd:
        change, value = next(iter(odd.items()))
        return hint(
            f"For {change!r} you gave {value!r}: write the word 'compatible' or 'breaking' "
            "(not True/False or a number)."
        )
    if set(answer.values()) == {"compatible"} or set(answer.values()) == {"breaking"}:
        return hint("Not every change is of one kind: ask for each one separately.")
    wrong = [c for c, kind in SCHEMA_CHANGES.items() if answer[c] != kind]
    if wrong:
        return hint(
            f"{len(wrong)} of {len(SCHEMA_CHANGES)} are not right yet. For each change ask: "
            "can an event stored BEFORE the change still be read by code written AFTER it "
            "(and can a consumer that was not updated still read new events)? An addition "
            "leaves old events readable; a removal, rename or change of type does not. "
            f"Look again at: {wrong[0]!r}."
        )
    return passed(
        "Right. Additions are backward compatible; removing, renaming or changing the type of "
        "an aggregate, event or field is breaking — it needs an upcaster (or a new event type)."
    )
