"""The repository's argument checks and the aggregate class checks (issue 14, §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import eslab
from eslab import Aggregate, AggregateRepository, EventStore
from eslab.domain.bank import (
    AccountOpened,
    BankAccount,
    Deposit,
    MoneyDeposited,
    OpenAccount,
)
from eslab.errors import (
    AggregateDefinitionError,
    InvalidAsOfError,
    InvalidIdError,
    InvalidVersionError,
    VersionOutOfRangeError,
)
from eslab.snapshots import SnapshotStrategy

START = datetime(2024, 1, 1, 12, 0)


@pytest.fixture
def repo() -> AggregateRepository[BankAccount]:
    """Account 'a' at version 2: opened at 12:00:00, a deposit at 12:00:01 (UTC)."""
    repository = AggregateRepository(EventStore(clock=eslab.FixedClock(START)), BankAccount)
    repository.save(OpenAccount("ann", 10), entity_id="a")
    repository.update("a", Deposit(5))
    return repository


@pytest.mark.parametrize("version", ["two", 2.0, True, 0, -1, [2]])
def test_find_refuses_a_version_that_is_not_an_int_from_1(repo, version) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidVersionError, match="version must be an int ≥ 1") as info:
        repo.find("a", version=version)
    assert isinstance(info.value, eslab.BadInputError)


def test_find_refuses_a_version_beyond_the_head_naming_the_head(repo) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VersionOutOfRangeError, match="at version 2; version 99") as info:
        repo.find("a", version=99)
    assert (info.value.head_version, info.value.requested_version) == (2, 99)
    assert "from 1 to 2" in str(info.value)
    assert repo.find("a", version=2).balance == 15


def test_a_version_beyond_the_head_is_refused_with_snapshots_too(repo) -> None:  # type: ignore[no-untyped-def]
    snapping = AggregateRepository(repo.store, BankAccount, snapshots=SnapshotStrategy(every=1))
    snapping.snapshots.take(snapping, snapping.find("a"))
    with pytest.raises(VersionOutOfRangeError, match="at version 2"):
        snapping.find("a", version=3)


@pytest.mark.parametrize("as_of", ["yesterday", 5, 1.5, "2024-01-01"])
def test_find_refuses_an_as_of_that_is_not_a_datetime(repo, as_of) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidAsOfError, match="as_of must be a datetime"):
        repo.find("a", as_of=as_of)


def test_a_date_as_of_says_how_to_make_the_end_of_that_day(repo) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidAsOfError, match=r"datetime\.combine"):
        repo.find("a", as_of=date(2024, 1, 1))


def test_a_naive_as_of_is_utc_and_an_aware_one_is_converted(repo) -> None:  # type: ignore[no-untyped-def]
    assert repo.find("a", as_of=START).balance == 10
    assert repo.find("a", as_of=START + timedelta(seconds=1)).balance == 15
    berlin = timezone(timedelta(hours=1))
    # 13:00:00 in UTC+1 is 12:00:00 UTC: only the opening had happened
    assert repo.find("a", as_of=datetime(2024, 1, 1, 13, 0, tzinfo=berlin)).balance == 10
    assert repo.find("a", as_of=datetime(2024, 1, 1, 12, 0, 1, tzinfo=UTC)).balance == 15


def test_save_refuses_an_empty_id_and_writes_nothing(repo) -> None:  # type: ignore[no-untyped-def]
    before = repo.store.last_position()
    with pytest.raises(InvalidIdError, match="leave entity_id\\s+out of save"):
        repo.save(OpenAccount("bob", 1), entity_id="")
    with pytest.raises(InvalidIdError):
        repo.save(OpenAccount("bob", 1), entity_id=7)  # type: ignore[arg-type]
    assert repo.store.last_position() == before


def test_save_without_an_id_makes_one_and_find_and_update_refuse_empty_ids(repo) -> None:  # type: ignore[no-untyped-def]
    made = repo.save(OpenAccount("bob", 1))
    assert isinstance(made.id, str) and made.id and repo.find(made.id).owner == "bob"
    with pytest.raises(InvalidIdError, match="non-empty str"):
        repo.find("")
    with pytest.raises(InvalidIdError, match="non-empty str"):
        repo.update("", Deposit(1))


@dataclass
class NoDefaults(Aggregate):
    title: str
    copies: int = 0

    def process_open(self, command: OpenAccount) -> list[eslab.Event]:
        return [AccountOpened(command.owner, command.initial_deposit)]

    def apply_opened(self, event: AccountOpened) -> None:
        self.title = event.owner


def test_an_aggregate_without_defaults_is_explained() -> None:
    message = r"NoDefaults\(\) cannot be called without arguments.*no-argument constructor"
    with pytest.raises(AggregateDefinitionError, match=message) as info:
        AggregateRepository(EventStore(), NoDefaults)
    assert "Give every field a default" in str(info.value) and "['title']" in str(info.value)
    with pytest.raises(AggregateDefinitionError, match="default constructor"):
        NoDefaults.replay([AccountOpened("x", 1)])


def test_two_process_methods_for_one_command_are_refused_naming_both() -> None:
    @dataclass
    class TwoWays(Aggregate):
        balance: int = 0

        def process_deposit(self, command: Deposit) -> list[eslab.Event]:
            return [MoneyDeposited(command.amount)]

        def process_deposit_twice(self, command: Deposit) -> list[eslab.Event]:
            return [MoneyDeposited(2 * command.amount)]

    with pytest.raises(AggregateDefinitionError, match="two process_… methods") as info:
        AggregateRepository(EventStore(), TwoWays)
    assert "process_deposit and process_deposit_twice" in str(info.value)
    with pytest.raises(AggregateDefinitionError, match="Deposit"):
        TwoWays().process(Deposit(1))


def test_two_apply_methods_for_one_event_are_refused_naming_both() -> None:
    @dataclass
    class TwoApplies(Aggregate):
        balance: int = 0

        def apply_deposited(self, event: MoneyDeposited) -> None:
            self.balance += event.amount

        def apply_money(self, event: MoneyDeposited) -> None:
            self.balance -= event.amount

    with pytest.raises(AggregateDefinitionError, match="apply_deposited and apply_money"):
        TwoApplies.replay([MoneyDeposited(1)])


def test_overriding_a_handler_under_its_own_name_is_fine() -> None:
    @dataclass
    class DoubleDeposits(BankAccount):
        def apply_deposited(self, event: MoneyDeposited) -> None:
            self.balance += 2 * event.amount

    DoubleDeposits.check_definition()
    assert DoubleDeposits.replay([AccountOpened("ann", 1), MoneyDeposited(5)]).balance == 11


def test_a_handler_without_an_annotation_is_a_definition_error() -> None:
    @dataclass
    class Unannotated(Aggregate):
        def process_x(self, command) -> list[eslab.Event]:  # type: ignore[no-untyped-def]
            return []

    with pytest.raises(AggregateDefinitionError, match="needs a type annotation"):
        AggregateRepository(EventStore(), Unannotated)


def test_a_class_that_is_not_an_aggregate_and_bad_retries_are_eslab_errors() -> None:
    with pytest.raises(AggregateDefinitionError, match="not an eslab.Aggregate subclass"):
        AggregateRepository(EventStore(), dict)  # type: ignore[type-var]
    with pytest.raises(eslab.BadInputError, match="retries must be an int ≥ 0"):
        AggregateRepository(EventStore(), BankAccount, retries=-1)


@dataclass
class WaitsForItsCommand(Aggregate):
    def process_later(self, command: DefinedLater) -> list[eslab.Event]:  # noqa: F821
        return [MoneyDeposited(command.amount)]

    def apply_deposited(self, event: MoneyDeposited) -> None:
        pass


def test_an_annotation_naming_a_class_not_defined_yet_waits_for_the_first_use() -> None:
    repository = AggregateRepository(EventStore(), WaitsForItsCommand)  # no error yet
    with pytest.raises(AggregateDefinitionError, match="names 'DefinedLater', which is not"):
        repository.save(Deposit(1))
    globals()["DefinedLater"] = Deposit
    try:
        assert repository.save(Deposit(3)).version == 1
    finally:
        del globals()["DefinedLater"]
