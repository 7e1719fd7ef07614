"""Self-checks for notebook 00 (welcome)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, passed
from eslab.i18n import _

STREAM = ("BankAccount", "my-first")
"""The stream exercise 1 asks for: entity type and entity id."""


def exercise_1(store: Any) -> CheckResult:
    """A store holding exactly one event: AccountOpened in the stream BankAccount my-first."""
    from eslab.store import EventStore

    if not isinstance(store, EventStore):
        return hint(_("`answer` should be an EventStore — create one with EventStore()."))
    events = store.read_all()
    if len(events) != 1:
        return hint(
            _(
                "The store holds {count} events; append exactly one (one list with one "
                "event, expected_version=0 to create the stream)."
            ).format(count=len(events))
        )
    if events[0].event_type != "AccountOpened" or events[0].entity_type != "BankAccount":
        return hint(_("Append an AccountOpened event to a 'BankAccount' stream."))
    if (events[0].entity_type, events[0].entity_id) != STREAM:
        return hint(
            _(
                "Your event went to the stream {entity_id!r}. A stream is named by its "
                "entity type *and* its id — one stream per aggregate — so an event with"
                " another id belongs to another account. Use the id the exercise asks "
                "for."
            ).format(entity_id=events[0].entity_id)
        )
    return passed(_("Your first event is stored: the store is a log of what happened."))
