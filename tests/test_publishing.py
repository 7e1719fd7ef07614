"""Relays: polling publisher, position poller with checkpoint, and the commit-order race."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest

from eslab import EventStore, FixedClock, SeededIds, StreamExistsError
from eslab.domain.bank import MoneyDeposited
from eslab.errors import BadInputError
from eslab.events import StoredEvent
from eslab.lessons.nb04_publishing_events import CommitOrderRace, reproduce_commit_order_race
from eslab.messaging import Message, MessageBroker, message_from_event
from eslab.publishing import NaivePositionPoller, PollingPublisher, PositionPoller, actions_frame
from tests.conftest import StoreFactory

MakeStore = Callable[..., EventStore]


@pytest.fixture
def make_store(store_factory: StoreFactory) -> MakeStore:
    """A store on this test's engine (DuckDB, PostgreSQL) with ``n_events`` deposits."""

    def make(n_events: int = 0) -> EventStore:
        store = store_factory(fresh=True, clock=FixedClock(), id_factory=SeededIds(0))
        for i in range(n_events):
            store.append("BankAccount", f"acc-{i % 3}", [MoneyDeposited(i + 1)], i // 3)
        return store

    return make


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the message_for hook ----------------------------------------------------------


class AuditMessages:
    """Sends every event to one audit topic, with a header of its own."""

    def message_for(self, event: StoredEvent) -> Message:
        message = message_from_event(event)
        return Message(message.id, "audit", message.payload, {**message.headers, "audit": "1"})


class AuditPoller(AuditMessages, PollingPublisher):
    pass


class AuditPositionPoller(AuditMessages, PositionPoller):
    pass


def test_by_default_a_relay_sends_the_event_message(make_store: MakeStore) -> None:
    store, broker = make_store(2), MessageBroker()
    poller = PollingPublisher(store, broker)
    first = store.read_all()[0]
    assert poller.message_for(first) == message_from_event(first)
    poller.run()
    assert [m.id for m in broker.messages("BankAccount")] == [e.event_id for e in store.read_all()]


@pytest.mark.parametrize("relay_class", [AuditPoller, AuditPositionPoller])
def test_a_relay_subclass_shapes_its_messages_with_message_for(
    relay_class: type, make_store: MakeStore
) -> None:
    store, broker = make_store(3), MessageBroker()
    relay = relay_class(store, broker)
    relay.poll()
    sent = broker.messages("audit")
    assert [m.id for m in sent] == [e.event_id for e in store.read_all()]
    assert all(m.headers["audit"] == "1" for m in sent) and not broker.messages("BankAccount")
    assert relay.published == sent
    assert relay.published_positions() == [1, 2, 3]


# -- polling publisher ------------------------------------------------------------


def test_poller_steps_select_publish_each_then_mark(make_store: MakeStore) -> None:
    store, broker = make_store(3), MessageBroker()
    poller = PollingPublisher(store, broker)
    kinds = [poller.step().action for _ in range(5)]
    assert kinds == ["SELECT", "PUBLISH", "PUBLISH", "PUBLISH", "UPDATE"]
    assert not poller.mid_poll
    assert store.unpublished() == []
    assert [m.headers["position"] for m in broker.messages("BankAccount")] == ["1", "2", "3"]
    assert poller.poll().selected == ()  # nothing left


def test_poller_mid_poll_shows_events_published_but_not_yet_marked(make_store: MakeStore) -> None:
    store = make_store(2)
    poller = PollingPublisher(store, MessageBroker())
    poller.step()
    poller.step()  # published position 1, not marked
    assert poller.mid_poll and poller.published_positions() == [1]
    assert [e.position for e in store.unpublished()] == [1, 2]


def test_crash_between_publish_and_mark_gives_a_duplicate_never_a_loss(
    make_store: MakeStore,
) -> None:
    store, broker = make_store(4), MessageBroker()
    poller = PollingPublisher(store, broker, batch_size=2)
    poller.crash_next_poll()
    first = poller.poll()
    assert first.crashed and first.published == (1, 2) and first.marked == 0
    assert [e.position for e in store.unpublished()] == [1, 2, 3, 4]
    poller.run()
    assert poller.duplicates() == [1, 2]
    assert poller.missed() == []
    assert store.unpublished() == []
    ids = Counter(m.id for m in broker.messages("BankAccount"))
    assert sorted(ids.values()) == [1, 1, 2, 2]
    got: list[str] = []
    broker.subscribe("BankAccount", "g", lambda m: got.append(m.headers["position"]))
    broker.deliver_all()
    assert set(got) == {"1", "2", "3", "4"} and len(got) == 6


def test_seeded_crash_rate_is_repeatable_and_loses_nothing(make_store: MakeStore) -> None:
    def run(seed: int) -> list[int]:
        store = make_store(12)
        poller = PollingPublisher(store, MessageBroker(), batch_size=3, crash_rate=0.4, seed=seed)
        poller.run()
        assert poller.crashes > 0  # seeds 1 and 4 crash at least once
        assert poller.missed() == [] and store.unpublished() == []
        assert len(poller.published_positions()) == 12 + 3 * poller.crashes
        return poller.published_positions()

    assert run(1) == run(1)
    assert run(1) != run(4)


def test_poller_catches_events_appended_while_it_runs(make_store: MakeStore) -> None:
    store = make_store(1)
    poller = PollingPublisher(store, MessageBroker())
    poller.step()  # SELECT sees position 1
    store.append("BankAccount", "acc-9", [MoneyDeposited(9)], 0)
    poller.poll()
    assert poller.published_positions() == [1]
    poller.run()
    assert poller.published_positions() == [1, 2]


# -- position poller -------------------------------------------------------------------


def test_poller_publishes_in_position_order_and_stores_its_checkpoint(
    make_store: MakeStore,
) -> None:
    store, broker = make_store(5), MessageBroker()
    position_poller = PositionPoller(store, broker, "cdc")
    assert [int(m.headers["position"]) for m in position_poller.poll()] == [1, 2, 3, 4, 5]
    assert store.checkpoint("cdc") == 5 and position_poller.poll() == []


def test_checkpoint_resume_after_restart_loses_nothing_and_repeats_nothing(
    make_store: MakeStore,
) -> None:
    store, broker = make_store(4), MessageBroker()
    PositionPoller(store, broker, "cdc", batch_size=2).poll()  # publishes 1, 2
    assert store.checkpoint("cdc") == 2
    for i in range(3):  # appended while the position_poller was down
        store.append("BankAccount", f"new-{i}", [MoneyDeposited(1)], 0)
    restarted = PositionPoller(store, broker, "cdc", batch_size=2)
    assert restarted.checkpoint == 2
    restarted.run()
    assert restarted.published_positions() == [3, 4, 5, 6, 7]
    positions = [int(m.headers["position"]) for m in broker.messages("BankAccount")]
    assert positions == [1, 2, 3, 4, 5, 6, 7]


def test_poller_crash_before_checkpoint_resends_after_restart(make_store: MakeStore) -> None:
    store, broker = make_store(3), MessageBroker()
    position_poller = PositionPoller(store, broker, "cdc")
    position_poller.crash_next_poll()
    position_poller.poll()
    assert store.checkpoint("cdc") == 0
    again = position_poller.restart()
    again.run()
    positions = [int(m.headers["position"]) for m in broker.messages("BankAccount")]
    assert positions == [1, 2, 3, 1, 2, 3]  # at least once: duplicates, no loss


def test_poller_gives_up_a_gap_from_a_failed_insert_after_the_timeout(
    make_store: MakeStore,
) -> None:
    store, clock = make_store(1), FakeClock()
    with pytest.raises(StreamExistsError):  # a failed INSERT still uses up a position
        store.append("BankAccount", "acc-0", [MoneyDeposited(1)], 0)
    store.append("BankAccount", "acc-5", [MoneyDeposited(1)], 0)
    hole = 2
    assert [e.position for e in store.read_all()] == [1, hole + 1]
    position_poller = PositionPoller(store, MessageBroker(), "cdc", gap_timeout=30, clock=clock)
    position_poller.poll()
    assert list(position_poller.gaps) == [hole] and store.checkpoint("cdc") == hole - 1
    clock.now = 31
    position_poller.poll()
    assert position_poller.gaps == {} and store.checkpoint("cdc") == hole + 1


def test_poller_makes_progress_with_a_small_batch_behind_a_gap(make_store: MakeStore) -> None:
    store = make_store(1)
    with pytest.raises(StreamExistsError):
        store.append("BankAccount", "acc-0", [MoneyDeposited(1)], 0)
    for i in range(6):
        store.append("BankAccount", f"b-{i}", [MoneyDeposited(1)], 0)
    position_poller = PositionPoller(store, MessageBroker(), "cdc", batch_size=2)
    position_poller.run()
    assert position_poller.published_positions() == [1, 3, 4, 5, 6, 7, 8]


# -- the race ---------------------------------------------------------------------


def test_naive_poller_skips_the_event_that_commits_late_in_the_real_race() -> None:
    result = reproduce_commit_order_race()
    low, high = result.first_position, result.second_position
    assert low < high and result.committed == [low, high]
    assert result.published["naive poller"] == [high]
    assert result.skipped == [low]
    assert result.received["naive poller"] == [high]


def test_eslab_poller_and_poller_do_not_miss_the_late_event() -> None:
    result = reproduce_commit_order_race()
    for relay in ("position poller", "polling publisher"):
        assert result.missed[relay] == []
        assert result.published[relay] == [result.second_position, result.first_position]
        assert sorted(result.received[relay]) == result.committed


def test_the_skip_is_forever_and_the_race_really_overlapped() -> None:
    race = CommitOrderRace()
    for _ in range(5):  # up to and including T2's COMMIT
        race.step()
    assert race.in_flight() == {"T1": [race.t1.position]}
    table = race.events_table()
    assert list(table["status"]) == ["in flight (T1, not visible)", "committed"]
    assert [e.position for e in race.store.read_all()] == [race.t2.position]
    race.run()
    naive = race.relays["naive poller"]
    for _ in range(3):
        naive.poll()
    assert race.result().skipped == [race.t1.position]
    race.close()


def test_serialising_appends_fixes_the_naive_poller() -> None:
    result = reproduce_commit_order_race(serialised=True)
    assert result.skipped == []
    assert result.published["naive poller"] == result.committed


def test_the_race_needs_no_fresh_store() -> None:
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(0))  # the DuckDB race
    store.append("BankAccount", "acc-0", [MoneyDeposited(1)], 0)
    store.append("BankAccount", "acc-1", [MoneyDeposited(2)], 0)
    result = reproduce_commit_order_race(store)
    assert (result.first_position, result.second_position) == (3, 4)
    assert result.skipped == [3]


def test_finished_race_refuses_another_step() -> None:
    race = CommitOrderRace()
    race.run()
    with pytest.raises(BadInputError, match="over"):
        race.step()
    race.close()
    assert len(actions_frame(race.actions)) == len(race.actions)


def test_eslab_appends_from_threads_never_let_a_naive_poller_skip(make_store: MakeStore) -> None:
    """The store's append lock makes position order = commit order (the 'serialise' fix)."""
    store = make_store()
    naive = NaivePositionPoller(store, MessageBroker())
    gap_aware = PositionPoller(store, MessageBroker())
    stop = threading.Event()

    def writer(w: int) -> None:
        for i in range(40):
            store.append("BankAccount", f"w{w}-{i}", [MoneyDeposited(1)], 0)

    def follow() -> None:
        while not stop.is_set():
            naive.poll()
            gap_aware.poll()

    follower = threading.Thread(target=follow)
    follower.start()
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    follower.join()
    naive.poll()
    gap_aware.poll()
    assert naive.missed() == [] and gap_aware.missed() == []
    assert len(naive.published) == len(gap_aware.published) == 160


def test_relays_refuse_wrong_arguments(make_store: MakeStore) -> None:
    store = make_store()
    with pytest.raises(BadInputError, match="broker"):
        PollingPublisher(store, object())  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="store"):
        PositionPoller("db", MessageBroker())  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="batch_size"):
        PollingPublisher(store, MessageBroker(), batch_size=0)
