"""Self-checks of notebook 10: right answers pass, wrong ones get a hint (never raise)."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from eslab.checks import nb10_tradeoffs_and_deleting_data as check
from eslab.events import StoredEvent
from eslab.lessons.nb10_tradeoffs_and_deleting_data import (
    CustomerAddressChanged,
    CustomerCities,
    CustomerRegistered,
)
from eslab.projections import Upsert
from eslab.shredding import CryptoShredder


def good_register(shredder: CryptoShredder, name, email, street, city) -> str:
    customer_id = f"customer-{uuid.uuid4()}"
    event = CustomerRegistered(customer_id, name, email, street, city)
    shredder.append(shredder.store, "Customer", customer_id, [event], 0)
    return customer_id


def email_as_id(shredder: CryptoShredder, name, email, street, city) -> str:
    event = CustomerRegistered(email, name, email, street, city)
    shredder.append(shredder.store, "Customer", email, [event], 0)
    return email


def hashed_email_as_id(shredder: CryptoShredder, name, email, street, city) -> str:
    customer_id = hashlib.sha256(email.lower().encode()).hexdigest()
    event = CustomerRegistered(customer_id, name, email, street, city)
    shredder.append(shredder.store, "Customer", customer_id, [event], 0)
    return customer_id


def plaintext(shredder: CryptoShredder, name, email, street, city) -> str:
    customer_id = f"customer-{uuid.uuid4()}"
    event = CustomerRegistered(customer_id, name, email, street, city)
    shredder.store.append("Customer", customer_id, [event], 0)  # not encrypted
    return customer_id


def same_id(shredder: CryptoShredder, name, email, street, city) -> str:
    return "customer-x"


def test_exercise_1_passes_a_pseudonymous_id() -> None:
    result = check.exercise_1(good_register)
    assert result, result.message


@pytest.mark.parametrize(
    ("register", "says"),
    [
        (email_as_id, "made from personal data"),
        (hashed_email_as_id, "made from personal data"),
        (plaintext, "plaintext remains"),
        (same_id, "same id"),
        (lambda *a: None, "must return"),
        (lambda *a: 42, "must return"),
        (None, "Define"),
    ],
    ids=["email", "hashed-email", "plaintext", "same-id", "none", "number", "not-callable"],
)
def test_exercise_1_hints(register, says: str) -> None:
    result = check.exercise_1(register)
    assert not result and says in result.message


class FixedCities(CustomerCities):
    version = 2

    def on_address_changed(self, event: CustomerAddressChanged, stored: StoredEvent) -> list:
        return [Upsert("customer_cities", {"customer_id": event.customer_id}, {"city": event.city})]


class FixedButSameVersion(FixedCities):
    version = 1


class BumpedOnly(CustomerCities):
    version = 2


class RenamedTable(FixedCities):
    name = "cities"


def test_exercise_2_passes_a_bumped_and_fixed_projection() -> None:
    result = check.exercise_2(FixedCities)
    assert result, result.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (FixedButSameVersion, "Bump `version`"),
        (BumpedOnly, "handle CustomerAddressChanged"),
        (RenamedTable, "Keep the read model's name"),
        (FixedCities(), "the class itself"),
        (None, "the class itself"),
    ],
)
def test_exercise_2_hints(answer, says: str) -> None:
    result = check.exercise_2(answer)
    assert not result and says in result.message
