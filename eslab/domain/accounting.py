"""FTGO's Accounting Service: the Account aggregate, the book's event-sourced participant.

The book (§6.3.3) uses Accounting to show an event-sourced saga participant: the
CreateOrderSaga asks it to authorize the consumer's card for the order total. That step
is the saga's *pivot*: if it succeeds the saga will complete; if it fails — here when
the amount is over the card's available limit — the saga compensates the earlier steps.

A failed authorization is a fact worth keeping, so it is an event too
(``AccountAuthorizationFailed``); the account's state does not change. One account per
consumer: the account id is the consumer id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eslab.aggregate import Aggregate, reject
from eslab.domain.order import Money
from eslab.events import Event

# -- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateAccount:
    consumer_id: str
    card_limit: Money


@dataclass(frozen=True)
class AuthorizeCard:
    """Saga step 4 (the pivot): reserve ``amount`` on the card for ``order_id``."""

    consumer_id: str
    order_id: str
    amount: Money


@dataclass(frozen=True)
class ReverseAuthorization:
    """Give an authorization back (e.g. a cancelled order)."""

    order_id: str


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountCreated(Event):
    consumer_id: str
    card_limit: Money


@dataclass(frozen=True)
class AccountAuthorized(Event):
    order_id: str
    amount: Money


@dataclass(frozen=True)
class AccountAuthorizationFailed(Event):
    order_id: str
    amount: Money
    reason: str


@dataclass(frozen=True)
class AccountAuthorizationReversed(Event):
    order_id: str
    amount: Money


# -- the aggregate -----------------------------------------------------------------------


@dataclass
class Account(Aggregate):
    """A consumer's card account: a limit and the authorizations holding part of it."""

    consumer_id: str = ""
    card_limit: Money = Money(0)
    authorizations: dict[str, Money] = field(default_factory=dict)
    """order id → amount authorized (and not reversed)."""
    failed_authorizations: list[str] = field(default_factory=list)

    @property
    def available(self) -> Money:
        """The card limit minus everything authorized."""
        used = sum(a.cents for a in self.authorizations.values())
        return Money(self.card_limit.cents - used, self.card_limit.currency)

    def process_create(self, command: CreateAccount) -> list[Event]:
        if self.consumer_id:
            raise reject(f"Account {self.id!r} already exists.")
        if command.card_limit.cents < 0:
            raise reject("A card limit cannot be negative.")
        return [AccountCreated(command.consumer_id, command.card_limit)]

    def apply_created(self, event: AccountCreated) -> None:
        self.consumer_id, self.card_limit = event.consumer_id, event.card_limit

    def process_authorize(self, command: AuthorizeCard) -> list[Event]:
        if not self.consumer_id:
            raise reject(f"No account {self.id!r}: create it before authorizing.")
        if command.order_id in self.authorizations:
            raise reject(f"Order {command.order_id!r} is already authorized on this card.")
        if command.amount.currency != self.card_limit.currency:
            raise reject(
                f"The card is in {self.card_limit.currency}, the order in "
                f"{command.amount.currency}."
            )
        if command.amount.cents > self.available.cents:
            reason = (
                f"card limit: {command.amount} is more than the {self.available} still available"
            )
            return [AccountAuthorizationFailed(command.order_id, command.amount, reason)]
        return [AccountAuthorized(command.order_id, command.amount)]

    def apply_authorized(self, event: AccountAuthorized) -> None:
        self.authorizations = {**self.authorizations, event.order_id: event.amount}

    def apply_authorization_failed(self, event: AccountAuthorizationFailed) -> None:
        self.failed_authorizations = [*self.failed_authorizations, event.order_id]

    def process_reverse(self, command: ReverseAuthorization) -> list[Event]:
        if command.order_id not in self.authorizations:
            raise reject(f"Order {command.order_id!r} has no authorization on this card.")
        return [
            AccountAuthorizationReversed(command.order_id, self.authorizations[command.order_id])
        ]

    def apply_authorization_reversed(self, event: AccountAuthorizationReversed) -> None:
        self.authorizations = {k: v for k, v in self.authorizations.items() if k != event.order_id}
