"""Self-checks for notebook 06 (idempotent consumers, 멱등한 메시지 처리)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed

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


CRASH = (
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
        return hint("Define a function `handle(repo, message)` that applies one payment.")
    try:
        repos = [_run_service(handle), _run_service(handle)]
    except Exception as exc:  # the learner's code: report it, never raise
        return hint(
            f"Your handler raised {type(exc).__name__}: {exc}. Route the message with "
            "account_route(message) and update the account it names."
        )
    for instance, repo in enumerate(repos, start=1):
        balance = repo.find("acc-1").balance
        rows = repo.store.sql("SELECT message_id FROM processed_messages")
        where = "" if instance == 1 else "In a second service instance with its own database: "
        if balance > OPENING + 35:
            return hint(
                where + CRASH + "A redelivered message changed the balance again. Remember "
                "each message id in processed_messages, in the SAME unit of work as the "
                "events (one COMMIT for both), and treat a clash (DuplicateMessageError) as "
                "'already done'."
            )
        if balance < OPENING + 35:
            return hint(
                where + CRASH + "A deposit is missing: a message id was remembered but its "
                "effect was not committed with it. The first delivery of every message must "
                "take effect — keep what you remember in the database, in the same unit of "
                "work as the events, not in a second one or in a Python variable."
            )
        if set(rows.message_id) != {"m-1", "m-2", "m-3"}:
            return hint(
                where + "processed_messages should hold every message id you handled — "
                "including the one whose command was refused (use uow.record_processed)."
            )
    return passed(
        "Effect and message id commit together: a crash after the COMMIT leaves both, so the "
        "redelivery is skipped; each message took effect once."
    )


@never_raise
def exercise_2(answer: Any, report: Any) -> CheckResult:
    """The ids of messages the naive consumer applied more than once (found with SQL)."""
    from eslab.consumers import events_per_message

    if answer is None:
        return hint(
            "Query report.store: group the events by triggering_event and keep the "
            "groups with more than one row."
        )
    try:
        given = {str(a) for a in answer}
    except TypeError:
        return hint("Give a collection of message ids (e.g. a set or list of str).")
    stored = report.store.read_all(entity_type="BankAccount")
    truth = {m for m, n in events_per_message(stored).items() if n > 1}
    if given == truth:
        return passed(f"{len(truth)} messages took effect more than once: the drift you saw.")
    if given > truth:
        return hint(
            "Some of these messages took effect only once. Count the events per "
            "triggering_event, not the deliveries."
        )
    return hint(
        "Some double-applied messages are missing. Every event the consumer wrote "
        "carries its message id in triggering_event."
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
            "Give a list of messages in the order the broker delivers them "
            "(repeat a message to redeliver it)."
        )
    if not all(isinstance(m, Message) for m in deliveries):
        return hint("Every item must be a Message: build them with payment_message(...).")
    first_seen: dict[str, Any] = {}
    for m in deliveries:
        if first_seen.setdefault(m.id, m.payload) != m.payload:
            return hint(
                f"Message {m.id!r} comes twice with different content. A redelivery is the "
                "same message again — same id, same account, kind and amount; a message with "
                "other content needs its own id."
            )
    if [m.payload for m in deliveries] == [m.payload for m in late_redelivery()]:
        return hint(
            "That is the notebook's own example (withdraw 50, deposit 40, withdraw 50). "
            "Build your own order with other amounts: what makes a refused message succeed "
            "when it comes again later?"
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
            f"Delivering your messages raised {type(exc).__name__}: {exc}. Use "
            "payment messages for 'acc-1' only."
        )
    expected = exactly_once_balances(deliveries, {"acc-1": OPENING})["acc-1"]
    if results[False] == expected:
        return hint(
            "Without the pseudo event this order still ends right. Which messages "
            "leave no event behind? What if one of them comes again after the "
            "account changed?"
        )
    if results[True] != expected:
        return hint("Use only payment messages for acc-1, each with one id.")
    return passed(
        f"Without the pseudo event acc-1 ends at {results[False]} instead of "
        f"{expected}: that is why the book says 'always publish an event'."
    )
