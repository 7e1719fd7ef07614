"""Self-checks of notebooks 00–02 pass on the solution and hint on wrong answers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eslab import Aggregate, AggregateRepository, Event, EventStore
from eslab.checks import nb00_welcome, nb01_why_event_sourcing, nb02_events_and_replay
from eslab.domain.bank import (
    AccountOpened,
    BankAccount,
    MoneyDeposited,
)
from eslab.lessons.nb01_why_event_sourcing import busy_account


def test_nb00_passes_on_one_event_and_hints_otherwise() -> None:
    store = EventStore()
    store.append("BankAccount", "my-first", [AccountOpened("me", 1)], 0)
    assert nb00_welcome.exercise_1(store)
    assert "EventStore" in nb00_welcome.exercise_1(None).message
    empty = nb00_welcome.exercise_1(EventStore())
    assert not empty and "0 events" in empty.message
    store.append("BankAccount", "my-first", [MoneyDeposited(1)], 1)
    assert not nb00_welcome.exercise_1(store)


def test_nb00_rejects_another_stream() -> None:
    store = EventStore()
    store.append("BankAccount", "first", [AccountOpened("me", 1)], 0)
    result = nb00_welcome.exercise_1(store)
    assert not result and "one stream per aggregate" in result.message


LIBRARY_EVENTS = ["BookAdded", "BookBorrowed", "BookReturned", "BookRemoved"]


def test_nb01_event_names_pass_in_many_wordings() -> None:
    assert nb01_why_event_sourcing.exercise_1(LIBRARY_EVENTS)
    assert nb01_why_event_sourcing.exercise_1(
        ("BookCatalogued", "BookLent", "BookCheckedIn", "BookWithdrawn")
    )


@pytest.mark.parametrize(
    ("names", "words"),
    [
        (["BookAdded", "BookBorrowed", "BorrowRefused", "BookReturned", "BookRemoved"], "refused"),
        (["AddBook", "BorrowBook", "ReturnBook", "RemoveBook"], "past tense"),
        (["BookAdded", "BookUpdated", "BookUpdated", "BookRemoved"], "business fact"),
        (["BookAdded", "BookBorrowed", "BookReturned"], "One event per change"),
        (["BookAdded", "BookReturned", "BookBorrowed", "BookRemoved"], "in order"),
        (["book added"], "type name"),
        ("BookAdded", "list of event type names"),
        (None, "list of event type names"),
    ],
)
def test_nb01_event_names_hints(names: object, words: str) -> None:
    result = nb01_why_event_sourcing.exercise_1(names)
    assert not result and words in result.message


def _first_version_above(store: EventStore, threshold: int) -> int:
    repo = AggregateRepository(store, BankAccount)
    head = store.head("BankAccount", "ines")
    return next(v for v in range(1, head + 1) if repo.find("ines", version=v).balance > threshold)


def test_nb01_audit_question_from_the_log() -> None:
    store = busy_account()
    right = _first_version_above(store, 500)
    assert nb01_why_event_sourcing.exercise_2(right, store, "ines", 500)
    too_early = nb01_why_event_sourcing.exercise_2(right - 1, store, "ines", 500)
    assert not too_early and "not above 500 yet" in too_early.message
    latest = store.head("BankAccount", "ines")
    if latest > right:
        too_late = nb01_why_event_sourcing.exercise_2(latest, store, "ines", 500)
        assert not too_late and "*first*" in too_late.message


@pytest.mark.parametrize("answer", [True, 1.0, float("nan"), "37", None])
def test_nb01_audit_rejects_non_counts(answer: object) -> None:
    store = busy_account()
    result = nb01_why_event_sourcing.exercise_2(answer, store, "ines", 500)
    assert not result and "an int" in result.message


def test_nb01_audit_rejects_the_right_number_as_a_float() -> None:
    store = busy_account()
    right = _first_version_above(store, 500)
    assert not nb01_why_event_sourcing.exercise_2(float(right), store, "ines", 500)
    assert not nb01_why_event_sourcing.exercise_2(0, store, "ines", 500)


def test_nb02_replay_check() -> None:
    def good(events):  # type: ignore[no-untyped-def]
        account = BankAccount()
        for event in events:
            account.apply(event)
        return account

    def skips_first(events):  # type: ignore[no-untyped-def]
        return good(events[1:])

    assert nb02_events_and_replay.exercise_1(good)
    result = nb02_events_and_replay.exercise_1(skips_first)
    assert not result and "every" in result.message
    assert not nb02_events_and_replay.exercise_1(lambda events: 18)
    assert not nb02_events_and_replay.exercise_1(None)


def test_nb02_replay_check_refuses_the_library_replay() -> None:
    result = nb02_events_and_replay.exercise_1(lambda events: BankAccount.replay(events))
    assert not result and "loop itself" in result.message
    # the spy is gone afterwards
    assert BankAccount.replay([AccountOpened("x", 3)]).balance == 3


@dataclass(frozen=True)
class Bump:
    pass


@dataclass(frozen=True)
class Bumped(Event):
    pass


@dataclass
class GoodCounter(Aggregate):
    count: int = 0

    def process_bump(self, command: Bump) -> list[Event]:
        return [Bumped()]

    def apply_bumped(self, event: Bumped) -> None:
        self.count += 1


@dataclass
class EagerCounter(GoodCounter):
    def process_bump(self, command: Bump) -> list[Event]:
        self.count += 1  # wrong: process must not change state
        return [Bumped()]


@dataclass
class EmptyCounter(Aggregate):
    count: int = 0


@dataclass
class SettingCounter(GoodCounter):
    def apply_bumped(self, event: Bumped) -> None:
        self.count = 3  # wrong: sets a value instead of changing it by one


@dataclass
class OneCounter(GoodCounter):
    def apply_bumped(self, event: Bumped) -> None:
        self.count = 1  # wrong: right only from zero


def test_nb02_counter_check() -> None:
    assert nb02_events_and_replay.exercise_2(GoodCounter, Bump(), AggregateRepository)
    eager = nb02_events_and_replay.exercise_2(EagerCounter, Bump(), AggregateRepository)
    assert not eager and "only apply" in eager.message
    empty = nb02_events_and_replay.exercise_2(EmptyCounter, Bump(), AggregateRepository)
    assert not empty and "annotated" in empty.message
    assert not nb02_events_and_replay.exercise_2(int, Bump(), AggregateRepository)


@pytest.mark.parametrize("counter", [SettingCounter, OneCounter])
def test_nb02_counter_check_applies_from_different_states(counter: type) -> None:
    result = nb02_events_and_replay.exercise_2(counter, Bump(), AggregateRepository)
    assert not result and "from where it is" in result.message


def test_hints_never_end_a_sentence_with_two_full_stops() -> None:
    def broken(events):  # type: ignore[no-untyped-def]
        raise ValueError("the account is closed.")

    result = nb02_events_and_replay.exercise_1(broken)
    assert not result and "closed." in result.message and ".." not in result.message


# -- exercise 3 of notebook 02: Book with invariants + Given/When/Then ------------------

from eslab import CommandRejectedError  # noqa: E402
from eslab.lessons.nb02_events_and_replay import (  # noqa: E402
    BookAdded,
    BookBorrowed,
    BookReturned,
    BorrowBook,
    ReturnBook,
)

Book = nb02_events_and_replay._Book  # the check's reference must pass its own check


@dataclass
class LendsTwice(Book):
    def process_borrow(self, command: BorrowBook) -> list[Event]:
        return [BookBorrowed(command.member)]  # wrong: the invariant is not checked


@dataclass
class NeverForgets(Book):
    def apply_returned(self, event: BookReturned) -> None:
        pass  # wrong: the state after a return still says "on loan"


ADDED, LENT = BookAdded("Dune"), BookBorrowed("mia")
GOOD_SCENARIOS = [
    ([ADDED], BorrowBook("mia"), [LENT]),
    ([ADDED, LENT], BorrowBook("leo"), CommandRejectedError),
    ([ADDED, LENT], ReturnBook("leo"), CommandRejectedError),
]


def test_nb02_book_and_scenarios_pass() -> None:
    assert nb02_events_and_replay.exercise_3(Book, GOOD_SCENARIOS)


def test_nb02_book_that_breaks_its_invariant_gets_a_hint() -> None:
    result = nb02_events_and_replay.exercise_3(LendsTwice, GOOD_SCENARIOS)
    assert not result and "invariant" in result.message
    result = nb02_events_and_replay.exercise_3(NeverForgets, GOOD_SCENARIOS)
    assert not result and "borrowing it again" in result.message


def test_nb02_book_without_handlers_gets_the_annotation_hint() -> None:
    result = nb02_events_and_replay.exercise_3(EmptyCounter, GOOD_SCENARIOS)
    assert not result and "annotated" in result.message


@pytest.mark.parametrize(
    ("scenarios", "words"),
    [
        ([], "Now write `book_scenarios`"),
        ([([ADDED], BorrowBook("mia"), [LENT])], "lent a book that is already on loan"),
        (GOOD_SCENARIOS[:2], "someone other than the borrower"),
        ([([ADDED, LENT], BorrowBook("leo"), [BookBorrowed("leo")])], "fails against a correct"),
        ([(ADDED, BorrowBook("mia"), [LENT])], "`given` is a list"),
        ([([ADDED], BorrowBook("mia"))], "tuple (given, when, then)"),
        ([([ADDED], BorrowBook("mia"), "BookBorrowed")], "`then` a list of events"),
    ],
)
def test_nb02_scenarios_that_prove_nothing_get_a_hint(scenarios: object, words: str) -> None:
    result = nb02_events_and_replay.exercise_3(Book, scenarios)
    assert not result and words in result.message
