"""FTGO's Order aggregate, event sourced (book §6.1, figures 6.6–6.8).

States: APPROVAL_PENDING → APPROVED or REJECTED; APPROVED → REVISION_PENDING → APPROVED;
APPROVED → CANCELLED. A command in a state that does not allow it is refused with
:class:`eslab.errors.CommandRejectedError`, and nothing is stored.

``OrderCreated`` is at schema version 3 (total in integer cents with a currency, a
structured address); older versions are brought up to date by the upcasters in
``eslab.domain.order_upcasters``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from eslab.aggregate import Aggregate, reject
from eslab.events import Event


class OrderState(enum.Enum):
    APPROVAL_PENDING = "APPROVAL_PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCEL_PENDING = "CANCEL_PENDING"
    CANCELLED = "CANCELLED"
    REVISION_PENDING = "REVISION_PENDING"


# -- value objects -----------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    """An amount in integer cents (never float) with its currency."""

    cents: int
    currency: str = "EUR"

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"Cannot add {other.currency} to {self.currency}.")
        return Money(self.cents + other.cents, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.cents * quantity, self.currency)

    def __str__(self) -> str:
        symbol = {"EUR": "€", "USD": "$"}.get(self.currency, self.currency + " ")
        return f"{symbol}{self.cents / 100:,.2f}"


@dataclass(frozen=True)
class LineItem:
    menu_item_id: str
    name: str
    quantity: int
    price: Money

    @property
    def total(self) -> Money:
        return self.price.times(self.quantity)


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    postcode: str


def order_total(line_items: list[LineItem]) -> Money:
    """The sum of the line items (EUR 0 for none)."""
    total = Money(0, line_items[0].price.currency if line_items else "EUR")
    for item in line_items:
        total = total + item.total
    return total


# -- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateOrder:
    consumer_id: str
    restaurant_id: str
    line_items: list[LineItem]
    delivery_address: Address


@dataclass(frozen=True)
class ApproveOrder:
    pass


@dataclass(frozen=True)
class RejectOrder:
    reason: str = "rejected"


@dataclass(frozen=True)
class CancelOrder:
    pass


@dataclass(frozen=True)
class ReviseOrder:
    """Change quantities: {menu_item_id: new quantity}."""

    quantities: dict[str, int]


@dataclass(frozen=True)
class ConfirmRevision:
    pass


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCreated(Event):
    schema_version = 3
    consumer_id: str
    restaurant_id: str
    line_items: list[LineItem]
    total: Money
    delivery_address: Address


@dataclass(frozen=True)
class OrderAuthorized(Event):
    pass


@dataclass(frozen=True)
class OrderRejected(Event):
    reason: str = ""


@dataclass(frozen=True)
class OrderCancelled(Event):
    pass


@dataclass(frozen=True)
class OrderRevisionProposed(Event):
    quantities: dict[str, int]
    new_total: Money


@dataclass(frozen=True)
class OrderRevised(Event):
    line_items: list[LineItem]
    total: Money


# -- the aggregate -----------------------------------------------------------------------


@dataclass
class Order(Aggregate):
    """An FTGO order. Fields have defaults: replay starts from ``Order()``."""

    state: OrderState | None = None
    consumer_id: str = ""
    restaurant_id: str = ""
    line_items: list[LineItem] = field(default_factory=list)
    total: Money = Money(0)
    delivery_address: Address | None = None
    pending_revision: dict[str, int] | None = None
    rejection_reason: str = ""

    def _require(self, command: object, *allowed: OrderState) -> None:
        if self.state not in allowed:
            names = " or ".join(s.value for s in allowed)
            now = self.state.value if self.state else "not created"
            raise reject(
                f"{type(command).__name__} refused: order {self.id!r} is {now}, and only "
                f"{names} orders accept it."
            )

    def process_create(self, command: CreateOrder) -> list[Event]:
        if self.state is not None:
            raise reject(f"Order {self.id!r} already exists.")
        if not command.line_items:
            raise reject("An order needs at least one line item.")
        if any(item.quantity <= 0 for item in command.line_items):
            raise reject("Every line item needs a quantity of 1 or more.")
        return [
            OrderCreated(
                command.consumer_id,
                command.restaurant_id,
                list(command.line_items),
                order_total(command.line_items),
                command.delivery_address,
            )
        ]

    def apply_created(self, event: OrderCreated) -> None:
        self.state = OrderState.APPROVAL_PENDING
        self.consumer_id, self.restaurant_id = event.consumer_id, event.restaurant_id
        self.line_items, self.total = list(event.line_items), event.total
        self.delivery_address = event.delivery_address

    def process_approve(self, command: ApproveOrder) -> list[Event]:
        self._require(command, OrderState.APPROVAL_PENDING)
        return [OrderAuthorized()]

    def apply_authorized(self, event: OrderAuthorized) -> None:
        self.state = OrderState.APPROVED

    def process_reject(self, command: RejectOrder) -> list[Event]:
        self._require(command, OrderState.APPROVAL_PENDING)
        return [OrderRejected(command.reason)]

    def apply_rejected(self, event: OrderRejected) -> None:
        self.state, self.rejection_reason = OrderState.REJECTED, event.reason

    def process_cancel(self, command: CancelOrder) -> list[Event]:
        self._require(command, OrderState.APPROVED)
        return [OrderCancelled()]

    def apply_cancelled(self, event: OrderCancelled) -> None:
        self.state = OrderState.CANCELLED

    def process_revise(self, command: ReviseOrder) -> list[Event]:
        self._require(command, OrderState.APPROVED)
        known = {item.menu_item_id for item in self.line_items}
        if unknown := set(command.quantities) - known:
            raise reject(f"ReviseOrder names items not in the order: {sorted(unknown)}.")
        if any(q < 0 for q in command.quantities.values()):
            raise reject("Quantities cannot be negative.")
        revised = self._revised_items(command.quantities)
        return [OrderRevisionProposed(dict(command.quantities), order_total(revised))]

    def apply_revision_proposed(self, event: OrderRevisionProposed) -> None:
        self.state, self.pending_revision = OrderState.REVISION_PENDING, dict(event.quantities)

    def process_confirm_revision(self, command: ConfirmRevision) -> list[Event]:
        self._require(command, OrderState.REVISION_PENDING)
        revised = self._revised_items(self.pending_revision or {})
        return [OrderRevised(revised, order_total(revised))]

    def apply_revised(self, event: OrderRevised) -> None:
        self.state, self.pending_revision = OrderState.APPROVED, None
        self.line_items, self.total = list(event.line_items), event.total

    def _revised_items(self, quantities: dict[str, int]) -> list[LineItem]:
        items = [
            LineItem(i.menu_item_id, i.name, quantities.get(i.menu_item_id, i.quantity), i.price)
            for i in self.line_items
        ]
        return [i for i in items if i.quantity > 0]


# Importing the Order module registers the upcasters of its old event schemas (v1, v2),
# so stored old events always load as today's classes.
from eslab.domain import order_upcasters  # noqa: E402, F401
