"""Concurrency suite: threads × commands on shared BankAccount aggregates.

Each thread has its own seeded list of commands. Withdrawals are large enough that two
of them decided on the same stale balance would overdraw the account, so a lost update
would show as a negative balance in the serial replay. Checked for every run: no
exception other than ConcurrencyError / CommandRejectedError escapes (never a raw
duckdb error), each stream's versions are gap-free, each successful command's events sit
at the version it was told, and replaying the successful commands one by one, in
version order, gives exactly the events and the final state in the store.
"""

from __future__ import annotations

import random
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eslab import (
    AggregateRepository,
    CommandRejectedError,
    ConcurrencyError,
    EventStore,
)
from eslab.domain.bank import BankAccount, Deposit, MoneyDeposited, OpenAccount, Withdraw

THREADS = 6
COMMANDS = 12
ACCOUNTS = ["acc-0", "acc-1", "acc-2"]
OPENING = 100


@dataclass
class Outcome:
    """What one thread saw: successes (id, version, command, events) and failures."""

    done: list[tuple[str, int, object, list]] = field(default_factory=list)
    conflicts: int = 0
    rejected: int = 0
    retries: int = 0
    unexpected: list[BaseException] = field(default_factory=list)


@pytest.fixture(autouse=True)
def busy_switching() -> Iterator[None]:
    """Switch threads often so that read-decide-append windows overlap."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(old)


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    s = EventStore(tmp_path / "c.duckdb" if request.param == "file" else None)
    repo = AggregateRepository(s, BankAccount)
    for account in ACCOUNTS:
        repo.save(OpenAccount("owner", OPENING), entity_id=account)
    yield s
    s.close()


def commands(seed: int) -> list[tuple[str, object]]:
    """Deposits with unique amounts, and withdrawals that can overdraw if raced."""
    rng = random.Random(seed)
    out: list[tuple[str, object]] = []
    for i in range(COMMANDS):
        account = rng.choice(ACCOUNTS)
        if rng.random() < 0.5:
            out.append((account, Deposit(1 + seed * 1000 + i)))
        else:
            out.append((account, Withdraw(rng.randint(30, 80))))
    return out


def run_threads(work: Callable[[int, Outcome], None]) -> list[Outcome]:
    """Run ``work(thread_number, outcome)`` in THREADS threads started together."""
    outcomes = [Outcome() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def target(n: int) -> None:
        barrier.wait()
        try:
            work(n, outcomes[n])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcomes[n].unexpected.append(exc)

    threads = [threading.Thread(target=target, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def update_worker(store: EventStore, retries: int) -> Callable[[int, Outcome], None]:
    def work(n: int, out: Outcome) -> None:
        repo = AggregateRepository(store, BankAccount, retries=retries)
        for account, command in commands(n):
            try:
                result = repo.update_with_result(account, command)
            except ConcurrencyError:
                out.conflicts += 1
            except CommandRejectedError:
                out.rejected += 1
            except Exception as exc:  # noqa: BLE001 - must never happen
                out.unexpected.append(exc)
            else:
                out.retries += result.retries
                out.done.append((account, result.aggregate.version, command, result.events))

    return work


def check_serial_replay(store: EventStore, outcomes: list[Outcome]) -> None:
    """The store equals a serial replay of the successful commands in version order."""
    unexpected = [exc for o in outcomes for exc in o.unexpected]
    assert not unexpected, f"raw errors escaped: {unexpected!r:.500}"
    done = sorted((d for o in outcomes for d in o.done), key=lambda d: (d[0], d[1]))
    by_account: dict[str, list] = defaultdict(list)
    for account, version, command, events in done:
        by_account[account].append((version, command, events))
    for account in ACCOUNTS:
        stored = store.load("BankAccount", account)
        assert [e.entity_version for e in stored] == list(range(1, len(stored) + 1))
        serial = BankAccount.replay(BankAccount().process(OpenAccount("owner", OPENING)))
        version = 1
        for new_version, command, events in by_account[account]:
            decided = serial.process(command)  # refuses an overdraft: lost update → error
            assert decided == events, f"{account} v{new_version}: {events} ≠ serial {decided}"
            version += len(events)
            assert new_version == version, f"{account}: a success claims v{new_version}"
            serial = BankAccount.replay(decided, serial)
        assert [e.event for e in stored[1:]] == [
            e for _, _, evs in by_account[account] for e in evs
        ], f"{account}: unknown events"
        found = AggregateRepository(store, BankAccount).find(account)
        assert (found.balance, found.version) == (serial.balance, version) and found.balance >= 0


def test_without_retries_conflicts_surface_as_concurrency_error(store: EventStore) -> None:
    outcomes = run_threads(update_worker(store, retries=0))
    check_serial_replay(store, outcomes)
    assert sum(o.conflicts for o in outcomes) > 0, "no race happened: the test proved nothing"
    attempted = sum(len(o.done) + o.conflicts + o.rejected for o in outcomes)
    assert attempted == THREADS * COMMANDS


def test_with_retries_every_command_is_decided_on_fresh_state(store: EventStore) -> None:
    outcomes = run_threads(update_worker(store, retries=1_000))
    check_serial_replay(store, outcomes)
    assert sum(o.conflicts for o in outcomes) == 0
    assert sum(o.retries for o in outcomes) > 0, "no retry was needed: no race happened"
    deposits = sum(1 for n in range(THREADS) for _, c in commands(n) if isinstance(c, Deposit))
    stored = [
        e
        for a in ACCOUNTS
        for e in store.load("BankAccount", a)
        if isinstance(e.event, MoneyDeposited)
    ]
    assert len(stored) == deposits, "with retries every deposit must land exactly once"


@pytest.mark.parametrize("store", ["memory"], indirect=True)
def test_raw_appends_with_stale_versions(store: EventStore) -> None:
    """store.append with the head read just before: one winner per version, no gaps."""

    def work(n: int, out: Outcome) -> None:
        for i in range(COMMANDS):
            head = store.head("BankAccount", "acc-0")
            try:
                version = store.append(
                    "BankAccount", "acc-0", [MoneyDeposited(n * 1000 + i)] * (1 + i % 2), head
                )
            except ConcurrencyError as exc:
                assert exc.expected_version == head
                out.conflicts += 1
            else:
                out.done.append(("acc-0", version, None, []))

    outcomes = run_threads(work)
    assert not [e for o in outcomes for e in o.unexpected]
    assert sum(o.conflicts for o in outcomes) > 0
    versions = sorted(v for o in outcomes for _, v, _, _ in o.done)
    assert len(versions) == len(set(versions))
    stored = store.load("BankAccount", "acc-0")
    assert [e.entity_version for e in stored] == list(range(1, len(stored) + 1))
    assert versions[-1] == len(stored)


@pytest.mark.parametrize("store", ["memory"], indirect=True)
def test_transfers_in_units_of_work_conserve_money(store: EventStore) -> None:
    """Two streams per command (a transfer) in one unit of work: all or nothing."""

    def work(n: int, out: Outcome) -> None:
        repo = AggregateRepository(store, BankAccount)
        rng = random.Random(n)
        for _ in range(COMMANDS):
            src, dst = rng.sample(ACCOUNTS, 2)
            amount = rng.randint(20, 60)
            try:
                with store.unit_of_work() as uow:
                    repo.update(src, Withdraw(amount), uow=uow)
                    repo.update(dst, Deposit(amount), uow=uow)
            except ConcurrencyError:
                out.conflicts += 1
            except CommandRejectedError:
                out.rejected += 1
            else:
                out.done.append((src, amount, None, []))

    outcomes = run_threads(work)
    assert not [e for o in outcomes for e in o.unexpected], outcomes
    assert sum(o.conflicts for o in outcomes) > 0
    repo = AggregateRepository(store, BankAccount)
    balances = [repo.find(a).balance for a in ACCOUNTS]
    assert sum(balances) == OPENING * len(ACCOUNTS) and min(balances) >= 0
    transfers = sum(len(o.done) for o in outcomes)
    events = sum(len(store.load("BankAccount", a)) for a in ACCOUNTS)
    assert events == len(ACCOUNTS) + 2 * transfers, "a transfer was half-written"


def test_two_store_objects_on_one_file(tmp_path: Path) -> None:
    """Two EventStore objects on one file in one process (a notebook that opened the store
    twice) do not share a write lock: DuckDB sees truly concurrent transactions. Conflicts
    must still be ConcurrencyError, and the result a serial replay."""
    path = tmp_path / "twice.duckdb"
    first = EventStore(path)
    for account in ACCOUNTS:
        AggregateRepository(first, BankAccount).save(
            OpenAccount("owner", OPENING), entity_id=account
        )
    second = EventStore(path)
    stores = [first, second]

    def work(n: int, out: Outcome) -> None:
        store = stores[n % 2]
        repo = AggregateRepository(store, BankAccount)
        for account, command in commands(n):
            try:
                if n % 3 == 0:  # some commands go through a unit of work (BEGIN … COMMIT)
                    with store.unit_of_work() as uow:
                        agg = repo.update(account, command, uow=uow)
                    result_version, events = agg.version, uow.pending_events("BankAccount", account)
                else:
                    r = repo.update_with_result(account, command)
                    result_version, events = r.aggregate.version, r.events
            except ConcurrencyError:
                out.conflicts += 1
            except CommandRejectedError:
                out.rejected += 1
            else:
                out.done.append((account, result_version, command, events))

    outcomes = run_threads(work)
    check_serial_replay(first, outcomes)
    assert sum(o.conflicts for o in outcomes) > 0
    second.close()
    first.close()
