"""The actor in event metadata: who asked for a change, stored with the event (audit log)."""

from __future__ import annotations

from eslab import AggregateRepository, EventStore
from eslab.consumers import IdempotentRepository
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.events import EventMetadata


def test_the_actor_is_stored_with_the_events_and_read_back() -> None:
    repo = AggregateRepository(EventStore(), BankAccount)
    repo.save(OpenAccount("ann", 10), entity_id="acc-1", metadata=EventMetadata(actor="clerk-7"))
    repo.update("acc-1", Deposit(5), metadata=EventMetadata(actor="ann"))
    stored = repo.store.load("BankAccount", "acc-1")
    assert [s.metadata.actor for s in stored] == ["clerk-7", "ann"]
    who = repo.store.sql(
        "SELECT metadata->>'$.actor' AS actor FROM events ORDER BY entity_version"
    ).actor
    assert list(who) == ["clerk-7", "ann"]


def test_no_actor_is_not_written_and_other_metadata_is_kept() -> None:
    meta = EventMetadata(correlation_id="c-1", extra={"ip": "10.0.0.1"})
    assert "actor" not in meta.to_dict()
    back = EventMetadata.from_dict({**meta.to_dict(), "actor": "bob"})
    assert back == EventMetadata(correlation_id="c-1", extra={"ip": "10.0.0.1"}, actor="bob")


def test_a_triggering_message_keeps_the_actor() -> None:
    repo = AggregateRepository(EventStore(), BankAccount)
    repo.save(OpenAccount("ann", 10), entity_id="acc-1")
    IdempotentRepository(repo).update(
        "acc-1", Deposit(5), triggering_message_id="m-1", metadata=EventMetadata(actor="bob")
    )
    last = repo.store.load("BankAccount", "acc-1")[-1]
    assert (last.metadata.actor, last.triggering_event) == ("bob", "m-1")
