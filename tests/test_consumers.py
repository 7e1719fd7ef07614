"""Idempotent consumers: naive vs RDBMS-style vs NoSQL-style deduplication (§6.1.6)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from eslab import (
    Aggregate,
    AggregateRepository,
    DuplicateMessageError,
    EntityNotFoundError,
    Event,
    EventStore,
    FixedClock,
    SeededIds,
)
from eslab.consumers import (
    APPLIED,
    IGNORED,
    REJECTED,
    SKIPPED,
    IdempotentRepository,
    MessageConsumer,
    MessageIgnored,
    NaiveConsumer,
    NoSqlIdempotentConsumer,
    RdbmsIdempotentConsumer,
    UnknownMessageError,
    events_per_message,
    make_consumer,
)
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.errors import EslabError, InvalidIdError
from eslab.lessons.nb06_idempotent_consumers import account_route, payment, run_redelivery
from eslab.messaging import CRASHED, Message, MessageBroker
from eslab.messaging import SKIPPED as BROKER_SKIPPED

KINDS = (NaiveConsumer, RdbmsIdempotentConsumer, NoSqlIdempotentConsumer)
IDEMPOTENT = (RdbmsIdempotentConsumer, NoSqlIdempotentConsumer)


CID = "account-service"


def new_repo(balance: int = 30) -> AggregateRepository[BankAccount]:
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(1))
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ann", balance), entity_id="acc-1")
    return repo


def deposit(mid: str, amount: int = 10, account: str = "acc-1") -> Message:
    return Message(mid, "payments", payment(account, "deposit", amount))


def withdraw(mid: str, amount: int, account: str = "acc-1") -> Message:
    return Message(mid, "payments", payment(account, "withdraw", amount))


class FakeSource:
    """A tiny at-least-once source: delivers a script; 'crash' means no ack → again."""

    def __init__(self, consumer: MessageConsumer) -> None:
        self.consumer = consumer
        self.statuses: list[str] = []

    def deliver(self, message: Message, *, crash_before_ack: bool = False) -> None:
        self.statuses.append(self.consumer.handle(message).status)
        if crash_before_ack:  # the process dies after the commit: the ack never happens
            self.statuses.append(self.consumer.handle(message).status)

    def run(self, messages: Iterable[Message]) -> list[str]:
        for message in messages:
            self.deliver(message)
        return self.statuses


def balance(consumer: MessageConsumer, account: str = "acc-1") -> int:
    finder = getattr(consumer, "updates", consumer.repository)
    return finder.find(account).balance


# -- the naive consumer -----------------------------------------------------------------


def test_naive_consumer_applies_a_redelivered_deposit_twice() -> None:
    consumer = NaiveConsumer(new_repo(), account_route, consumer_id=CID)
    statuses = FakeSource(consumer).run([deposit("m1"), deposit("m1")])
    assert statuses == [APPLIED, APPLIED]
    assert balance(consumer) == 50  # 30 + 10 + 10: the redelivery was counted
    stored = consumer.store.load("BankAccount", "acc-1")
    assert events_per_message(stored) == {"m1": 2}


# -- the RDBMS style --------------------------------------------------------------------


@pytest.mark.parametrize("kind", IDEMPOTENT, ids=lambda k: k.kind)
def test_idempotent_consumers_skip_a_redelivery(kind: type[MessageConsumer]) -> None:
    consumer = kind(new_repo(), account_route, consumer_id=CID)
    statuses = FakeSource(consumer).run([deposit("m1"), deposit("m2", 5), deposit("m1")])
    assert statuses == [APPLIED, APPLIED, SKIPPED]
    assert balance(consumer) == 45
    assert dict(consumer.counts) == {"delivered": 3, "applied": 2, "skipped": 1}
    stored = consumer.store.load("BankAccount", "acc-1")
    assert events_per_message(stored) == {"m1": 1, "m2": 1}


def test_rdbms_writes_the_message_id_and_the_events_in_one_transaction() -> None:
    store = EventStore(trace=True)
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("ann", 30), entity_id="acc-1")
    consumer = RdbmsIdempotentConsumer(repo, account_route, consumer_id="billing")
    store.trace.clear()
    consumer.handle(deposit("m1"))
    statements = [
        " ".join(t.sql.split()[:3])
        for t in store.trace
        if t.sql.startswith(("BEGIN", "INSERT", "COMMIT"))
    ]
    assert statements == ["BEGIN TRANSACTION", "INSERT INTO processed_messages",
                          "INSERT INTO events", "COMMIT"]  # fmt: skip
    assert store.was_processed("billing", "m1")
    assert store.load("BankAccount", "acc-1")[-1].triggering_event == "m1"


def test_rdbms_duplicate_is_refused_by_the_primary_key_and_writes_nothing() -> None:
    consumer = RdbmsIdempotentConsumer(new_repo(), account_route, consumer_id=CID)
    consumer.handle(deposit("m1"))
    before = consumer.store.last_position()
    outcome = consumer.handle(deposit("m1"))
    assert outcome.status == SKIPPED
    assert "already processed message 'm1'" in outcome.reason  # the DuplicateMessageError
    assert consumer.store.last_position() == before
    rows = consumer.store.sql("SELECT consumer_id, message_id FROM processed_messages")
    assert rows.values.tolist() == [["account-service", "m1"]]


def test_rdbms_crash_before_commit_writes_nothing_so_the_redelivery_is_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = new_repo()
    consumer = RdbmsIdempotentConsumer(repo, account_route, consumer_id=CID)
    real_update = repo.update_with_result

    def update_then_crash(*args: object, **kwargs: object) -> object:
        real_update(*args, **kwargs)  # events queued in the unit of work …
        raise RuntimeError("process killed before COMMIT")  # … and never committed

    monkeypatch.setattr(repo, "update_with_result", update_then_crash)
    with pytest.raises(RuntimeError):
        consumer.handle(deposit("m1"))
    assert not consumer.store.was_processed("account-service", "m1")
    assert balance(consumer) == 30
    monkeypatch.undo()
    assert consumer.handle(deposit("m1")).status == APPLIED  # the redelivery
    assert balance(consumer) == 40


def test_rdbms_retries_when_another_writer_commits_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = new_repo()
    consumer = RdbmsIdempotentConsumer(repo, account_route, consumer_id=CID)
    real_update = repo.update_with_result
    calls = []

    def update_then_someone_else_writes(*args: object, **kwargs: object) -> object:
        result = real_update(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:  # another process deposits before our COMMIT
            real_update("acc-1", Deposit(100))
        return result

    monkeypatch.setattr(repo, "update_with_result", update_then_someone_else_writes)
    assert consumer.handle(deposit("m1")).status == APPLIED
    assert len(calls) == 2  # the first unit of work was refused (ConcurrencyError), retried
    assert balance(consumer) == 30 + 100 + 10
    assert consumer.store.was_processed("account-service", "m1")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_crash_after_commit_before_ack(kind: type[MessageConsumer]) -> None:
    """The effect is committed, the ack is lost: idempotent consumers skip the redelivery."""
    consumer = kind(new_repo(), account_route, consumer_id=CID)
    source = FakeSource(consumer)
    source.deliver(deposit("m1"), crash_before_ack=True)
    if kind is NaiveConsumer:
        assert source.statuses == [APPLIED, APPLIED]
        assert balance(consumer) == 50
    else:
        assert source.statuses == [APPLIED, SKIPPED]
        assert balance(consumer) == 40


@pytest.mark.parametrize("kind", IDEMPOTENT, ids=lambda k: k.kind)
def test_a_refused_message_is_recorded_so_a_late_redelivery_stays_refused(
    kind: type[MessageConsumer],
) -> None:
    consumer = kind(new_repo(30), account_route, consumer_id=CID)
    script = [withdraw("m1", 50), deposit("m2", 40), withdraw("m1", 50)]
    assert FakeSource(consumer).run(script) == [REJECTED, APPLIED, SKIPPED]
    assert balance(consumer) == 70  # each message once: 30, refused, +40


def test_nosql_without_the_pseudo_event_applies_a_late_redelivery() -> None:
    """Why the book says 'always publish an event'."""
    consumer = NoSqlIdempotentConsumer(
        new_repo(30), account_route, consumer_id=CID, always_publish=False
    )
    script = [withdraw("m1", 50), deposit("m2", 40), withdraw("m1", 50)]
    assert FakeSource(consumer).run(script) == [REJECTED, APPLIED, APPLIED]
    assert balance(consumer) == 20  # m1 took effect although it was refused the first time


# -- the NoSQL style --------------------------------------------------------------------


def test_nosql_keeps_the_message_id_in_the_events_and_needs_no_second_table() -> None:
    consumer = NoSqlIdempotentConsumer(new_repo(), account_route, consumer_id=CID)
    FakeSource(consumer).run([deposit("m1"), withdraw("m2", 500), deposit("m1")])
    rows = consumer.store.sql(
        "SELECT event_type, coalesce(triggering_event, '-') FROM events ORDER BY position"
    ).values.tolist()
    assert rows == [["AccountOpened", "-"], ["MoneyDeposited", "m1"], ["MessageIgnored", "m2"]]
    assert consumer.store.sql("SELECT count(*) AS n FROM processed_messages").n[0] == 0
    ignored = consumer.store.load("BankAccount", "acc-1")[-1].event
    assert isinstance(ignored, MessageIgnored) and "refused" in ignored.reason


def test_idempotent_update_returns_the_current_aggregate_when_already_applied() -> None:
    updates = IdempotentRepository(new_repo())
    first = updates.update("acc-1", Deposit(10), triggering_message_id="m1")
    again = updates.update("acc-1", Deposit(10), triggering_message_id="m1")
    assert (first.skipped_duplicate, again.skipped_duplicate) == (False, True)
    assert again.events == []
    assert (again.aggregate.balance, again.aggregate.version) == (40, 2)
    assert updates.find("acc-1").balance == 40


def test_idempotent_update_of_a_missing_aggregate_says_so() -> None:
    updates = IdempotentRepository(new_repo())
    with pytest.raises(EntityNotFoundError, match="acc-9"):
        updates.update("acc-9", Deposit(10), triggering_message_id="m1")


def test_racing_deliveries_are_settled_by_the_optimistic_lock() -> None:
    """Both read before either wrote: the loser conflicts, reloads, finds the id, skips."""
    repo = new_repo()
    slow, fast = IdempotentRepository(repo), IdempotentRepository(repo)
    real_find = slow.find_with_triggers
    calls = []

    def stale_find(entity_id: str) -> tuple[BankAccount, set[str]]:
        found = real_find(entity_id)
        if not calls:  # the other delivery commits right after our read
            fast.update(entity_id, Deposit(10), triggering_message_id="m1")
        calls.append(entity_id)
        return found

    slow.find_with_triggers = stale_find  # type: ignore[method-assign]
    result = slow.update("acc-1", Deposit(10), triggering_message_id="m1")
    assert result.skipped_duplicate and result.retries == 1
    assert slow.find("acc-1").balance == 40


@dataclass(frozen=True)
class Ticked(Event):
    by: int


@dataclass(frozen=True)
class Tick:
    by: int


@dataclass
class Ticker(Aggregate):
    """A command with ``by=0`` changes nothing and emits no event."""

    count: int = 0

    def process_tick(self, command: Tick) -> list[Event]:
        return [Ticked(command.by)] if command.by else []

    def apply_ticked(self, event: Ticked) -> None:
        self.count += event.by


@pytest.mark.parametrize("always_publish", [True, False])
def test_a_command_without_events_writes_a_pseudo_event_when_asked(always_publish: bool) -> None:
    store = EventStore()
    repo = AggregateRepository(store, Ticker)
    repo.save(Tick(1), entity_id="t")
    updates = IdempotentRepository(repo, always_publish=always_publish)
    result = updates.update("t", Tick(0), triggering_message_id="m1")
    types = [e.event_type for e in store.load("Ticker", "t")]
    if always_publish:
        assert [type(e) for e in result.events] == [MessageIgnored]
        assert types == ["Ticked", "MessageIgnored"]
        assert updates.update("t", Tick(0), triggering_message_id="m1").skipped_duplicate
    else:
        assert result.events == [] and types == ["Ticked"]
    assert updates.find("t").count == 1


# -- with the real broker ---------------------------------------------------------------


@pytest.mark.parametrize("kind", IDEMPOTENT, ids=lambda k: k.kind)
def test_broker_logs_recognised_redeliveries_as_skipped(kind: type[MessageConsumer]) -> None:
    consumer = kind(new_repo(), account_route, consumer_id=CID)
    broker = MessageBroker(seed=3, duplicate_rate=0.5, crash_rate=0.3)
    broker.subscribe("payments", consumer.consumer_id, consumer)
    for i in range(20):
        broker.publish("payments", deposit(f"m{i}", 1))
    broker.deliver_all()
    log = broker.deliveries_frame()
    redelivered = log[log.redelivery]
    assert len(redelivered) > 0 and (log.outcome == CRASHED).any()
    # Recognised and skipped (a crash may still hit the skip before its ack).
    assert set(redelivered.outcome) <= {BROKER_SKIPPED, CRASHED}
    assert (redelivered.outcome == BROKER_SKIPPED).sum() >= len(redelivered) // 2
    assert balance(consumer) == 30 + 20


def test_calling_a_consumer_raises_duplicate_message_error_on_a_skip() -> None:
    consumer = RdbmsIdempotentConsumer(new_repo(), account_route, consumer_id=CID)
    consumer(deposit("m1"))
    with pytest.raises(DuplicateMessageError, match="m1"):
        consumer(deposit("m1"))


# -- routing and construction -----------------------------------------------------------


@pytest.mark.parametrize("payload", [{"account": "acc-1"}, "deposit 10", None,
                                     payment("acc-1", "refund", 5)])  # fmt: skip
def test_account_route_explains_a_payload_it_cannot_read(payload: object) -> None:
    with pytest.raises(UnknownMessageError, match="is not a payment"):
        account_route(Message("m1", "payments", payload))


def test_make_consumer_by_kind() -> None:
    repo = new_repo()
    assert (
        type(make_consumer("RDBMS", repo, account_route, consumer_id=CID))
        is RdbmsIdempotentConsumer
    )
    assert (
        make_consumer(
            "NoSQL", repo, account_route, consumer_id=CID, always_publish=False
        ).updates.always_publish
        is False
    )
    with pytest.raises(EslabError, match="choose one of"):
        make_consumer("exactly-once", repo, account_route, consumer_id=CID)
    with pytest.raises(EslabError, match="consumer_id"):
        NaiveConsumer(repo, account_route, consumer_id="")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_consumer_id_is_required_with_an_error_that_shows_how(
    kind: type[MessageConsumer],
) -> None:
    with pytest.raises(InvalidIdError, match=r"needs consumer_id=….*consumer_id='account-service'"):
        kind(new_repo(), account_route)
    with pytest.raises(InvalidIdError, match="needs consumer_id"):
        make_consumer(kind.kind, new_repo(), account_route)


def deposits_only(message: Message) -> tuple[str, object] | None:
    """A route that takes only payment deposits and says "not for me" to the rest."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    return account_route(message) if payload.get("kind") == "deposit" else None


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_a_route_returning_none_acknowledges_and_ignores_the_message(
    kind: type[MessageConsumer],
) -> None:
    consumer = kind(new_repo(), deposits_only, consumer_id=CID)
    broker = MessageBroker(seed=3)
    broker.subscribe("payments", consumer.consumer_id, consumer)
    broker.publish("payments", Message("m1", "payments", payment("acc-1", "deposit", 5)))
    broker.publish("payments", Message("m2", "payments", payment("acc-1", "withdraw", 5)))
    broker.publish("payments", Message("m3", "payments", {"something": "else"}))
    broker.deliver_all()
    assert [d.outcome for d in broker.deliveries] == ["acked", "acked", "acked"]
    assert broker.dead_letters == [] and broker.pending() == 0
    assert [(o.message_id, o.status) for o in consumer.outcomes] == [
        ("m1", APPLIED),
        ("m2", IGNORED),
        ("m3", IGNORED),
    ]
    assert consumer.counts[IGNORED] == 2 and consumer.counts["delivered"] == 3
    assert balance(consumer) == 35
    assert consumer.store.head("BankAccount", "acc-1") == 2  # nothing written for m2, m3


def test_a_route_returning_something_else_is_explained() -> None:
    consumer = NaiveConsumer(new_repo(), lambda m: "acc-1", consumer_id=CID)
    with pytest.raises(UnknownMessageError, match=r"returns \(entity_id, command\), or None"):
        consumer.handle(deposit("m1"))


# -- the property: many seeded duplicate/crash schedules --------------------------------

SCHEDULES = [
    (seed, random.Random(seed).choice([0.1, 0.2, 0.3, 0.5]),
     random.Random(seed + 100).choice([0.0, 0.1, 0.2, 0.3]))
    for seed in range(12)
]  # fmt: skip


@pytest.mark.slow
def test_idempotent_consumers_have_exactly_once_effects_and_the_naive_one_does_not() -> None:
    naive_drifts = 0
    for seed, duplicate_rate, crash_rate in SCHEDULES:
        runs = {kind: run_redelivery(kind, duplicate_rate=duplicate_rate, crash_rate=crash_rate,
                                     seed=seed, messages=24)
                for kind in ("naive", "RDBMS", "NoSQL")}  # fmt: skip
        naive = runs["naive"]
        where = f"seed {seed}, duplicates {duplicate_rate}, crashes {crash_rate}"
        assert naive.counts["duplicates"] > 0, where
        for kind in ("RDBMS", "NoSQL"):
            run = runs[kind]
            assert run.exactly_once, f"{kind} drifted by {run.drift} ({where})"
            per_message = events_per_message(run.store.read_all(entity_type="BankAccount"))
            assert set(per_message.values()) == {1}, where
            assert run.counts["applied"] == len(per_message), where
            assert run.counts["skipped"] == run.counts["duplicates"], where
        # The naive consumer applied every delivery of a deposit, redeliveries included.
        per_message = events_per_message(naive.store.read_all(entity_type="BankAccount"))
        deliveries = Counter(d.message_id for d in naive.broker.deliveries)
        kinds = {m.id: m.payload["kind"] for m in naive.broker.messages("payments")}
        deposits = {m: n for m, n in deliveries.items() if kinds[m] == "deposit"}
        assert {m: per_message[m] for m in deposits} == deposits, where
        assert max(per_message.values()) > 1, where
        assert naive.counts["skipped"] == 0
        naive_drifts += not naive.exactly_once
    assert naive_drifts >= len(SCHEDULES) - 1  # the difference is real, not a fluke
