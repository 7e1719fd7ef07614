"""Self-checks for notebook 08 (sagas with event sourcing, 사가와 이벤트 소싱을 접목)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed


def _compensations_after_card_failure() -> list[str]:
    """What the orchestrator really sends when step 4 fails (computed, not typed in)."""
    from eslab.domain.order import Money
    from eslab.ftgo import CreateOrderSaga, CreateOrderSagaState

    data = CreateOrderSagaState("o", "c", "r", [], Money(0), ticket_id="t")
    steps = CreateOrderSaga.definition.compensations_after_failure(4)
    return [type(s.compensation(data)).__name__ for s in steps if s.compensation]


@never_raise
def exercise_1(answer: Any) -> CheckResult:
    """The compensating commands (type names, in order) after the card authorization fails."""
    if answer is None:
        return hint(
            "Make `answer` a list of command type names, e.g. ['SomeCommand', ...], read "
            "from the StepCommandSent events whose `compensating` is True."
        )
    if not isinstance(answer, list | tuple) or not all(isinstance(a, str) for a in answer):
        return hint("The answer is a list of str: the `command_type` of each compensating step.")
    expected = _compensations_after_card_failure()
    if list(answer) == expected:
        return passed(
            "Right: the ticket is cancelled first, then the order rejected — compensations "
            "run backwards from the step that failed, and the pivot itself has none."
        )
    if sorted(answer) == sorted(expected):
        return hint(
            "The right commands, in the wrong order. Compensations undo the most recent "
            "step first and walk back towards step 1."
        )
    if any("Authoriz" in a for a in answer):
        return hint(
            "The card authorization is the step that failed (the pivot): nothing was "
            "authorized, so there is nothing to undo there."
        )
    if len(answer) < len(expected):
        return hint(
            "A compensation is missing. Look at every step before the failed one that has "
            "with_compensation(...) — step 1 has nothing but a compensation."
        )
    return hint(
        "Look at the saga's own stream: the StepCommandSent events after CompensationStarted "
        "are the compensating commands."
    )


@never_raise
def exercise_2(answer: Any, store: Any, saga_id: str) -> CheckResult:
    """The set of streams ('EntityType id') that took part in saga ``saga_id``."""
    from eslab.ftgo import correlated_events

    if answer is None:
        return hint(
            "Make `answer` a set of 'EntityType id' strings, e.g. {'Order order-1', ...}: "
            "every stream with an event whose correlation_id is the saga id."
        )
    if not isinstance(answer, set | frozenset | list | tuple):
        return hint("The answer is a set of strings like 'Ticket ticket-order-1'.")
    answer = {str(a) for a in answer}
    expected = set(correlated_events(store, saga_id)["stream"])
    if not expected:
        return hint(
            f"No event in this store has the correlation id {saga_id!r}; is it the "
            "saga id of the order you placed above?"
        )
    if answer == expected:
        return passed(
            f"Right: {len(expected)} streams in four services share one correlation id — "
            "that is how you follow one business transaction across the system."
        )
    missing, extra = expected - answer, answer - expected
    if extra:
        return hint(
            "Some of your streams do not belong to this saga. Keep only events whose "
            "metadata correlation_id equals the saga id (json_extract_string(metadata, "
            "'$.correlation_id') in SQL)."
        )
    plumbing = {s for s in missing if s.split(" ")[0] in ("CreateOrderSaga", "SagaReply")}
    if plumbing:
        return hint(
            "The saga's own stream and the participants' reply stream are streams too, and "
            "they carry the same correlation id."
        )
    return hint(
        f"{len(missing)} stream(s) are missing. Query by correlation id instead of "
        "guessing from the order id: a participant's stream id need not contain it."
    )


@never_raise
def exercise_3(orchestrator: Any, saga_id: str) -> CheckResult:
    """A *new* orchestrator that finished saga ``saga_id`` after the old one crashed."""
    from eslab.sagas import SagaOrchestrator

    if not isinstance(orchestrator, SagaOrchestrator):
        return hint(
            "Hand in the new SagaOrchestrator you built on the same store and broker "
            "(SagaOrchestrator(store, broker, CreateOrderSaga))."
        )
    events = [e.event_type for e in orchestrator.store.load(orchestrator.saga_type, saga_id)]
    if not events:
        return hint(f"This orchestrator's store has no saga {saga_id!r}: use the same store.")
    if saga_id not in orchestrator.replayed:
        return hint(
            "This orchestrator never rebuilt the saga from its stream — is it the old "
            "one? Make a new SagaOrchestrator, put it in place, then run the messages."
        )
    if events[-1] not in ("SagaCompleted", "SagaFailed"):
        return hint(
            "The saga has not finished yet. Deliver the remaining messages "
            "(system.run()) after the new orchestrator took over the reply channel."
        )
    if events.count("SagaStarted") != 1:
        return hint("The saga was started twice: resume the old one, don't start a new one.")
    return passed(
        f"Right: the new orchestrator replayed {len(events)} events of the saga's stream "
        "and carried on — its memory was only a cache."
    )
