"""Self-checks for notebook 00 (welcome)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, passed

STREAM = ("BankAccount", "my-first")
"""The stream exercise 1 asks for: entity type and entity id."""


def exercise_1(store: Any) -> CheckResult:
    """A store holding exactly one event: AccountOpened in the stream BankAccount my-first."""
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
    if (events[0].entity_type, events[0].entity_id) != STREAM:
        return hint(
            f"Your event went to the stream {events[0].entity_id!r}. A stream is named by "
            "its entity type *and* its id — one stream per aggregate — so an event with "
            "another id belongs to another account. Use the id the exercise asks for."
        )
    return passed("Your first event is stored: the store is a log of what happened.")
