"""Given / When / Then: test an aggregate's decisions with events, not with a database.

The event-sourcing way to test business rules (Greg Young's, also in Eventuate's test
kit): *given* the events that already happened, *when* a command arrives, *then* these
events are the decision — or the command is refused::

    given(Book, BookAdded("Dune", "Frank Herbert"), BookLent("ann", date(2024, 1, 31)))
        .when(LendBook("bob", date(2024, 2, 14)))
        .then_refused("already lent")

    given(Book, BookAdded("Dune", "Frank Herbert")).when(LendBook("ann", due)).then(
        BookLent("ann", due)
    )

No store is involved: the given events are replayed into a fresh aggregate (the default
constructor, then ``apply`` each), ``process`` decides, and the result is compared.
``then`` also checks that ``process`` changed nothing (only ``apply`` may). A failed
expectation raises :class:`ScenarioFailedError` — an :class:`AssertionError`, so pytest
reports it as a failed test, and an eslab error whose message says what differed.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eslab.aggregate import Aggregate
from eslab.errors import BadInputError, CommandRejectedError, EslabError
from eslab.events import Event

A = TypeVar("A", bound=Aggregate)


class ScenarioFailedError(EslabError, AssertionError):
    """A Given/When/Then expectation did not hold (what was expected, what happened)."""


@dataclass(frozen=True)
class Given(Generic[A]):
    """The history: an aggregate class and the events that already happened to it."""

    aggregate_class: type[A]
    events: tuple[Event, ...]

    def aggregate(self) -> A:
        """A fresh aggregate with the given events applied (the replay loop)."""
        return self.aggregate_class.replay(self.events)

    def when(self, command: object) -> When[A]:
        """Send ``command`` to the aggregate rebuilt from the given events."""
        aggregate = self.aggregate()
        before = copy.deepcopy(aggregate)
        try:
            events = aggregate.process(command)
        except CommandRejectedError as refusal:
            return When(self, command, aggregate, before, None, refusal, None)
        except Exception as crash:  # the code under test broke: report it, don't hide it
            return When(self, command, aggregate, before, None, None, crash)
        return When(self, command, aggregate, before, list(events), None, None)


@dataclass(frozen=True)
class When(Generic[A]):
    """The outcome of one command: the events decided, a refusal, or a crash."""

    given: Given[A]
    command: object
    aggregate: A
    before: A
    events: list[Event] | None
    refusal: CommandRejectedError | None
    crash: Exception | None

    def _scene(self) -> str:
        history = ", ".join(type(e).__name__ for e in self.given.events) or "no events"
        return (
            f"given {self.given.aggregate_class.__name__} with [{history}] "
            f"when {type(self.command).__name__}"
        )

    def _raise_on_crash(self) -> None:
        if self.crash is not None:
            raise ScenarioFailedError(
                f"{self._scene()}: process raised {type(self.crash).__name__}: {self.crash}. "
                "Refuse a command with `raise reject('why')` (CommandRejectedError)."
            ) from self.crash

    def then(self, *expected: Event) -> A:
        """Expect exactly these events (in order); return the aggregate after applying them."""
        self._raise_on_crash()
        if self.refusal is not None:
            raise ScenarioFailedError(
                f"{self._scene()}: expected {_names(expected)}, but the command was refused: "
                f"{self.refusal}"
            )
        assert self.events is not None
        if dataclasses.is_dataclass(self.aggregate) and self.aggregate != self.before:
            raise ScenarioFailedError(
                f"{self._scene()}: process changed the aggregate's state. Only apply_… may "
                "change state; process decides and returns events."
            )
        if self.events != list(expected):
            raise ScenarioFailedError(
                f"{self._scene()}: expected {list(expected)}, got {self.events}."
            )
        return self.given.aggregate_class.replay(self.events, self.aggregate)

    def then_nothing(self) -> A:
        """Expect no events and no refusal (e.g. a repeated compensation: nothing to undo)."""
        return self.then()

    def then_refused(self, containing: str | None = None) -> CommandRejectedError:
        """Expect a refusal (``CommandRejectedError``), whose message contains ``containing``."""
        self._raise_on_crash()
        if self.refusal is None:
            raise ScenarioFailedError(
                f"{self._scene()}: expected a refusal, but process returned {self.events}. "
                "Enforce the rule in process_… with `raise reject('why')`."
            )
        if containing is not None and containing.lower() not in str(self.refusal).lower():
            raise ScenarioFailedError(
                f"{self._scene()}: refused as expected, but the reason {str(self.refusal)!r} "
                f"does not mention {containing!r}."
            )
        return self.refusal


def given(aggregate_class: type[A], *events: Event) -> Given[A]:
    """Start a scenario: ``aggregate_class`` with ``events`` already applied (may be none)."""
    if not (isinstance(aggregate_class, type) and issubclass(aggregate_class, Aggregate)):
        raise BadInputError(
            "given() takes the aggregate class first, then its events; "
            f"got {aggregate_class!r:.60}."
        )
    for event in events:
        if not isinstance(event, Event):
            raise BadInputError(
                f"given() takes events (eslab.Event dataclasses) after the class, got "
                f"{event!r:.60}; commands go to .when(...)."
            )
    return Given(aggregate_class, tuple(events))


def _names(events: Any) -> str:
    return "[" + ", ".join(type(e).__name__ for e in events) + "]"
