"""Self-checks for notebook 08 (sagas with event sourcing, 사가와 이벤트 소싱을 접목)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed
from eslab.i18n import N_, _


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
            _(
                "Make `answer` a list of command type names, e.g. ['SomeCommand', ...], read "
                "from the StepCommandSent events whose `compensating` is True."
            )
        )
    if not isinstance(answer, list | tuple) or not all(isinstance(a, str) for a in answer):
        return hint(_("The answer is a list of str: the `command_type` of each compensating step."))
    expected = _compensations_after_card_failure()
    if list(answer) == expected:
        return passed(
            _(
                "Right: the ticket is cancelled first, then the order rejected — compensations "
                "run backwards from the step that failed, and the pivot itself has none."
            )
        )
    if sorted(answer) == sorted(expected):
        return hint(
            _(
                "The right commands, in the wrong order. Compensations undo the most recent "
                "step first and walk back towards step 1."
            )
        )
    if any("Authoriz" in a for a in answer):
        return hint(
            _(
                "The card authorization is the step that failed (the pivot): nothing was "
                "authorized, so there is nothing to undo there."
            )
        )
    if len(answer) < len(expected):
        return hint(
            _(
                "A compensation is missing. Look at every step before the failed one that has "
                "with_compensation(...) — step 1 has nothing but a compensation."
            )
        )
    return hint(
        _(
            "Look at the saga's own stream: the StepCommandSent events after CompensationStarted "
            "are the compensating commands."
        )
    )


@never_raise
def exercise_2(answer: Any, store: Any, saga_id: str) -> CheckResult:
    """The set of streams ('EntityType id') that took part in saga ``saga_id``."""
    from eslab.ftgo import correlated_events

    if answer is None:
        return hint(
            _(
                "Make `answer` a set of 'EntityType id' strings, e.g. {'Order order-1', ...}: "
                "every stream with an event whose correlation_id is the saga id."
            )
        )
    if not isinstance(answer, set | frozenset | list | tuple):
        return hint(_("The answer is a set of strings like 'Ticket ticket-order-1'."))
    answer = {str(a) for a in answer}
    expected = set(correlated_events(store, saga_id)["stream"])
    if not expected:
        return hint(
            _(
                "No event in this store has the correlation id {saga_id!r}; is it the "
                "saga id of the order you placed above?"
            ).format(saga_id=saga_id)
        )
    if answer == expected:
        return passed(
            _(
                "Right: {count} streams in four services share one correlation id — "
                "that is how you follow one business transaction across the system."
            ).format(count=len(expected))
        )
    missing, extra = expected - answer, answer - expected
    if extra:
        return hint(
            _(
                "Some of your streams do not belong to this saga. Keep only events whose "
                "metadata correlation_id equals the saga id (json_extract_string(metadata, "
                "'$.correlation_id') in SQL)."
            )
        )
    plumbing = {s for s in missing if s.split(" ")[0] in ("CreateOrderSaga", "SagaReply")}
    if plumbing:
        return hint(
            _(
                "The saga's own stream and the participants' reply stream are streams too, and "
                "they carry the same correlation id."
            )
        )
    return hint(
        _(
            "{count} stream(s) are missing. Query by correlation id instead of "
            "guessing from the order id: a participant's stream id need not contain"
            " it."
        ).format(count=len(missing))
    )


@never_raise
def exercise_3(orchestrator: Any, saga_id: str) -> CheckResult:
    """A *new* orchestrator that finished saga ``saga_id`` after the old one crashed."""
    from eslab.sagas import SagaOrchestrator

    if not isinstance(orchestrator, SagaOrchestrator):
        return hint(
            _(
                "Hand in the new SagaOrchestrator you built on the same store and broker "
                "(SagaOrchestrator(store, broker, CreateOrderSaga))."
            )
        )
    events = [e.event_type for e in orchestrator.store.load(orchestrator.saga_type, saga_id)]
    if not events:
        return hint(
            _("This orchestrator's store has no saga {saga_id!r}: use the same store.").format(
                saga_id=saga_id
            )
        )
    if saga_id not in orchestrator.replayed:
        return hint(
            _(
                "This orchestrator never rebuilt the saga from its stream — is it the old "
                "one? Make a new SagaOrchestrator, put it in place, then run the messages."
            )
        )
    if events[-1] not in ("SagaCompleted", "SagaFailed"):
        return hint(
            _(
                "The saga has not finished yet. Deliver the remaining messages "
                "(system.run()) after the new orchestrator took over the reply channel."
            )
        )
    if events.count("SagaStarted") != 1:
        return hint(_("The saga was started twice: resume the old one, don't start a new one."))
    return passed(
        _(
            "Right: the new orchestrator replayed {count} events of the saga's "
            "stream and carried on — its memory was only a cache."
        ).format(count=len(events))
    )


# -- exercise 4: an event-sourced participant, the book's way -----------------------------


def _authorization_schedule() -> list[Any]:
    """Authorize o-1, fail o-2 (over the limit), o-1 again, reverse o-1, o-2 again (late —
    it would fit now), the reversal again."""
    from eslab.lessons.nb08_sagas import accounting_message

    a1 = accounting_message("cmd-a1", "authorize", "o-1", 1500)
    a2 = accounting_message("cmd-a2", "authorize", "o-2", 1000)
    r1 = accounting_message("cmd-r1", "reverse", "o-1")
    return [a1, a2, a1, r1, a2, r1]


def _run_participant(handle: Any) -> Any:
    from eslab.aggregate import AggregateRepository
    from eslab.domain.accounting import Account, CreateAccount
    from eslab.domain.order import Money
    from eslab.errors import CommandRejectedError, DuplicateMessageError
    from eslab.store import EventStore

    repo = AggregateRepository(EventStore(), Account)
    repo.save(CreateAccount("consumer-1", Money(2000)), entity_id="account-1")
    for message in _authorization_schedule():
        try:
            handle(repo, message)
        except (CommandRejectedError, DuplicateMessageError):
            pass  # reaches the broker as an error reply or a skip
    return repo


@never_raise
def exercise_4(handle: Any) -> CheckResult:
    """``handle(repo, message)``: the Accounting participant, idempotent the book's way —
    the command message's id recorded in the events it emits (``triggering_event``)."""
    if not callable(handle):
        return hint(_("Define a function `handle(repo, message)` for one accounting command."))
    try:
        runs = [_run_participant(handle), _run_participant(handle)]
    except Exception as exc:  # the learner's code
        return hint(
            _(
                "Your handler raised {type_name}: {exc}. Route the message with "
                "accounting_route(message) and update the account it names."
            ).format(type_name=type(exc).__name__, exc=exc)
        )
    for instance, repo in enumerate(runs, start=1):
        where = "" if instance == 1 else N_("In a second service instance with its own database: ")
        stored = repo.store.load("Account", "account-1")
        account = repo.find("account-1")
        if len(repo.store.sql("SELECT * FROM processed_messages")):
            return hint(
                _(
                    "That is the RDBMS alternative (processed_messages). An event-sourced "
                    "participant can do without a second table: put the message id in the events "
                    "it emits — EventMetadata(triggering_message_id=message.id) — and look for it "
                    "in the account's stream before processing."
                )
            )
        if "o-2" in account.authorizations:
            return hint(
                _(where)
                + _(
                    "The late redelivery of the refused authorization (o-2) went through "
                    "once o-1 was reversed. Its first delivery wrote an AccountAuthorizationFailed "
                    "event: if that event carries the message id, the redelivery finds it."
                )
            )
        if "o-2" not in account.failed_authorizations or len(stored) != 4:
            return hint(
                _(where)
                + _(
                    "The account should hold exactly: created, o-1 authorized, o-2 failed, "
                    "o-1 reversed — each command once. Is every first delivery processed, and "
                    "every redelivery skipped?"
                )
            )
        if any(s.triggering_event is None for s in stored[1:]):
            return hint(
                _(where)
                + _(
                    "Every event a command caused must carry that command's message id "
                    "(the triggering_event column): pass it as metadata when you update."
                )
            )
    return passed(
        _(
            "Right: the message id travels in the events the account emits (Eventuate's "
            "triggering event); a redelivery finds it in the stream and is skipped — no second "
            "table, one atomic append."
        )
    )


# -- exercise 5: a new saga step and its compensation -------------------------------------


@never_raise
def exercise_5(definition: Any) -> CheckResult:
    """The CreateOrderSaga with a loyalty step (ReservePoints, compensated by ReleasePoints)."""
    from eslab.domain.order import Money
    from eslab.ftgo import CreateOrderSaga, CreateOrderSagaState
    from eslab.lessons.nb08_sagas import LOYALTY_SERVICE, ReleasePoints, ReservePoints
    from eslab.sagas import SagaDefinition

    if not isinstance(definition, SagaDefinition):
        return hint(
            _(
                "Hand in a SagaDefinition: step().with_compensation(...).step()....build() — the "
                "book's steps with yours added."
            )
        )
    book = CreateOrderSaga.definition
    data = CreateOrderSagaState("order-9", "consumer-9", "r", [], Money(0), ticket_id="t-9")
    loyalty = [s for s in definition.steps if s.participant == LOYALTY_SERVICE]
    if len(loyalty) != 1:
        return hint(
            _("Add exactly one step that invokes {LOYALTY_SERVICE!r}.").format(
                LOYALTY_SERVICE=LOYALTY_SERVICE
            )
        )
    mine = loyalty[0]
    if mine.command is None:
        return hint(
            _("Give the {LOYALTY_SERVICE!r} step a command: .invoke_participant(...).").format(
                LOYALTY_SERVICE=LOYALTY_SERVICE
            )
        )
    try:
        command = mine.command(data)
        undo = mine.compensation(data) if mine.compensation else None
    except Exception as exc:
        return hint(
            _(
                "Your command factory raised {type_name}: {exc}. It gets the saga data "
                "(CreateOrderSagaState): build the command from data.consumer_id and "
                "data.order_id."
            ).format(type_name=type(exc).__name__, exc=exc)
        )
    if not isinstance(command, ReservePoints) or command != ReservePoints("consumer-9", "order-9"):
        return hint(
            _(
                "The loyalty step's command should be ReservePoints for this saga's consumer and "
                "order (from the saga data, not fixed strings)."
            )
        )
    if undo is None:
        return hint(
            _(
                "Reserved points must be given back if a later step fails: add "
                ".with_compensation(LOYALTY_SERVICE, ...) to your step."
            )
        )
    if undo != ReleasePoints("order-9") or mine.compensation_participant != LOYALTY_SERVICE:
        return hint(
            _(
                "The compensation undoes the step: ReleasePoints for this order, sent to the "
                "loyalty service."
            )
        )
    others = [s for s in definition.steps if s is not mine]
    if [(s.participant, s.compensation_participant) for s in others] != [
        (s.participant, s.compensation_participant) for s in book.steps
    ]:
        return hint(_("Keep the book's six steps as they are, in their order; only add yours."))
    authorize = next(s for s in definition.steps if s.participant == "AccountingService")
    if mine.number > authorize.number:
        return hint(
            _(
                "After the pivot (the card authorization) steps are retriable and are never "
                "compensated: a compensatable step like this one belongs before the pivot."
            )
        )
    if definition.pivot != authorize.number:
        return hint(_("The card authorization must stay the pivot of the saga."))
    undone = [
        type(s.compensation(data)).__name__
        for s in definition.compensations_after_failure(authorize.number)
        if s.compensation is not None
    ]
    return passed(
        _(
            "Right: step {number} is compensatable; if the card fails the "
            "orchestrator now sends {value} — backwards from the failed step."
        ).format(number=mine.number, value=" → ".join(undone))
    )


# -- exercise 6: choreography ----------------------------------------------------------------


@never_raise
def exercise_6(answer: Any, system: Any) -> CheckResult:
    """In the choreography ``system``: which services react to ``AccountAuthorizationFailed``?"""
    if system is None or getattr(system, "mode", None) != "choreography":
        return hint(_("Pass the choreography system (dance) as the second argument."))
    if not isinstance(answer, set | frozenset | list | tuple) or not all(
        isinstance(a, str) for a in answer
    ):
        return hint(_("Answer with a set of service names (str), e.g. {'OrderService', ...}."))
    truth = {
        s.service
        for s in system.services
        if any(t.__name__ == "AccountAuthorizationFailed" for t in s.event_handlers())
    }
    given = set(answer)
    if given == truth:
        return passed(
            _(
                "Right: {value} subscribe to it. Accounting publishes this failure "
                "event only so that others can undo their work: in choreography an "
                "event often has a second purpose (§6.3.1)."
            ).format(value=" and ".join(sorted(truth)))
        )
    if "AccountingService" in given:
        return hint(
            _(
                "Accounting publishes the event; who *subscribes* to it? Look at each service's "
                "event_handlers() (dance.services) or at the swimlane."
            )
        )
    if given - truth:
        return hint(_("Some of these services have no handler for that event."))
    return hint(
        _("A service is missing: who must undo or decide something when the card is refused?")
    )
