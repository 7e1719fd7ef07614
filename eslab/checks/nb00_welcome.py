"""Self-checks for notebook 00 (welcome)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, passed


def exercise_1(store: Any) -> CheckResult:
    """A store holding exactly one BankAccount stream with one AccountOpened event."""
    from eslab.store import EventStore

    if not isinstance(store, EventStore):
        return hint("`answer` should be an EventStore — create one with EventStore().")
    events = store.read_all()
    if len(events) != 1:
        return hint(
            f"The store holds {len(events)} events; append exactly one (one list with "
            "one event, expected_version=0 to create the stream)."
        )
    if events[0].event_type != "AccountOpened" or events[0].entity_type != "BankAccount":
        return hint("Append an AccountOpened event to a 'BankAccount' stream.")
    return passed("Your first event is stored: the store is a log of what happened.")
