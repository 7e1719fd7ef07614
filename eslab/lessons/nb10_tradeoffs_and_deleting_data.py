"""Notebook 10's example: FTGO's customers with personal data, and a read model that forgets.

:class:`CustomerRegistered` and :class:`CustomerAddressChanged` mark their personal
fields for :class:`~eslab.shredding.CryptoShredder`; :func:`register_demo_customers`
writes five demo customers (two of them move), and :class:`CustomerDirectory` is a
projection that keeps their contact details in plaintext — so it must drop them when a
``PersonalDataForgotten`` event arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from eslab.aggregate import Aggregate
from eslab.errors import BadInputError
from eslab.events import Event, StoredEvent
from eslab.projections import Change, Projection, Update, Upsert
from eslab.shredding import FORGOTTEN, CryptoShredder, PersonalDataForgotten


@dataclass(frozen=True)
class CustomerRegistered(Event):
    """A customer signed up. Name, e-mail and street are personal; the city is not."""

    personal_fields = ("name", "email", "street")
    data_subject = "customer_id"
    customer_id: str
    name: str
    email: str
    street: str
    city: str


@dataclass(frozen=True)
class CustomerAddressChanged(Event):
    """A customer moved."""

    personal_fields = ("street",)
    data_subject = "customer_id"
    customer_id: str
    street: str
    city: str


@dataclass
class Customer(Aggregate):
    """A customer, replayed from its (decrypted) events."""

    name: str = ""
    email: str = ""
    street: str = ""
    city: str = ""

    def apply_registered(self, event: CustomerRegistered) -> None:
        self.name, self.email = event.name, event.email
        self.street, self.city = event.street, event.city

    def apply_address_changed(self, event: CustomerAddressChanged) -> None:
        self.street, self.city = event.street, event.city


DEMO_CUSTOMERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("customer-1", "Alice Martin", "alice.martin@example.com", "12 Rue des Lilas", "Paris"),
    ("customer-2", "김민준", "minjun.kim@example.kr", "34 Teheran-ro", "Seoul"),
    ("customer-3", "Carlos Diaz", "carlos.diaz@example.es", "7 Calle Mayor", "Madrid"),
    ("customer-4", "Dana Okafor", "dana.okafor@example.ng", "88 Marina Road", "Lagos"),
    ("customer-5", "이서연", "seoyeon.lee@example.kr", "5 Haeundae-ro", "Busan"),
)
"""(id, name, e-mail, street, city) of the demo customers."""

DEMO_MOVES: tuple[tuple[str, str, str], ...] = (
    ("customer-1", "3 Avenue Foch", "Lyon"),
    ("customer-3", "21 Gran Via", "Madrid"),
)
"""(id, new street, new city): two customers move after registering."""


def demo_personal_data(customer_id: str) -> list[str]:
    """Every personal text of a demo customer (to search the store for)."""
    values = [v for c in DEMO_CUSTOMERS if c[0] == customer_id for v in c[1:4]]
    values += [street for c, street, _ in DEMO_MOVES if c == customer_id]
    if not values:
        raise BadInputError(
            f"{customer_id!r} is not a demo customer; choose one of "
            f"{[c[0] for c in DEMO_CUSTOMERS]}."
        )
    return values


def register_demo_customers(shredder: CryptoShredder) -> int:
    """Append the demo customers' events (encrypted); return how many events."""
    count = 0
    for customer_id, name, email, street, city in DEMO_CUSTOMERS:
        shredder.append(
            shredder.store,
            "Customer",
            customer_id,
            [CustomerRegistered(customer_id, name, email, street, city)],
            0,
        )
        count += 1
    for customer_id, street, city in DEMO_MOVES:
        head = shredder.store.head("Customer", customer_id)
        shredder.append(
            shredder.store,
            "Customer",
            customer_id,
            [CustomerAddressChanged(customer_id, street, city)],
            head,
        )
        count += 1
    return count


class CustomerDirectory(Projection):
    """A read model with the customers' contact details — in plaintext, so it must forget."""

    name = "customer_directory"
    version = 1
    tables = {
        "customer_directory": """
        customer_id VARCHAR PRIMARY KEY,
        name        VARCHAR,
        email       VARCHAR,
        street      VARCHAR,
        city        VARCHAR,
        forgotten   BOOLEAN NOT NULL DEFAULT false"""
    }

    def __init__(self, shredder: CryptoShredder) -> None:
        self.shredder = shredder

    def on_registered(self, event: CustomerRegistered, stored: StoredEvent) -> list[Change]:
        plain = self.shredder.decrypt(event)
        return [
            Upsert(
                "customer_directory",
                {"customer_id": event.customer_id},
                {
                    "name": _known(plain.name),
                    "email": _known(plain.email),
                    "street": _known(plain.street),
                    "city": plain.city,
                    "forgotten": plain.name == FORGOTTEN,
                },
            )
        ]

    def on_address_changed(
        self, event: CustomerAddressChanged, stored: StoredEvent
    ) -> list[Change]:
        plain = self.shredder.decrypt(event)
        return [
            Upsert(
                "customer_directory",
                {"customer_id": event.customer_id},
                {"street": _known(plain.street), "city": plain.city},
            )
        ]

    def on_forgotten(self, event: PersonalDataForgotten, stored: StoredEvent) -> list[Change]:
        return [
            Update(
                "customer_directory",
                {"customer_id": event.subject_id},
                {"name": None, "email": None, "street": None, "forgotten": True},
            )
        ]


def _known(value: str) -> str | None:
    """A read model keeps no marker text: a forgotten value is simply NULL."""
    return None if value == FORGOTTEN else value


class CustomerCities(Projection):
    """Where each customer lives (no personal data). Version 1 has a bug: it handles only
    the registration, so a customer who moved still shows the old city."""

    name = "customer_cities"
    version = 1
    tables = {"customer_cities": "customer_id VARCHAR PRIMARY KEY, city VARCHAR"}

    def on_registered(self, event: CustomerRegistered, stored: StoredEvent) -> list[Change]:
        return [Upsert("customer_cities", {"customer_id": event.customer_id}, {"city": event.city})]
