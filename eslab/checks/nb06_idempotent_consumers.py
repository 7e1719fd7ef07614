"""Self-checks for notebook 06 (idempotent consumers, 멱등한 메시지 처리)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed
from eslab.i18n import N_, _

OPENING = 30
"""Every check opens ``acc-1`` with this balance."""


class ProcessCrash(BaseException):
    """The consumer's process dies (a ``BaseException``, like ``SystemExit``)."""


def _crashing_store() -> Any:
    """A real event store that can die right after its next COMMIT (the check's fault injection)."""
    from eslab.store import EventStore

    class CrashAfterCommit(EventStore):
        crash_armed = False

        def _maybe_crash(self) -> None:
            if self.crash_armed:
                self.crash_armed = False
                raise ProcessCrash("the process died right after a COMMIT, before the ack")

        def append(self, *args: Any, **kwargs: Any) -> int:
            version = super().append(*args, **kwargs)
            self._maybe_crash()
            return version

        def commit(self, uow: Any) -> None:
            super().commit(uow)
            if uow.appends or uow.processed:
                self._maybe_crash()

    return CrashAfterCommit()


def _schedule() -> list[tuple[Any, bool]]:
    """``(message, crash after the first COMMIT?)`` in delivery order."""
    from eslab.lessons.nb06_idempotent_consumers import payment_message

    m1 = payment_message("m-1", "acc-1", "deposit", 10)
    m2 = payment_message("m-2", "acc-1", "deposit", 25)
    m3 = payment_message("m-3", "acc-1", "withdraw", 500)  # refused
    # m-1 and m-2 crash right after their first COMMIT (no ack: the broker redelivers them);
    # m-2 is duplicated later, m-3 comes twice.
    return [(m1, True), (m1, False), (m2, True), (m3, False), (m2, False), (m3, False)]


def _new_repo(store: Any = None) -> Any:
    from eslab.aggregate import AggregateRepository
    from eslab.domain.bank import BankAccount, OpenAccount
    from eslab.store import EventStore

    repo = AggregateRepository(store if store is not None else EventStore(), BankAccount)
    repo.save(OpenAccount("ann", OPENING), entity_id="acc-1")
    return repo


def _run_service(handle: Callable[[Any, Any], Any]) -> Any:
    """One instance of the account service, with its own new database, gets the schedule."""
    from eslab.errors import CommandRejectedError, DuplicateMessageError

    repo = _new_repo(_crashing_store())
    for message, crash in _schedule():
        repo.store.crash_armed = crash
        try:
            handle(repo, message)
        except (DuplicateMessageError, CommandRejectedError):
            pass  # a skip or a refusal may also reach the broker as an error
        except ProcessCrash:
            pass  # the process restarts; the broker delivers the message again
        finally:
            repo.store.crash_armed = False
    return repo


CRASH = N_(
    "The check crashed your process right after the first COMMIT of m-1 and of m-2, then "
    "delivered them again. "
)


@never_raise
def exercise_1(handle: Callable[[Any, Any], Any]) -> CheckResult:
    """``handle(repo, message)``: an RDBMS-style idempotent handler for payment messages.

    Two service instances (each with a new database) get the same deliveries; the first
    delivery of two messages crashes right after its first COMMIT. Only a handler that commits
    the effect and the message id in one transaction ends right in both.
    """
    if not callable(handle):
        return hint(_("Define a function `handle(repo, message)` that applies one payment."))
    try:
        repos = [_run_service(handle), _run_service(handle)]
    except Exception as exc:  # the learner's code: report it, never raise
        return hint(
            _(
                "Your handler raised {type_name}: {exc}. Route the message with "
                "account_route(message) and update the account it names."
            ).format(type_name=type(exc).__name__, exc=exc)
        )
    for instance, repo in enumerate(repos, start=1):
        balance = repo.find("acc-1").balance
        rows = repo.store.sql("SELECT message_id FROM processed_messages")
        where = "" if instance == 1 else N_("In a second service instance with its own database: ")
        if balance > OPENING + 35:
            return hint(
                _(where)
                + _(CRASH)
                + _(
                    "A redelivered message changed the balance again. Remember "
                    "each message id in processed_messages, in the SAME unit of work as the "
                    "events (one COMMIT for both), and treat a clash (DuplicateMessageError) as "
                    "'already done'."
                )
            )
        if balance < OPENING + 35:
            return hint(
                _(where)
                + _(CRASH)
                + _(
                    "A deposit is missing: a message id was remembered but its "
                    "effect was not committed with it. The first delivery of every message must "
                    "take effect — keep what you remember in the database, in the same unit of "
                    "work as the events, not in a second one or in a Python variable."
                )
            )
        if set(rows.message_id) != {"m-1", "m-2", "m-3"}:
            return hint(
                _(where)
                + _(
                    "processed_messages should hold every message id you handled — "
                    "including the one whose command was refused (use uow.record_processed)."
                )
            )
    return passed(
        _(
            "Effect and message id commit together: a crash after the COMMIT leaves both, so the "
            "redelivery is skipped; each message took effect once."
        )
    )


@never_raise
def exercise_2(answer: Any, report: Any) -> CheckResult:
    """``answer(store)`` finds the ids of messages the naive consumer applied more than once,
    with SQL on the store it is given: checked on ``report.store`` and on another run."""
    from eslab.consumers import events_per_message
    from eslab.lessons.nb06_idempotent_consumers import run_redelivery

    if answer is None:
        return hint(
            _(
                "Query report.store: group the events by triggering_event and keep the "
                "groups with more than one row."
            )
        )
    if not callable(answer):
        return hint(
            _(
                "Hand in the function double_applied(store): it must query the store it is "
                "given (store.sql), so that it also works on a run you have not seen — ids "
                "copied from an output would not."
            )
        )
    other = run_redelivery(
        "naive", duplicate_rate=0.3, crash_rate=0.1, seed=report.seed + 101, messages=40
    )
    for number, store in enumerate((report.store, other.store)):
        try:
            given = {str(a) for a in answer(store)}
        except TypeError:
            return hint(_("double_applied(store) must return a collection of message ids."))
        truth = {
            m
            for m, n in events_per_message(store.read_all(entity_type="BankAccount")).items()
            if n > 1
        }
        if given == truth:
            continue
        if number == 1:
            return hint(
                _(
                    "Right for naive_run, wrong for another run: compute the ids from the "
                    "store you are given, don't return fixed ones."
                )
            )
        if given > truth:
            return hint(
                _(
                    "Some of these messages took effect only once. Count the events per "
                    "triggering_event, not the deliveries."
                )
            )
        return hint(
            _(
                "Some double-applied messages are missing. Every event the consumer wrote "
                "carries its message id in triggering_event."
            )
        )
    stored = report.store.read_all(entity_type="BankAccount")
    count = len({m for m, n in events_per_message(stored).items() if n > 1})
    return passed(
        _("{count} messages took effect more than once: the drift you saw.").format(count=count)
    )


@never_raise
def exercise_3(deliveries: Sequence[Any]) -> CheckResult:
    """A delivery order that fools the NoSQL consumer without the pseudo event."""
    from eslab.consumers import NoSqlIdempotentConsumer
    from eslab.lessons.nb06_idempotent_consumers import (
        account_route,
        exactly_once_balances,
        late_redelivery,
    )
    from eslab.messaging import Message

    if not isinstance(deliveries, Sequence) or isinstance(deliveries, str) or not deliveries:
        return hint(
            _(
                "Give a list of messages in the order the broker delivers them "
                "(repeat a message to redeliver it)."
            )
        )
    if not all(isinstance(m, Message) for m in deliveries):
        return hint(_("Every item must be a Message: build them with payment_message(...)."))
    first_seen: dict[str, Any] = {}
    for m in deliveries:
        if first_seen.setdefault(m.id, m.payload) != m.payload:
            return hint(
                _(
                    "Message {id!r} comes twice with different content. A redelivery is the"
                    " same message again — same id, same account, kind and amount; a "
                    "message with other content needs its own id."
                ).format(id=m.id)
            )
    if [m.payload for m in deliveries] == [m.payload for m in late_redelivery()]:
        return hint(
            _(
                "That is the notebook's own example (withdraw 50, deposit 40, withdraw 50). "
                "Build your own order with other amounts: what makes a refused message succeed "
                "when it comes again later?"
            )
        )
    results = {}
    try:
        for always_publish in (False, True):
            consumer = NoSqlIdempotentConsumer(
                _new_repo(),
                account_route,
                consumer_id="account-service",
                always_publish=always_publish,
            )
            for message in deliveries:
                consumer.handle(message)
            results[always_publish] = consumer.updates.find("acc-1").balance
    except Exception as exc:
        return hint(
            _(
                "Delivering your messages raised {type_name}: {exc}. Use payment "
                "messages for 'acc-1' only."
            ).format(type_name=type(exc).__name__, exc=exc)
        )
    expected = exactly_once_balances(deliveries, {"acc-1": OPENING})["acc-1"]
    if results[False] == expected:
        return hint(
            _(
                "Without the pseudo event this order still ends right. Which messages "
                "leave no event behind? What if one of them comes again after the "
                "account changed?"
            )
        )
    if results[True] != expected:
        return hint(_("Use only payment messages for acc-1, each with one id."))
    return passed(
        _(
            "Without the pseudo event acc-1 ends at {results} instead of "
            "{expected}: that is why the book says 'always publish an event'."
        ).format(results=results[False], expected=expected)
    )
