"""Self-checks for notebook 02 (events and replay)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from eslab.aggregate import Aggregate, reject
from eslab.checks import CheckResult, hint, passed
from eslab.events import Event
from eslab.lessons.nb02_events_and_replay import (
    AddBook,
    BookAdded,
    BookBorrowed,
    BookReturned,
    BorrowBook,
    ReturnBook,
)


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
        state: Any = aggregate_class()
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
    counter: Any = repo.save(command, entity_id="c")
    for _ in range(2):
        counter = repo.update("c", command)
    if getattr(counter, "count", None) != 3 or getattr(repo.find("c"), "count", None) != 3:
        return hint(
            "After three Increment commands the replayed count should be 3: does "
            "apply_<…>(self, event) add to self.count?"
        )
    return passed("process decides, apply changes state — and replay rebuilds it.")


# -- exercise 3: an aggregate with an invariant, and its Given/When/Then tests ----------

Scenario = tuple[list[Any], Any, Any]
"""(given: past events, when: a command, then: the new events — or an error class)."""


def _then(aggregate_class: type[Aggregate], given: list[Any], when: Any) -> Any:
    """Run one Given/When/Then: replay ``given``, process ``when``; events or error class."""
    from eslab.errors import CommandRejectedError

    aggregate = aggregate_class.replay(given)
    try:
        return aggregate.process(when)
    except CommandRejectedError:
        return CommandRejectedError


@dataclass
class _Book(Aggregate):
    """A correct Book (the check's reference), with switches that break one rule each."""

    title: str = ""
    borrower: str | None = None
    lenient_borrow: ClassVar[bool] = False
    lenient_return: ClassVar[bool] = False

    def process_add(self, command: AddBook) -> list[Event]:
        return [BookAdded(command.title)]

    def apply_added(self, event: BookAdded) -> None:
        self.title = event.title

    def process_borrow(self, command: BorrowBook) -> list[Event]:
        if self.borrower is not None and not self.lenient_borrow:
            raise reject("on loan")
        return [BookBorrowed(command.member)]

    def apply_borrowed(self, event: BookBorrowed) -> None:
        self.borrower = event.member

    def process_return(self, command: ReturnBook) -> list[Event]:
        if self.borrower != command.member and not self.lenient_return:
            raise reject("not the borrower")
        return [BookReturned(command.member)]

    def apply_returned(self, event: BookReturned) -> None:
        self.borrower = None


@dataclass
class _LendsTwice(_Book):
    lenient_borrow: ClassVar[bool] = True


@dataclass
class _AnyoneReturns(_Book):
    lenient_return: ClassVar[bool] = True


def _hidden_scenarios() -> list[tuple[Scenario, str]]:
    from eslab.errors import CommandRejectedError

    added, lent = BookAdded("Dune"), BookBorrowed("mia")
    rejected = CommandRejectedError
    return [
        (([added], BorrowBook("mia"), [lent]), "borrowing a book on the shelf"),
        (([added, lent], BorrowBook("leo"), rejected), "borrowing a book that is on loan"),
        (([added, lent], ReturnBook("mia"), [BookReturned("mia")]), "the borrower returning it"),
        (([added, lent], ReturnBook("leo"), rejected), "someone else returning it"),
        (([added], ReturnBook("mia"), rejected), "returning a book that is not on loan"),
        (
            ([added, lent, BookReturned("mia")], BorrowBook("leo"), [BookBorrowed("leo")]),
            "borrowing it again after the return",
        ),
    ]


def _same(got: Any, then: Any) -> bool:
    if isinstance(then, type):
        return got is then
    return isinstance(got, list) and got == list(then)


def exercise_3(book_class: Any, scenarios: Any) -> CheckResult:
    """A Book that keeps its invariants, and Given/When/Then scenarios that would catch a bug."""
    from eslab.errors import CommandRejectedError

    if not (isinstance(book_class, type) and issubclass(book_class, Aggregate)):
        return hint("Book must subclass eslab.Aggregate (and be a @dataclass).")
    for (given, when, then), story in _hidden_scenarios():
        try:
            got = _then(book_class, given, when)
        except Exception as exc:  # the learner's code: report, don't raise
            return hint(
                f"Your Book raised {type(exc).__name__} for {story}: {exc}. Each command "
                "needs a process_… method and each event an apply_… method, found by the "
                "type annotated on the argument."
            )
        if _same(got, then):
            continue
        if then is CommandRejectedError:
            return hint(
                f"Your Book accepts {story}. An invariant is a rule the aggregate keeps: "
                "process() checks it against the state the past events built and refuses "
                "with `raise reject(...)` — no event."
            )
        return hint(
            f"For {story} your Book returns {got!r}. process() answers with the event(s) "
            "that record what happened; apply() must keep the state they describe."
        )
    if not isinstance(scenarios, list) or not scenarios:
        return hint(
            "Your Book keeps its rules. Now write `book_scenarios`: a list of "
            "(given events, when command, then events or CommandRejectedError)."
        )
    good, lends_twice, anyone_returns = _Book, _LendsTwice, _AnyoneReturns
    for number, scenario in enumerate(scenarios, start=1):
        if not (isinstance(scenario, tuple | list) and len(scenario) == 3):
            return hint(f"Scenario {number} should be a tuple (given, when, then).")
        given, when, then = scenario
        if not isinstance(given, list) or not (
            isinstance(then, list) or then is CommandRejectedError
        ):
            return hint(
                f"Scenario {number}: `given` is a list of events, `then` a list of events "
                "or CommandRejectedError."
            )
        try:
            right = _same(_then(good, given, when), then)
        except Exception as exc:
            return hint(f"Scenario {number} cannot run ({type(exc).__name__}: {exc}).")
        if not right:
            return hint(
                f"Scenario {number} fails against a correct Book: check what `then` "
                "expects after exactly those `given` events."
            )
    for buggy, rule in (
        (lends_twice, "lent a book that is already on loan"),
        (anyone_returns, "let someone other than the borrower return it"),
    ):
        if all(_same(_then(buggy, g, w), t) for g, w, t in scenarios):
            return hint(
                f"Your scenarios all pass on a Book that {rule}: tests that cannot fail "
                "prove nothing. Add a Given/When/Then whose `then` is CommandRejectedError."
            )
    return passed(
        "Given the past events, when a command, then the new events — or a refusal. Your "
        "tests catch a broken invariant, and your Book keeps it."
    )
