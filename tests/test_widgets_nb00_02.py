"""The labs of notebooks 00–02, driven in-process (set values, click buttons)."""

from __future__ import annotations

import pytest

import eslab
from eslab import AggregateRepository, EventStore
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.widgets.crud_lab import CrudVsEventsLab
from eslab.widgets.time_machine import TimeMachine
from eslab.widgets.welcome import WidgetCheck


def test_widget_check_echoes_the_slider() -> None:
    check = WidgetCheck()
    check.slider.value = 4
    assert check.echo.value == "Widgets work: the slider is at 4."
    assert "eslab-welcome" in check.widget._dom_classes


@pytest.fixture
def carol() -> AggregateRepository[BankAccount]:
    repo = AggregateRepository(EventStore(clock=eslab.FixedClock()), BankAccount)
    repo.save(OpenAccount("Carol", 40), entity_id="carol")
    for amount in (10, 25, 5):
        repo.update("carol", Deposit(amount))
    return repo


def test_time_machine_shows_the_state_at_the_chosen_version(carol) -> None:  # type: ignore[no-untyped-def]
    machine = TimeMachine(carol, "carol")
    assert machine.slider.max == 4 and machine.slider.value == 4
    assert machine.caption.value.startswith("Version 4 of 4: MoneyDeposited")
    assert ">80<" in machine.state.value
    machine.slider.value = 2
    assert machine.caption.value.startswith("Version 2 of 4: MoneyDeposited")
    assert ">50<" in machine.state.value and ">80<" not in machine.state.value
    machine.slider.value = 1
    assert "AccountOpened" in machine.caption.value and ">40<" in machine.state.value
    assert machine.state_at(3) == carol.find("carol", version=3)


def test_time_machine_for_a_missing_stream_says_so(carol) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(eslab.EntityNotFoundError):
        TimeMachine(carol, "nobody")


def test_crud_lab_keeps_one_row_but_every_event() -> None:
    lab = CrudVsEventsLab(opening_balance=50)
    lab.amount.value = 20
    lab.deposit.click()
    lab.withdraw.click()
    lab.withdraw.click()
    assert lab.summary.value == "CRUD: 1 row, balance 30 · Events: 4 rows, balance 30"
    assert lab.crud_view.value.count("<tr") == 2  # header + one row
    assert lab.events_view.value.count("MoneyWithdrawn") == 2


def test_crud_lab_shows_a_refusal_without_changing_anything() -> None:
    lab = CrudVsEventsLab(opening_balance=5)
    lab.amount.value = 50
    lab.withdraw.click()
    assert "CommandRejectedError" in lab.last_notice
    assert lab.summary.value.startswith("CRUD: 1 row, balance 5 · Events: 1 rows")


def test_time_machine_draws_a_window_of_a_long_stream() -> None:
    repo = AggregateRepository(EventStore(clock=eslab.FixedClock()), BankAccount)
    repo.save(OpenAccount("Long", 0), entity_id="long")
    with repo.store.unit_of_work() as uow:
        for _ in range(399):
            repo.update("long", Deposit(1), uow=uow)
    machine = TimeMachine(repo, "long")
    assert len(machine.window(400)) == 300 and machine.window(400)[-1].entity_version == 400
    assert [e.entity_version for e in machine.window(1)][:2] == [1, 2]
    middle = machine.window(200)
    assert middle[0].entity_version <= 200 <= middle[-1].entity_version
    machine.slider.value = 200
    assert machine.caption.value.startswith("Version 200 of 400")
    assert ">199<" in machine.state.value  # balance after 199 deposits
