"""Notebook 08's exercises: Accounting command messages and a loyalty step for the saga.

:func:`accounting_message` builds a command message for the Accounting service (authorize
or reverse a card authorization) and :func:`accounting_route` turns one into
``(account id, command)``, as a participant's command handler does. :class:`ReservePoints`
and :class:`ReleasePoints` are the commands of a new saga step (a loyalty service) that
the learner adds to the CreateOrderSaga with its compensation.
"""

from __future__ import annotations

from dataclasses import dataclass

from eslab.consumers import UnknownMessageError
from eslab.domain.accounting import AuthorizeCard, ReverseAuthorization
from eslab.domain.order import Money
from eslab.messaging import Message
from eslab.sagas import command_channel

ACCOUNTING_SERVICE = "AccountingService"
LOYALTY_SERVICE = "LoyaltyService"
"""The new participant of the loyalty exercise."""


def accounting_message(message_id: str, kind: str, order_id: str, cents: int = 0) -> Message:
    """A command message for account ``account-1``: ``kind`` is ``authorize`` or ``reverse``."""
    payload = {"account_id": "account-1", "kind": kind, "order_id": order_id, "cents": cents}
    return Message(message_id, command_channel(ACCOUNTING_SERVICE), payload)


def accounting_route(message: Message) -> tuple[str, object]:
    """``(account id, AuthorizeCard | ReverseAuthorization)`` for an accounting message."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    kind, account = payload.get("kind"), payload.get("account_id")
    if kind == "authorize" and isinstance(account, str) and isinstance(payload.get("cents"), int):
        return account, AuthorizeCard("consumer-1", payload["order_id"], Money(payload["cents"]))
    if kind == "reverse" and isinstance(account, str):
        return account, ReverseAuthorization(payload["order_id"])
    raise UnknownMessageError(
        f"Message {message.id!r} is not an accounting command: build it with "
        "accounting_message(message_id, 'authorize' or 'reverse', order_id, cents)."
    )


@dataclass(frozen=True)
class ReservePoints:
    """Loyalty: hold the consumer's points as a discount on this order."""

    consumer_id: str
    order_id: str


@dataclass(frozen=True)
class ReleasePoints:
    """Loyalty: give the held points back (the compensation of :class:`ReservePoints`)."""

    order_id: str
