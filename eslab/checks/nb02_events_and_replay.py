"""Self-checks for notebook 02 (events and replay)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eslab.checks import CheckResult, hint, passed


def _sample_events() -> list[Any]:
    from eslab.domain.bank import AccountOpened, MoneyDeposited, MoneyWithdrawn

    return [AccountOpened("Dana", 20), MoneyDeposited(5), MoneyWithdrawn(8), MoneyDeposited(1)]


@contextmanager
def _library_replay_watched() -> Iterator[list[int]]:
    """Count calls to ``Aggregate.replay`` (and ``BankAccount.replay``) while inside."""
    from eslab.aggregate import Aggregate

    calls: list[int] = []
    original = Aggregate.__dict__["replay"]

    def spy(cls: type, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original.__func__(cls, *args, **kwargs)

    Aggregate.replay = classmethod(spy)  # type: ignore[method-assign,assignment]
    try:
        yield calls
    finally:
        Aggregate.replay = original  # type: ignore[method-assign]


def exercise_1(replay: Any) -> CheckResult:
    """``replay(events) -> BankAccount`` written with the seed's loop."""
    from eslab.domain.bank import BankAccount

    if not callable(replay):
        return hint("Define a function `replay(events)` that returns a BankAccount.")
    try:
        with _library_replay_watched() as library_calls:
            result = replay(_sample_events())
    except Exception as exc:  # the learner's code: report, don't raise
        return hint(
            f"Your replay raised {type(exc).__name__}: {exc}. Start from BankAccount() "
            "and call .apply(event) for each event."
        )
    if library_calls:
        return hint(
            "Your function hands the work to the library's replay. The point is to see "
            "the loop itself: a default constructor, then apply for each event, in order."
        )
    if not isinstance(result, BankAccount):
        return hint("Return the aggregate itself (a BankAccount), not a number.")
    if result.balance != 18 or result.owner != "Dana":
        return hint(
            "The state is off: apply *every* event, in order, to one instance made "
            "with the default constructor."
        )
    if replay([]) != BankAccount():
        return hint("With no events, replay should give a fresh BankAccount().")
    return passed("That is the replay loop: new instance, apply each event.")


def exercise_2(
    aggregate_class: Any, command: Any, repository_factory: Callable[..., Any]
) -> CheckResult:
    """A ``Counter`` aggregate whose ``Increment`` command raises a count through an event."""
    from eslab.aggregate import Aggregate
    from eslab.store import EventStore

    if not (isinstance(aggregate_class, type) and issubclass(aggregate_class, Aggregate)):
        return hint("Counter must subclass eslab.Aggregate (and be a @dataclass).")
    probe = aggregate_class()
    try:
        events = probe.process(command)
    except Exception as exc:
        return hint(
            f"process() raised {type(exc).__name__}. An aggregate finds its handler "
            "by the type annotated on a process_… method's argument."
        )
    if not events:
        return hint("process must return a list with one event that says what happened.")
    if getattr(probe, "count", None) != 0:
        return hint("process must not change the state — only apply does.")
    for start in (0, 5):
        state = aggregate_class()
        state.count = start
        try:
            for event in events:
                state.apply(event)
        except Exception as exc:
            return hint(
                f"apply() raised {type(exc).__name__}. An aggregate finds its apply_… "
                "handler by the event type annotated on the method's argument."
            )
        if state.count != start + 1:
            return hint(
                f"Applied to a counter at {start}, your event gives {state.count}. An event "
                "records a change, so apply must change the state *from where it is* "
                "(replay applies the same event to many different states)."
            )
    repo = repository_factory(EventStore(), aggregate_class)
    counter = repo.save(command, entity_id="c")
    for _ in range(2):
        counter = repo.update("c", command)
    if getattr(counter, "count", None) != 3 or repo.find("c").count != 3:
        return hint(
            "After three Increment commands the replayed count should be 3: does "
            "apply_<…>(self, event) add to self.count?"
        )
    return passed("process decides, apply changes state — and replay rebuilds it.")
