"""The in-process broker: topics, consumer groups, at-least-once delivery, faults."""

from __future__ import annotations

import pytest

from eslab import DuplicateMessageError, EventStore, FixedClock, SeededIds
from eslab.domain.bank import MoneyDeposited
from eslab.errors import BadInputError
from eslab.messaging import (
    ACKED,
    CRASHED,
    DEAD,
    FAILED,
    SKIPPED,
    Message,
    MessageBroker,
    message_from_event,
    topic_for,
)


def msg(i: int, topic: str = "Order", key: str | None = None) -> Message:
    headers = {"entity_id": key} if key else {}
    return Message(f"m-{i}", topic, {"n": i}, headers)


def test_every_group_gets_every_message_in_order() -> None:
    broker = MessageBroker()
    a, b = [], []
    broker.subscribe("Order", "history", lambda m: a.append(m.payload["n"]))
    broker.subscribe("Order", "billing", lambda m: b.append(m.payload["n"]))
    for i in range(3):
        broker.publish("Order", msg(i))
    broker.deliver_all()
    assert a == [0, 1, 2] and b == [0, 1, 2]
    assert broker.pending() == 0
    assert {d.outcome for d in broker.deliveries} == {ACKED}


def test_topics_are_separate_and_new_groups_start_at_the_beginning() -> None:
    broker = MessageBroker()
    broker.publish("Order", msg(1))
    broker.publish("Ticket", msg(2, "Ticket"))
    seen: list[str] = []
    broker.subscribe("Ticket", "kitchen", lambda m: seen.append(m.id))
    broker.deliver_all()
    assert seen == ["m-2"]
    assert [m.id for m in broker.messages("Order")] == ["m-1"]


def test_members_of_one_group_share_messages_by_partition_key() -> None:
    broker = MessageBroker()
    got: dict[int, list[str]] = {0: [], 1: []}
    broker.subscribe("Order", "g", lambda m: got[0].append(m.partition_key))
    broker.subscribe("Order", "g", lambda m: got[1].append(m.partition_key))
    for i in range(20):
        broker.publish("Order", msg(i, key=f"order-{i % 10}"))
    broker.deliver_all()
    assert len(got[0]) + len(got[1]) == 20  # each message to exactly one member
    assert got[0] and got[1]
    assert not set(got[0]) & set(got[1])  # one aggregate always goes to the same member


def test_a_failing_handler_gets_the_message_again_and_blocks_the_rest() -> None:
    broker = MessageBroker()
    calls: list[str] = []

    def flaky(m: Message) -> None:
        calls.append(m.id)
        if m.id == "m-0" and calls.count("m-0") < 3:
            raise RuntimeError("database down")

    broker.subscribe("Order", "g", flaky)
    broker.publish("Order", msg(0))
    broker.publish("Order", msg(1))
    broker.deliver_all()
    assert calls == ["m-0", "m-0", "m-0", "m-1"]
    outcomes = [(d.message_id, d.outcome, d.attempt) for d in broker.deliveries]
    assert outcomes == [
        ("m-0", FAILED, 1),
        ("m-0", FAILED, 2),
        ("m-0", ACKED, 3),
        ("m-1", ACKED, 1),
    ]
    assert "database down" in broker.deliveries[0].error


def test_a_handler_that_always_fails_is_dead_lettered_so_delivery_ends() -> None:
    broker = MessageBroker(max_attempts=3)

    def broken(m: Message) -> None:
        raise ValueError("bug")

    broker.subscribe("Order", "g", broken)
    broker.publish("Order", msg(0))
    log = broker.deliver_all()
    assert [d.outcome for d in log] == [FAILED, FAILED, DEAD]
    assert broker.dead_letters[0][1].id == "m-0"
    assert broker.pending() == 0


def test_duplicate_rate_redelivers_acked_messages_at_least_once() -> None:
    broker = MessageBroker(seed=3, duplicate_rate=0.5)
    got: list[str] = []
    broker.subscribe("Order", "g", lambda m: got.append(m.id))
    for i in range(40):
        broker.publish("Order", msg(i))
    broker.deliver_all()
    assert set(got) == {f"m-{i}" for i in range(40)}  # nothing lost
    assert len(got) > 40  # some twice
    redelivered = [d for d in broker.deliveries if d.redelivery]
    assert len(redelivered) == len(got) - 40


def test_crash_between_handling_and_ack_redelivers_the_same_message() -> None:
    broker = MessageBroker(seed=1, crash_rate=0.3)
    got: list[str] = []
    broker.subscribe("Order", "g", lambda m: got.append(m.id))
    for i in range(30):
        broker.publish("Order", msg(i))
    broker.deliver_all()
    crashed = [d for d in broker.deliveries if d.outcome == CRASHED]
    assert crashed, "seed 1 with crash_rate 0.3 should crash at least once"
    for d in crashed:  # the crashed message is the very next delivery again
        nxt = broker.deliveries[d.seq]  # seq is 1-based, so this is the following delivery
        assert nxt.message_id == d.message_id and nxt.redelivery
    assert set(got) == {f"m-{i}" for i in range(30)}
    # order is kept: first deliveries come in offset order
    firsts = [d.message_id for d in broker.deliveries if not d.redelivery]
    assert firsts == [f"m-{i}" for i in range(30)]


def test_faults_are_repeatable_with_the_same_seed() -> None:
    def run(seed: int) -> list[tuple[str, str]]:
        broker = MessageBroker(seed=seed, duplicate_rate=0.2, crash_rate=0.2)
        broker.subscribe("Order", "g", lambda m: None)
        for i in range(25):
            broker.publish("Order", msg(i))
        broker.deliver_all()
        return [(d.message_id, d.outcome) for d in broker.deliveries]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_a_consumer_that_recognises_a_duplicate_is_logged_as_skipped() -> None:
    broker = MessageBroker(seed=0, duplicate_rate=0.99)
    seen: set[str] = set()

    def idempotent(m: Message) -> None:
        if m.id in seen:
            raise DuplicateMessageError(f"{m.id} again")
        seen.add(m.id)

    broker.subscribe("Order", "g", idempotent)
    broker.publish("Order", msg(0))
    broker.deliver_all()
    assert [d.outcome for d in broker.deliveries] == [ACKED, SKIPPED]


def test_replace_makes_a_restarted_consumer_the_groups_only_member() -> None:
    broker = MessageBroker()
    old: list[str] = []
    new: list[str] = []

    def dead(message: Message) -> None:
        old.append(message.id)
        raise RuntimeError("the old process died while handling this")

    broker.subscribe("Order", "billing", dead)
    broker.subscribe("Order", "billing", dead)  # two members of the dead process
    broker.subscribe("Order", "history", lambda m: None)
    for i in range(3):
        broker.publish("Order", msg(i))
    broker.deliver_one()  # billing: m-0 fails, still owed
    broker.deliver_one()  # history: m-0 acked
    broker.deliver_one()  # billing: m-0 fails again
    sub = broker.subscribe("Order", "billing", lambda m: new.append(m.id), replace=True)
    assert len(sub.handlers) == 1 and sub.offset == 0
    assert sub.attempts == {"m-0": 2}  # the group's place is kept, retries included
    done = broker.deliver_all()
    assert old == ["m-0", "m-0"] and new == ["m-0", "m-1", "m-2"]
    first = next(d for d in done if d.group == "billing")
    assert (first.message_id, first.attempt, first.redelivery) == ("m-0", 3, True)
    assert broker.pending("billing") == 0
    assert [s.group for s in broker.subscriptions] == ["billing", "history"]


def test_replace_on_a_new_group_just_subscribes() -> None:
    broker = MessageBroker()
    broker.publish("Order", msg(1))
    seen: list[str] = []
    sub = broker.subscribe("Order", "fresh", lambda m: seen.append(m.id), replace=True)
    broker.deliver_all()
    assert seen == ["m-1"] and len(sub.handlers) == 1 and broker.subscriptions == [sub]


def test_replace_keeps_the_offset_so_nothing_is_handled_again() -> None:
    broker = MessageBroker()
    broker.subscribe("Order", "g", lambda m: None)
    broker.publish("Order", msg(1))
    broker.deliver_all()
    broker.publish("Order", msg(2))
    seen: list[str] = []
    broker.subscribe("Order", "g", lambda m: seen.append(m.id), replace=True)
    broker.deliver_all()
    assert seen == ["m-2"]


def test_step_wise_delivery_takes_turns_between_groups() -> None:
    broker = MessageBroker()
    broker.subscribe("Order", "a", lambda m: None)
    broker.subscribe("Order", "b", lambda m: None)
    broker.publish("Order", msg(0))
    broker.publish("Order", msg(1))
    steps = [broker.deliver_one() for _ in range(5)]
    assert [(s.group, s.message_id) for s in steps[:4]] == [
        ("a", "m-0"),
        ("b", "m-0"),
        ("a", "m-1"),
        ("b", "m-1"),
    ]
    assert steps[4] is None
    assert broker.pending("a") == 0


def test_publish_wraps_a_plain_payload_with_a_seeded_id() -> None:
    m1 = MessageBroker(seed=4).publish("Order", {"x": 1}, headers={"h": "v"})
    m2 = MessageBroker(seed=4).publish("Order", {"x": 1})
    assert m1.id == m2.id and m1.topic == "Order" and m1.headers == {"h": "v"}


def test_publishing_twice_puts_it_on_the_topic_twice() -> None:
    broker = MessageBroker()
    broker.publish("Order", msg(0))
    broker.publish("Order", msg(0))
    assert [m.id for m in broker.messages("Order")] == ["m-0", "m-0"]


def test_event_messages_round_trip_through_the_store() -> None:
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(0))
    store.append("BankAccount", "acc-1", [MoneyDeposited(5)], 0)
    stored = store.read_all()[0]
    message = message_from_event(stored)
    assert message.id == stored.event_id
    assert message.topic == topic_for("BankAccount") == "BankAccount"
    assert message.headers["entity_id"] == "acc-1" and message.headers["position"] == "1"
    assert message.event() == MoneyDeposited(5)
    broker = MessageBroker()
    assert broker.publish_event(stored) == message
    assert message.partition_key == "acc-1"


def test_bad_arguments_are_refused_with_a_clear_error() -> None:
    with pytest.raises(BadInputError, match="probability"):
        MessageBroker(duplicate_rate=1.5)
    broker = MessageBroker()
    with pytest.raises(BadInputError, match="callable"):
        broker.subscribe("Order", "g", "not a function")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="topic"):
        broker.publish("", msg(0))
    with pytest.raises(BadInputError, match="event_type"):
        msg(0).event()


def test_deliveries_frame_has_one_row_per_delivery() -> None:
    broker = MessageBroker()
    broker.subscribe("Order", "g", lambda m: None)
    broker.publish("Order", msg(0))
    broker.deliver_all()
    frame = broker.deliveries_frame()
    assert list(frame["outcome"]) == [ACKED] and list(frame["message_id"]) == ["m-0"]
    assert broker.received("g") == ["m-0"]
