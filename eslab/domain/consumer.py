"""FTGO's Consumer Service: the Consumer aggregate, which validates orders (saga step 2).

Before the kitchen cooks anything, the CreateOrderSaga asks the Consumer Service whether
this consumer may place this order. Here a consumer may not when they are suspended, or
when the order total is over their per-order limit. Both answers are recorded as events
(``ConsumerVerified`` / ``ConsumerVerificationFailed``), which also lets the
choreography variant react to them. One consumer per id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eslab.aggregate import Aggregate, reject
from eslab.domain.order import Money
from eslab.events import Event

# -- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterConsumer:
    name: str
    order_limit: Money


@dataclass(frozen=True)
class SuspendConsumer:
    reason: str


@dataclass(frozen=True)
class ValidateOrderByConsumer:
    """Saga step 2: may ``consumer_id`` place order ``order_id`` of ``order_total``?"""

    consumer_id: str
    order_id: str
    order_total: Money


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerRegistered(Event):
    name: str
    order_limit: Money


@dataclass(frozen=True)
class ConsumerSuspended(Event):
    reason: str


@dataclass(frozen=True)
class ConsumerVerified(Event):
    order_id: str
    order_total: Money


@dataclass(frozen=True)
class ConsumerVerificationFailed(Event):
    order_id: str
    order_total: Money
    reason: str


# -- the aggregate -----------------------------------------------------------------------


@dataclass
class Consumer(Aggregate):
    """A consumer of FTGO: a name, a per-order limit, and the orders checked so far."""

    name: str = ""
    order_limit: Money = Money(0)
    suspended: bool = False
    suspension_reason: str = ""
    verified_orders: list[str] = field(default_factory=list)
    refused_orders: list[str] = field(default_factory=list)

    def process_register(self, command: RegisterConsumer) -> list[Event]:
        if self.name:
            raise reject(f"Consumer {self.id!r} is already registered.")
        if not command.name:
            raise reject("A consumer needs a name.")
        return [ConsumerRegistered(command.name, command.order_limit)]

    def apply_registered(self, event: ConsumerRegistered) -> None:
        self.name, self.order_limit = event.name, event.order_limit

    def process_suspend(self, command: SuspendConsumer) -> list[Event]:
        if self.suspended:
            raise reject(f"Consumer {self.id!r} is already suspended.")
        return [ConsumerSuspended(command.reason)]

    def apply_suspended(self, event: ConsumerSuspended) -> None:
        self.suspended, self.suspension_reason = True, event.reason

    def process_validate(self, command: ValidateOrderByConsumer) -> list[Event]:
        if not self.name:
            raise reject(f"No consumer {self.id!r}: register them first.")
        reason = ""
        if self.suspended:
            reason = f"consumer suspended ({self.suspension_reason})"
        elif command.order_total.cents > self.order_limit.cents:
            reason = f"order total {command.order_total} is over the limit {self.order_limit}"
        if reason:
            return [ConsumerVerificationFailed(command.order_id, command.order_total, reason)]
        return [ConsumerVerified(command.order_id, command.order_total)]

    def apply_verified(self, event: ConsumerVerified) -> None:
        self.verified_orders = [*self.verified_orders, event.order_id]

    def apply_verification_failed(self, event: ConsumerVerificationFailed) -> None:
        self.refused_orders = [*self.refused_orders, event.order_id]
