"""Notebook 06's example and experiment: payment messages, delivered at least once.

Payment messages (``deposit`` / ``withdraw`` for a bank account) on the ``payments``
topic, and :func:`account_route`, which turns one into ``(account id, command)`` for a
consumer from :mod:`eslab.consumers`. :func:`run_redelivery` publishes seeded payments,
lets a :class:`~eslab.messaging.MessageBroker` with ``duplicate_rate`` and ``crash_rate``
deliver them to one consumer (naive, RDBMS or NoSQL style) and compares the final
balances with the balances that processing every message exactly once gives;
:func:`drift_figure` plots the difference delivery by delivery.

A "crash" is the broker's: the consumer handled the message and committed, then died
before the acknowledgement, so the message comes again. An idempotent consumer skips
that redelivery; the naive one applies it a second time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

from eslab.aggregate import AggregateRepository
from eslab.clock import FixedClock, SeededIds
from eslab.consumers import MessageConsumer, MessageIgnored, UnknownMessageError, make_consumer
from eslab.domain.bank import AccountOpened, BankAccount, Deposit, OpenAccount, Withdraw
from eslab.errors import BadInputError, CommandRejectedError
from eslab.messaging import CRASHED, Message, MessageBroker
from eslab.store import EventStore

# -- the example: payment messages for bank accounts -------------------------------------

PAYMENTS_TOPIC = "payments"
"""The topic payment messages are published on."""


def payment(account: str, kind: str, amount: int) -> dict[str, Any]:
    """The payload of a payment message: ``kind`` is ``"deposit"`` or ``"withdraw"``."""
    return {"account": account, "kind": kind, "amount": amount}


def payment_message(message_id: str, account: str, kind: str, amount: int) -> Message:
    """A payment message on the ``payments`` topic (partitioned by account)."""
    return Message(
        message_id, PAYMENTS_TOPIC, payment(account, kind, amount), {"partition_key": account}
    )


def account_route(message: Message) -> tuple[str, object]:
    """Route a payment message to ``(account id, Deposit | Withdraw)``."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    commands = {"deposit": Deposit, "withdraw": Withdraw}
    kind, account, amount = payload.get("kind"), payload.get("account"), payload.get("amount")
    if kind not in commands or not isinstance(account, str) or not isinstance(amount, int):
        raise UnknownMessageError(
            f"Message {message.id!r} is not a payment: expected a payload like "
            f"{payment('acc-1', 'deposit', 10)}, got {message.payload!r:.120}."
        )
    return account, commands[kind](amount)


# -- the experiment: deliver at least once, compare with exactly once ---------------------

OPENING_BALANCE = 100
COLOURS = {"naive": "#d62728", "RDBMS": "#1f77b4", "NoSQL": "#2ca02c"}
LINESTYLES = {"NoSQL": "--"}  # so it shows when it lies on top of the RDBMS line


def payment_messages(count: int = 60, accounts: int = 3, seed: int = 0) -> list[dict[str, Any]]:
    """Seeded payment payloads: mostly deposits, some withdrawals (a few get refused)."""
    if not 1 <= accounts <= 26 or count < 0:
        raise BadInputError(f"Need 1–26 accounts and count ≥ 0, got {accounts}, {count}.")
    rng = random.Random(seed)
    payloads = []
    for _ in range(count):
        account = f"acc-{rng.randint(1, accounts)}"
        if rng.random() < 0.2:
            payloads.append(payment(account, "withdraw", rng.randrange(10, 110, 10)))
        else:
            payloads.append(payment(account, "deposit", rng.randrange(5, 55, 5)))
    return payloads


@dataclass
class RedeliveryReport:
    """What one run did: counters, final balances against expected, and the drift."""

    kind: str
    duplicate_rate: float
    crash_rate: float
    seed: int
    counts: dict[str, int]
    balances: dict[str, int]
    expected: dict[str, int]
    actual_totals: list[int] = field(default_factory=list)
    expected_totals: list[int] = field(default_factory=list)
    redeliveries: list[int] = field(default_factory=list)
    """Delivery numbers (1-based) that were redeliveries (duplicates or after a crash)."""
    store: EventStore | None = field(default=None, repr=False)
    broker: MessageBroker | None = field(default=None, repr=False)
    consumer: MessageConsumer | None = field(default=None, repr=False)

    @property
    def drift(self) -> int:
        """Money in the accounts minus the money that should be there."""
        return sum(self.balances.values()) - sum(self.expected.values())

    @property
    def exactly_once(self) -> bool:
        """Did every account end where processing each message once would put it?"""
        return self.balances == self.expected

    def drift_series(self) -> list[int]:
        """The drift after each delivery."""
        return [a - e for a, e in zip(self.actual_totals, self.expected_totals, strict=True)]


def run_redelivery(
    kind: str = "naive",
    *,
    duplicate_rate: float = 0.2,
    crash_rate: float = 0.0,
    seed: int = 0,
    messages: int = 60,
    accounts: int = 3,
    always_publish: bool = True,
) -> RedeliveryReport:
    """Publish seeded payments, deliver them at least once to a ``kind`` consumer, compare.

    ``kind`` is ``"naive"``, ``"RDBMS"`` or ``"NoSQL"``. The store (in memory), broker
    and consumer are kept in the report for a closer look.
    """
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(seed))
    repo = AggregateRepository(store, BankAccount)
    ids = sorted({f"acc-{i}" for i in range(1, accounts + 1)})
    for account in ids:
        repo.save(OpenAccount(account, OPENING_BALANCE), entity_id=account)
    options = {"always_publish": always_publish} if kind == "NoSQL" else {}
    consumer = make_consumer(kind, repo, account_route, consumer_id="account-service", **options)
    broker = MessageBroker(seed=seed, duplicate_rate=duplicate_rate, crash_rate=crash_rate)
    broker.subscribe(PAYMENTS_TOPIC, consumer.consumer_id, consumer)
    for payload in payment_messages(messages, accounts, seed):
        broker.publish(PAYMENTS_TOPIC, payload, headers={"partition_key": payload["account"]})

    actual, expected = _ledger(ids), _ledger(ids)
    by_id = {m.id: m for m in broker.messages(PAYMENTS_TOPIC)}
    report = RedeliveryReport(
        kind,
        duplicate_rate,
        crash_rate,
        seed,
        {},
        {},
        {},
        store=store,
        broker=broker,
        consumer=consumer,
    )
    handled = 0
    while (delivery := broker.deliver_one()) is not None:
        for outcome in consumer.outcomes[handled:]:
            _apply(actual[outcome.entity_id], outcome.events)
        handled = len(consumer.outcomes)
        if delivery.redelivery:
            report.redeliveries.append(delivery.seq)
        else:
            _process_once(expected, by_id[delivery.message_id])
        report.actual_totals.append(sum(a.balance for a in actual.values()))
        report.expected_totals.append(sum(a.balance for a in expected.values()))

    finder = getattr(consumer, "updates", repo)  # the NoSQL consumer skips pseudo events
    report.balances = {a: finder.find(a).balance for a in ids}
    report.expected = {a: expected[a].balance for a in ids}
    report.counts = {
        "delivered": len(broker.deliveries),
        "duplicates": len(report.redeliveries),
        "crashes": sum(d.outcome == CRASHED for d in broker.deliveries),
        "applied": consumer.counts["applied"],
        "skipped": consumer.counts["skipped"],
        "rejected": consumer.counts["rejected"],
    }
    return report


def exactly_once_balances(deliveries: Sequence[Message], opening: dict[str, int]) -> dict[str, int]:
    """The balances if each distinct message were processed once, in first-delivery order."""
    ledger = {a: BankAccount.replay([AccountOpened(a, amount)]) for a, amount in opening.items()}
    seen: set[str] = set()
    for message in deliveries:
        if message.id not in seen:
            seen.add(message.id)
            _process_once(ledger, message)
    return {a: account.balance for a, account in ledger.items()}


def _ledger(ids: Sequence[str]) -> dict[str, BankAccount]:
    return {a: BankAccount.replay([AccountOpened(a, OPENING_BALANCE)]) for a in ids}


def _apply(account: BankAccount, events: Sequence[Any]) -> None:
    for event in events:
        if not isinstance(event, MessageIgnored):
            account.apply(event)


def _process_once(ledger: dict[str, BankAccount], message: Message) -> None:
    """The reference: what processing ``message`` exactly once does to the balances."""
    account_id, command = account_route(message)
    account = ledger[account_id]
    try:
        _apply(account, account.process(command))
    except CommandRejectedError:
        pass


def drift_figure(reports: Sequence[RedeliveryReport], *, ax: Any = None) -> Figure:
    """Drift (money in the accounts − money expected) after each delivery, per consumer.

    Ticks along the bottom mark the first report's redeliveries.
    """
    if ax is None:
        fig = Figure(figsize=(8, 3.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    for report in reports:
        series = report.drift_series()
        xs = range(1, len(series) + 1)
        ax.step(
            xs,
            series,
            where="post",
            lw=2,
            color=COLOURS.get(report.kind),
            ls=LINESTYLES.get(report.kind, "-"),
            label=f"{report.kind}: drift {report.drift:+d}",
        )
    if reports and reports[0].redeliveries:
        ax.plot(
            reports[0].redeliveries,
            [0] * len(reports[0].redeliveries),
            "|",
            color="#ff7f0e",
            ms=14,
            mew=2,
            label="redelivery",
            clip_on=False,
        )
    ax.axhline(0, color="#555555", lw=0.8, ls="--")
    span = max([abs(v) for r in reports for v in r.drift_series()] + [10])
    ax.set_ylim(-1.15 * span, 1.15 * span)
    ax.set_xlabel("delivery")
    ax.set_ylabel("actual − expected (€)")
    if reports:
        r = reports[0]
        ax.set_title(
            f"Balance drift — duplicate rate {r.duplicate_rate:.2f}, "
            f"crash rate {r.crash_rate:.2f}, seed {r.seed}"
        )
        ax.legend(loc="upper left", fontsize=9)
    return fig


def counters_text(report: RedeliveryReport) -> str:
    """One line of counters, as the lab shows them."""
    c = report.counts
    return (
        f"delivered {c['delivered']} · duplicates {c['duplicates']} · "
        f"crashes {c['crashes']} · applied {c['applied']} · skipped {c['skipped']} · "
        f"rejected {c['rejected']}"
    )


def verdict_text(report: RedeliveryReport) -> str:
    """'exactly once ✓' or how far the balances drifted."""
    if report.exactly_once:
        return "exactly-once effects ✓ (balances = expected)"
    return f"drift {report.drift:+d} € — balances differ from expected ⚠"


def late_redelivery() -> list[Message]:
    """The notebook's example: a refused withdrawal ``w-1`` redelivered after a deposit."""
    return [
        payment_message("w-1", "acc-1", "withdraw", 50),  # refused: only 30 € there
        payment_message("d-1", "acc-1", "deposit", 40),  # now 70 €
        payment_message("w-1", "acc-1", "withdraw", 50),  # w-1 redelivered late
    ]
