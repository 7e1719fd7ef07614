"""The benchmark's domain, written once for each side: a restaurant taking orders.

A ``Restaurant`` stream receives ``OrderPlaced(order_id, total_cents)`` events. The big
dataset is 10,000 restaurants, one of them busy (10,000 events), 1,000,000 events in all:
enough for "load one long stream from a big store" and "revenue per restaurant per day".
"""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.domain import Aggregate as PeerAggregate
from eventsourcing.domain import event

from eslab import Aggregate, Event


@dataclass(frozen=True)
class PlaceOrders:
    """One command: ``count`` orders (1–3 events) of ``total_cents`` each."""

    count: int
    total_cents: int


@dataclass(frozen=True)
class OpenRestaurant:
    name: str


@dataclass(frozen=True)
class RestaurantOpened(Event):
    name: str


@dataclass(frozen=True)
class OrderPlaced(Event):
    order_id: int
    total_cents: int


@dataclass
class Restaurant(Aggregate):
    """eslab's side."""

    name: str = ""
    orders: int = 0
    revenue_cents: int = 0

    def process_open(self, command: OpenRestaurant) -> list[Event]:
        return [RestaurantOpened(command.name)]

    def apply_opened(self, event: RestaurantOpened) -> None:
        self.name = event.name

    def process_place(self, command: PlaceOrders) -> list[Event]:
        return [OrderPlaced(self.orders + i + 1, command.total_cents) for i in range(command.count)]

    def apply_placed(self, event: OrderPlaced) -> None:
        self.orders += 1
        self.revenue_cents += event.total_cents


class PeerRestaurant(PeerAggregate):
    """The `eventsourcing` library's side, same behaviour."""

    @event("Opened")
    def __init__(self, name: str) -> None:
        self.name = name
        self.orders = 0
        self.revenue_cents = 0

    @event("OrderPlaced")
    def place(self, order_id: int, total_cents: int) -> None:
        self.orders += 1
        self.revenue_cents += total_cents

    def place_orders(self, count: int, total_cents: int) -> None:
        for i in range(count):
            self.place(self.orders + 1 + i * 0, total_cents)
