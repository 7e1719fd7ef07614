"""Crypto-shredding: personal fields encrypted per subject; forgetting deletes the key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from eslab import EventStore, FixedClock, SeededIds
from eslab.events import Event
from eslab.lessons.nb10_tradeoffs_and_deleting_data import (
    DEMO_CUSTOMERS,
    Customer,
    CustomerAddressChanged,
    CustomerDirectory,
    CustomerRegistered,
    demo_personal_data,
    register_demo_customers,
)
from eslab.projections import Projector
from eslab.shredding import (
    DATA_SUBJECT,
    ENCRYPTED_PREFIX,
    FORGOTTEN,
    CryptoShredder,
    PersonalDataForgotten,
    ShreddingError,
    SubjectForgottenError,
    find_plaintext,
    stored_payload,
)


def new_store(path: Path | None = None) -> EventStore:
    return EventStore(
        path, clock=FixedClock(datetime(2024, 5, 1), timedelta(minutes=1)), id_factory=SeededIds(2)
    )


@pytest.fixture
def shop() -> tuple[EventStore, CryptoShredder, Projector]:
    store = new_store()
    shredder = CryptoShredder(store)
    register_demo_customers(shredder)
    projector = Projector(store, CustomerDirectory(shredder))
    projector.catch_up()
    return store, shredder, projector


def everyone_personal() -> list[str]:
    return [v for c in DEMO_CUSTOMERS for v in demo_personal_data(c[0])]


def replay(shredder: CryptoShredder, customer_id: str) -> Customer:
    return Customer.replay([s.event for s in shredder.load("Customer", customer_id)])


def test_events_hold_only_ciphertext_and_decrypt_with_the_key(shop) -> None:
    store, shredder, _ = shop
    payload = stored_payload(store, "Customer", "customer-2")[0]
    for name in ("name", "email", "street"):
        assert payload[name].startswith(ENCRYPTED_PREFIX)
    assert payload["city"] == "Seoul"  # not personal: stays readable for analytics
    hits = find_plaintext(store, everyone_personal())
    assert set(hits["table"]) == {"customer_directory"}  # the events have none of it
    assert replay(shredder, "customer-2").name == "김민준"
    assert replay(shredder, "customer-1").street == "3 Avenue Foch"


def test_forgetting_leaves_no_plaintext_anywhere_and_the_rest_replays(shop) -> None:
    store, shredder, projector = shop
    forgotten = demo_personal_data("customer-3")
    assert not find_plaintext(store, forgotten).empty
    result = shredder.forget("customer-3")
    assert result.key_deleted and not result.already_forgotten
    projector.catch_up()
    assert find_plaintext(store, forgotten).empty
    assert shredder.is_forgotten("customer-3")
    carlos = replay(shredder, "customer-3")  # still replays: history intact
    assert (carlos.name, carlos.email, carlos.street, carlos.city) == (
        FORGOTTEN,
        FORGOTTEN,
        FORGOTTEN,
        "Madrid",
    )
    assert len(store.load("Customer", "customer-3")) == 2
    for customer_id, name, email, _street, _city in DEMO_CUSTOMERS:
        if customer_id != "customer-3":
            customer = replay(shredder, customer_id)
            assert (customer.name, customer.email) == (name, email)
    others = [v for c in DEMO_CUSTOMERS if c[0] != "customer-3" for v in demo_personal_data(c[0])]
    assert len(find_plaintext(store, others)) > 0  # the scan does find what is there
    row = store.sql("SELECT * FROM customer_directory WHERE customer_id = 'customer-3'")
    assert row["name"].isna().all() and row["forgotten"].tolist() == [True]
    marker = store.load(DATA_SUBJECT, "customer-3")
    assert [type(e.event) for e in marker] == [PersonalDataForgotten]


def test_a_read_model_that_was_not_told_still_leaks(shop) -> None:
    store, shredder, projector = shop
    shredder.forget("customer-5")
    leftovers = find_plaintext(store, demo_personal_data("customer-5"))
    assert set(leftovers["table"]) == {"customer_directory"}
    assert projector.behind() == 1
    projector.catch_up()
    assert find_plaintext(store, demo_personal_data("customer-5")).empty


def test_a_rebuild_after_forgetting_brings_no_plaintext_back(shop) -> None:
    store, shredder, projector = shop
    shredder.forget("customer-1")
    projector.rebuild()
    assert find_plaintext(store, demo_personal_data("customer-1")).empty
    fresh = Projector(store, CustomerDirectory(shredder))
    assert fresh.position == store.last_position()
    row = store.sql(
        "SELECT name, city, forgotten FROM customer_directory WHERE customer_id = 'customer-1'"
    )
    assert row["name"].isna().all() and row["city"].tolist() == ["Lyon"]


def test_forgetting_twice_changes_nothing_more(shop) -> None:
    store, shredder, _ = shop
    shredder.forget("customer-4")
    head = store.last_position()
    again = shredder.forget("customer-4")
    assert again.already_forgotten and store.last_position() == head


def test_no_new_personal_data_for_a_forgotten_subject(shop) -> None:
    store, shredder, _ = shop
    shredder.forget("customer-4")
    with pytest.raises(SubjectForgottenError, match="forgotten"):
        shredder.append(
            store,
            "Customer",
            "customer-4",
            [CustomerAddressChanged("customer-4", "1 New St", "Abuja")],
            store.head("Customer", "customer-4"),
        )
    assert len(store.load("Customer", "customer-4")) == 1


def test_forgetting_deletes_snapshots_of_the_subjects_stream(shop) -> None:
    store, shredder, _ = shop
    state = json.dumps({"name": "Dana Okafor", "street": "88 Marina Road"})
    store.save_snapshot("Customer", "customer-4", 1, "Customer", state)
    assert set(find_plaintext(store, ["Dana Okafor"])["table"]) >= {"snapshots"}
    result = shredder.forget("customer-4")
    assert result.snapshots_deleted == 1
    assert "snapshots" not in set(find_plaintext(store, ["Dana Okafor"])["table"])


def test_forgetting_an_unknown_subject_still_blocks_it() -> None:
    store = new_store()
    shredder = CryptoShredder(store)
    result = shredder.forget("customer-9")
    assert not result.key_deleted and shredder.is_forgotten("customer-9")
    with pytest.raises(SubjectForgottenError):
        shredder.encrypt(CustomerRegistered("customer-9", "X Y", "x@y.z", "1 St", "Rome"))


def test_a_unit_of_work_keeps_encrypted_appends_atomic() -> None:
    store = new_store()
    shredder = CryptoShredder(store)
    with store.unit_of_work() as uow:
        shredder.append(
            uow,
            "Customer",
            "c-1",
            [CustomerRegistered("c-1", "Ann Lee", "ann@x.io", "1 Road", "Oslo")],
            0,
        )
        shredder.append(uow, "Customer", "c-1", CustomerAddressChanged("c-1", "2 Road", "Oslo"), 1)
    assert replay(shredder, "c-1").street == "2 Road"
    assert find_plaintext(store, ["Ann Lee", "2 Road"]).empty


@dataclass(frozen=True)
class BadPersonal(Event):
    personal_fields = ("age",)
    data_subject = "person_id"
    person_id: str
    age: int


@dataclass(frozen=True)
class NoSubject(Event):
    personal_fields = ("name",)
    name: str


def test_wrongly_declared_events_are_refused_clearly() -> None:
    shredder = CryptoShredder(new_store())
    with pytest.raises(ShreddingError, match="must be str"):
        shredder.encrypt(BadPersonal("p-1", 42))
    with pytest.raises(ShreddingError, match="data_subject"):
        shredder.encrypt(NoSubject("Bob"))


def test_ciphertext_of_another_subject_does_not_decrypt(shop) -> None:
    _, shredder, _ = shop
    alice = shredder.encrypt(CustomerRegistered("customer-1", "A", "a@b.c", "s", "Paris"))
    swapped = CustomerRegistered("customer-2", alice.name, alice.email, alice.street, "Paris")
    with pytest.raises(ShreddingError, match="does not decrypt"):
        shredder.decrypt(swapped)


def test_ordinary_events_pass_through_untouched(shop) -> None:
    _, shredder, _ = shop
    event = PersonalDataForgotten("x")
    assert shredder.encrypt(event) is event and shredder.decrypt(event) == event


def test_find_plaintext_searches_any_table_and_refuses_tiny_needles(shop) -> None:
    store, _, _ = shop
    store.cursor().execute("CREATE TABLE exports (line VARCHAR)")
    store.cursor().execute("INSERT INTO exports VALUES ('Mail ALICE.MARTIN@example.com')")
    hits = find_plaintext(store, ["alice.martin@example.com"])
    assert {"exports", "customer_directory"} <= set(hits["table"])
    with pytest.raises(ValueError):
        find_plaintext(store, ["ab"])


def test_the_key_deletion_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    store = new_store(path)
    shredder = CryptoShredder(store)
    register_demo_customers(shredder)
    shredder.forget("customer-2")
    store.close()
    reopened = new_store(path)
    shredder = CryptoShredder(reopened)
    assert shredder.is_forgotten("customer-2")
    assert replay(shredder, "customer-2").name == FORGOTTEN
    assert replay(shredder, "customer-5").name == "이서연"
    assert not shredder.subjects().set_index("subject_id").loc["customer-2", "has_key"]
    reopened.close()
