"""Optimistic locking under real threads, and the seed's version-column UPDATE."""

from __future__ import annotations

import pytest

from eslab import AggregateRepository, ConcurrencyError, EventStore
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.errors import BadInputError, EntityNotFoundError
from eslab.lessons.nb03_optimistic_locking import (
    CRUD_BLIND,
    CRUD_VERSIONED,
    EVENT_STORE,
    EVENTUATE_DEFAULT_RETRIES,
    VersionedTable,
    plot_conflicts,
    run_concurrent_writers,
    serial_replay,
    sweep,
)

# -- the version column ---------------------------------------------------------------


@pytest.fixture
def table() -> VersionedTable:
    t = VersionedTable(EventStore(), "crud_orders")
    t.insert("order-1", {"qty": 1})
    return t


def test_version_check_lets_the_first_writer_win_and_refuses_the_second(table) -> None:  # type: ignore[no-untyped-def]
    alice, bob = table.read("order-1"), table.read("order-1")
    assert alice.version == bob.version == 1
    assert table.write("order-1", {"qty": 3}, alice.version, session="Alice").rows == 1
    refused = table.write("order-1", {"qty": 5}, bob.version, session="Bob")
    assert refused.rows == 0 and not refused.won
    assert "WHERE id = $id AND version = $original_version" in refused.sql
    assert table.read("order-1") == type(alice)("order-1", {"qty": 3}, 2)
    assert [w.session for w in table.log] == ["Alice", "Bob"]


def test_blind_overwrite_loses_the_first_change(table) -> None:  # type: ignore[no-untyped-def]
    alice, bob = table.read("order-1"), table.read("order-1")
    table.write("order-1", {"qty": alice.data["qty"] + 2})
    assert table.write("order-1", {"qty": bob.data["qty"] + 4}).rows == 1
    assert table.read("order-1").data == {"qty": 5}  # Alice's +2 is gone
    assert "version =" not in table.log[-1].sql.split("WHERE")[1]


def test_table_errors_are_clear(table) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EntityNotFoundError, match="insert"):
        table.read("nope")
    with pytest.raises(BadInputError):
        VersionedTable(EventStore(), "drop table; --")
    assert list(table.frame()["id"]) == ["order-1"]


# -- threads ---------------------------------------------------------------------------


def test_no_lost_update_under_threads_without_retries() -> None:
    stats = run_concurrent_writers(4, 15, accounts=1, retries=0)
    assert stats.succeeded + stats.rejected == 60
    assert stats.conflicts == stats.rejected  # no retry: every conflict is a refusal
    assert stats.lost_updates == 0
    assert stats.final == stats.expected == {"acc-0": stats.succeeded}
    assert stats.matches_serial_replay


def test_no_lost_update_under_threads_with_retries() -> None:
    stats = run_concurrent_writers(4, 15, accounts=2, retries=EVENTUATE_DEFAULT_RETRIES)
    assert stats.lost_updates == 0 and stats.matches_serial_replay
    assert stats.retries <= stats.conflicts
    assert sum(stats.final.values()) == stats.succeeded
    assert stats.succeeded + stats.rejected == 60


def test_crud_blind_loses_updates_under_the_same_threads() -> None:
    """The harness can see a lost update: the blind CRUD save loses some (1 account, 8 threads)."""
    stats = run_concurrent_writers(8, 20, accounts=1, mode=CRUD_BLIND)
    assert stats.rejected == 0 and stats.conflicts == 0  # nobody is told anything...
    assert stats.lost_updates > 0  # ...yet deposits vanished
    assert stats.matches_serial_replay is None


def test_crud_version_check_loses_nothing() -> None:
    stats = run_concurrent_writers(4, 15, accounts=1, retries=10, mode=CRUD_VERSIONED)
    assert stats.lost_updates == 0
    assert stats.final["acc-0"] == stats.succeeded


def test_one_writer_never_conflicts() -> None:
    stats = run_concurrent_writers(1, 10)
    assert (stats.conflicts, stats.rejected, stats.succeeded) == (0, 0, 10)


def test_serial_replay_applies_events_in_position_order() -> None:
    store = EventStore()
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("a", 5), entity_id="a")
    repo.update("a", Deposit(7))
    assert serial_replay(store, ["a"]) == {"a": 12}


def test_a_conflict_raises_concurrency_error_naming_both_versions() -> None:
    store = EventStore()
    repo = AggregateRepository(store, BankAccount)
    repo.save(OpenAccount("a"), entity_id="a")
    alice, bob = repo.find("a"), repo.find("a")
    store.append("BankAccount", "a", alice.process(Deposit(1)), alice.version)
    with pytest.raises(ConcurrencyError) as info:
        store.append("BankAccount", "a", bob.process(Deposit(2)), bob.version)
    assert (info.value.expected_version, info.value.actual_version) == (1, 2)


def test_sweep_and_plot() -> None:
    frame = sweep((1, 3), (0, 2), commands=5)
    assert list(frame["writers"]) == [1, 3, 1, 3]
    assert (frame["lost_updates"] == 0).all()
    fig = plot_conflicts(frame)
    assert len(fig.axes) == 3 and fig.axes[0].get_legend() is not None


def test_bad_arguments() -> None:
    with pytest.raises(BadInputError, match="writers"):
        run_concurrent_writers(0)
    with pytest.raises(BadInputError, match="mode"):
        run_concurrent_writers(1, mode="sql")
    assert EVENT_STORE == "event store"
