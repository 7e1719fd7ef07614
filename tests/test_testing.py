"""eslab.testing: Given / When / Then scenarios pass, and fail with a clear eslab error."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eslab import Aggregate, reject
from eslab.errors import BadInputError, CommandRejectedError, EslabError
from eslab.events import Event
from eslab.testing import ScenarioFailedError, given


@dataclass(frozen=True)
class SwitchOn:
    by: str


@dataclass(frozen=True)
class LampSwitchedOn(Event):
    by: str


@dataclass
class Lamp(Aggregate):
    on: bool = False

    def process_switch_on(self, command: SwitchOn) -> list[Event]:
        if self.on:
            raise reject("the lamp is already on")
        return [LampSwitchedOn(command.by)]

    def apply_switched_on(self, event: LampSwitchedOn) -> None:
        self.on = True


@dataclass
class SloppyLamp(Lamp):
    def process_switch_on(self, command: SwitchOn) -> list[Event]:
        self.on = True  # wrong: process must not change state
        return [LampSwitchedOn(command.by)]


@dataclass
class BrokenLamp(Lamp):
    def process_switch_on(self, command: SwitchOn) -> list[Event]:
        raise KeyError("bulb")


def test_then_passes_and_returns_the_aggregate_after_the_events() -> None:
    after = given(Lamp).when(SwitchOn("ann")).then(LampSwitchedOn("ann"))
    assert after == Lamp(on=True)


def test_then_refused_passes_on_a_refusal_with_the_reason() -> None:
    refusal = given(Lamp, LampSwitchedOn("ann")).when(SwitchOn("bob")).then_refused("already on")
    assert isinstance(refusal, CommandRejectedError)


def test_a_failed_expectation_says_what_differed() -> None:
    with pytest.raises(ScenarioFailedError, match=r"expected \[LampSwitchedOn\(by='bob'\)\]"):
        given(Lamp).when(SwitchOn("ann")).then(LampSwitchedOn("bob"))
    with pytest.raises(ScenarioFailedError, match="was refused: the lamp is already on"):
        given(Lamp, LampSwitchedOn("ann")).when(SwitchOn("bob")).then(LampSwitchedOn("bob"))
    with pytest.raises(ScenarioFailedError, match="expected a refusal"):
        given(Lamp).when(SwitchOn("ann")).then_refused()
    with pytest.raises(ScenarioFailedError, match="does not mention 'broken'"):
        given(Lamp, LampSwitchedOn("a")).when(SwitchOn("b")).then_refused("broken")
    with pytest.raises(ScenarioFailedError, match="expected \\[\\]"):
        given(Lamp).when(SwitchOn("ann")).then_nothing()
    # it is an eslab error and an AssertionError (pytest reports a failed test)
    assert issubclass(ScenarioFailedError, EslabError)
    assert issubclass(ScenarioFailedError, AssertionError)


def test_process_that_changes_state_or_crashes_is_reported() -> None:
    with pytest.raises(ScenarioFailedError, match="changed the aggregate's state"):
        given(SloppyLamp).when(SwitchOn("ann")).then(LampSwitchedOn("ann"))
    with pytest.raises(ScenarioFailedError, match="raised KeyError"):
        given(BrokenLamp).when(SwitchOn("ann")).then_refused()


def test_given_refuses_wrong_arguments() -> None:
    with pytest.raises(BadInputError, match="aggregate class first"):
        given(LampSwitchedOn("x"))  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="commands go to .when"):
        given(Lamp, SwitchOn("ann"))  # type: ignore[arg-type]
