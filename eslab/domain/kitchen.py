"""FTGO's Kitchen Service: the Ticket aggregate, event sourced (book ch. 4–6).

A ticket is the kitchen's view of an order. The CreateOrderSaga creates it in
``CREATE_PENDING``; once the card is authorized the saga confirms it
(``AWAITING_ACCEPTANCE``), or — when a later step fails — cancels it (``CANCELLED``, the
compensation). Afterwards the restaurant accepts it, prepares it and a courier picks it
up. Cancelling or revising an accepted ticket is itself a saga step, so those go
through a ``*_PENDING`` state that a later command confirms or undoes::

    CREATE_PENDING ──confirm──▶ AWAITING_ACCEPTANCE ──accept──▶ ACCEPTED ──▶ PREPARING
          │ cancel                    │ begin cancel / begin revise         ──▶ READY_FOR_PICKUP
          ▼                           ▼                                      ──▶ PICKED_UP
      CANCELLED ◀──confirm cancel── CANCEL_PENDING   (undo → back)
                                    REVISION_PENDING (confirm / undo → back)

A command in a state that does not allow it is refused with
:class:`eslab.errors.CommandRejectedError`, and nothing is stored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from eslab.aggregate import Aggregate, reject
from eslab.events import Event


class TicketState(enum.Enum):
    CREATE_PENDING = "CREATE_PENDING"
    AWAITING_ACCEPTANCE = "AWAITING_ACCEPTANCE"
    ACCEPTED = "ACCEPTED"
    PREPARING = "PREPARING"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PICKED_UP = "PICKED_UP"
    CANCEL_PENDING = "CANCEL_PENDING"
    CANCELLED = "CANCELLED"
    REVISION_PENDING = "REVISION_PENDING"


@dataclass(frozen=True)
class TicketLineItem:
    """What the kitchen cooks: no prices here, that is the Order's business."""

    menu_item_id: str
    name: str
    quantity: int


# -- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTicket:
    """Saga step 3: create a ticket for an order (the reply carries the ticket id)."""

    order_id: str
    restaurant_id: str
    line_items: list[TicketLineItem]


@dataclass(frozen=True)
class ConfirmCreateTicket:
    """Saga step 5: the card is authorized, the kitchen may show the ticket."""

    ticket_id: str


@dataclass(frozen=True)
class CancelCreateTicket:
    """Compensation of step 3: a later step failed, the ticket is cancelled."""

    ticket_id: str
    reason: str = "the order was not approved"


@dataclass(frozen=True)
class AcceptTicket:
    ready_by: datetime


@dataclass(frozen=True)
class StartPreparing:
    pass


@dataclass(frozen=True)
class MarkReadyForPickup:
    pass


@dataclass(frozen=True)
class PickUpTicket:
    pass


@dataclass(frozen=True)
class BeginCancelTicket:
    pass


@dataclass(frozen=True)
class ConfirmCancelTicket:
    pass


@dataclass(frozen=True)
class UndoCancelTicket:
    pass


@dataclass(frozen=True)
class BeginReviseTicket:
    """Change quantities: {menu_item_id: new quantity}."""

    quantities: dict[str, int]


@dataclass(frozen=True)
class ConfirmReviseTicket:
    pass


@dataclass(frozen=True)
class UndoReviseTicket:
    pass


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketCreated(Event):
    order_id: str
    restaurant_id: str
    line_items: list[TicketLineItem]


@dataclass(frozen=True)
class TicketCreateConfirmed(Event):
    pass


@dataclass(frozen=True)
class TicketCancelled(Event):
    reason: str = ""


@dataclass(frozen=True)
class TicketAccepted(Event):
    ready_by: datetime


@dataclass(frozen=True)
class TicketPreparationStarted(Event):
    pass


@dataclass(frozen=True)
class TicketReadyForPickup(Event):
    pass


@dataclass(frozen=True)
class TicketPickedUp(Event):
    pass


@dataclass(frozen=True)
class TicketCancelRequested(Event):
    pass


@dataclass(frozen=True)
class TicketCancelUndone(Event):
    pass


@dataclass(frozen=True)
class TicketRevisionProposed(Event):
    quantities: dict[str, int]


@dataclass(frozen=True)
class TicketRevised(Event):
    line_items: list[TicketLineItem]


@dataclass(frozen=True)
class TicketRevisionUndone(Event):
    pass


# -- the aggregate -----------------------------------------------------------------------


@dataclass
class Ticket(Aggregate):
    """A kitchen ticket. Fields have defaults: replay starts from ``Ticket()``."""

    state: TicketState | None = None
    order_id: str = ""
    restaurant_id: str = ""
    line_items: list[TicketLineItem] = field(default_factory=list)
    ready_by: datetime | None = None
    previous_state: TicketState | None = None
    """Where a CANCEL_PENDING / REVISION_PENDING ticket goes back to on undo."""
    pending_revision: dict[str, int] | None = None
    cancel_reason: str = ""

    def _require(self, command: object, *allowed: TicketState) -> None:
        if self.state not in allowed:
            names = " or ".join(s.value for s in allowed)
            now = self.state.value if self.state else "not created"
            raise reject(
                f"{type(command).__name__} refused: ticket {self.id!r} is {now}, and only "
                f"{names} tickets accept it."
            )

    def process_create(self, command: CreateTicket) -> list[Event]:
        if self.state is not None:
            raise reject(f"Ticket {self.id!r} already exists.")
        if not command.line_items:
            raise reject("A ticket needs at least one line item to cook.")
        return [TicketCreated(command.order_id, command.restaurant_id, list(command.line_items))]

    def apply_created(self, event: TicketCreated) -> None:
        self.state = TicketState.CREATE_PENDING
        self.order_id, self.restaurant_id = event.order_id, event.restaurant_id
        self.line_items = list(event.line_items)

    def process_confirm_create(self, command: ConfirmCreateTicket) -> list[Event]:
        self._require(command, TicketState.CREATE_PENDING)
        return [TicketCreateConfirmed()]

    def apply_create_confirmed(self, event: TicketCreateConfirmed) -> None:
        self.state = TicketState.AWAITING_ACCEPTANCE

    def process_cancel_create(self, command: CancelCreateTicket) -> list[Event]:
        self._require(command, TicketState.CREATE_PENDING)
        return [TicketCancelled(command.reason)]

    def apply_cancelled(self, event: TicketCancelled) -> None:
        self.state, self.cancel_reason = TicketState.CANCELLED, event.reason
        self.previous_state = None

    def process_accept(self, command: AcceptTicket) -> list[Event]:
        self._require(command, TicketState.AWAITING_ACCEPTANCE)
        return [TicketAccepted(command.ready_by)]

    def apply_accepted(self, event: TicketAccepted) -> None:
        self.state, self.ready_by = TicketState.ACCEPTED, event.ready_by

    def process_start_preparing(self, command: StartPreparing) -> list[Event]:
        self._require(command, TicketState.ACCEPTED)
        return [TicketPreparationStarted()]

    def apply_preparation_started(self, event: TicketPreparationStarted) -> None:
        self.state = TicketState.PREPARING

    def process_ready(self, command: MarkReadyForPickup) -> list[Event]:
        self._require(command, TicketState.PREPARING)
        return [TicketReadyForPickup()]

    def apply_ready(self, event: TicketReadyForPickup) -> None:
        self.state = TicketState.READY_FOR_PICKUP

    def process_pick_up(self, command: PickUpTicket) -> list[Event]:
        self._require(command, TicketState.READY_FOR_PICKUP)
        return [TicketPickedUp()]

    def apply_picked_up(self, event: TicketPickedUp) -> None:
        self.state = TicketState.PICKED_UP

    def process_begin_cancel(self, command: BeginCancelTicket) -> list[Event]:
        self._require(command, TicketState.AWAITING_ACCEPTANCE, TicketState.ACCEPTED)
        return [TicketCancelRequested()]

    def apply_cancel_requested(self, event: TicketCancelRequested) -> None:
        self.previous_state, self.state = self.state, TicketState.CANCEL_PENDING

    def process_confirm_cancel(self, command: ConfirmCancelTicket) -> list[Event]:
        self._require(command, TicketState.CANCEL_PENDING)
        return [TicketCancelled("the order was cancelled")]

    def process_undo_cancel(self, command: UndoCancelTicket) -> list[Event]:
        self._require(command, TicketState.CANCEL_PENDING)
        return [TicketCancelUndone()]

    def apply_cancel_undone(self, event: TicketCancelUndone) -> None:
        self.state, self.previous_state = self.previous_state, None

    def process_begin_revise(self, command: BeginReviseTicket) -> list[Event]:
        self._require(command, TicketState.AWAITING_ACCEPTANCE, TicketState.ACCEPTED)
        known = {item.menu_item_id for item in self.line_items}
        if unknown := set(command.quantities) - known:
            raise reject(f"BeginReviseTicket names items not on the ticket: {sorted(unknown)}.")
        return [TicketRevisionProposed(dict(command.quantities))]

    def apply_revision_proposed(self, event: TicketRevisionProposed) -> None:
        self.previous_state, self.state = self.state, TicketState.REVISION_PENDING
        self.pending_revision = dict(event.quantities)

    def process_confirm_revise(self, command: ConfirmReviseTicket) -> list[Event]:
        self._require(command, TicketState.REVISION_PENDING)
        quantities = self.pending_revision or {}
        items = [
            TicketLineItem(i.menu_item_id, i.name, quantities.get(i.menu_item_id, i.quantity))
            for i in self.line_items
        ]
        return [TicketRevised([i for i in items if i.quantity > 0])]

    def apply_revised(self, event: TicketRevised) -> None:
        self.line_items = list(event.line_items)
        self.state, self.previous_state, self.pending_revision = self.previous_state, None, None

    def process_undo_revise(self, command: UndoReviseTicket) -> list[Event]:
        self._require(command, TicketState.REVISION_PENDING)
        return [TicketRevisionUndone()]

    def apply_revision_undone(self, event: TicketRevisionUndone) -> None:
        self.state, self.previous_state, self.pending_revision = self.previous_state, None, None
