"""The FTGO application's sagas, wired (book §6.3 with the ch. 4 example; seed 3).

The machinery — the saga DSL, the event-sourced orchestrator, the participant base and
the relay — is in :mod:`eslab.sagas`; this module uses it for the book's FTGO example:

* :class:`CreateOrderSaga` (design.md): reject order ← validate with the Consumer
  Service ← create ticket (→ cancel ticket) ← authorize card (the pivot) → confirm
  ticket → approve order;
* the four services as event-sourced participants — :class:`OrderService`,
  :class:`ConsumerService`, :class:`KitchenService`, :class:`AccountingService` — each
  with command handlers (orchestration) and event handlers (choreography, §6.3.1);
* :class:`FtgoSystem`, which puts them, a :class:`eslab.sagas.SagaMessageRelay` and a
  broker on one store (wired by a :class:`eslab.sagas.SagaRunner`) so a notebook can
  step through the messages, with
  :meth:`FtgoSystem.scenario` making the saga fail where a lesson wants;
* correlation helpers: :func:`correlated_events` follows one saga across every stream
  by its ``correlation_id``, :func:`compensation_marks` marks the compensations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from eslab.aggregate import AggregateRepository
from eslab.domain.accounting import (
    Account,
    AccountAuthorizationFailed,
    AccountAuthorized,
    AuthorizeCard,
    CreateAccount,
)
from eslab.domain.consumer import (
    Consumer,
    ConsumerVerificationFailed,
    ConsumerVerified,
    RegisterConsumer,
    SuspendConsumer,
    ValidateOrderByConsumer,
)
from eslab.domain.kitchen import (
    CancelCreateTicket,
    ConfirmCreateTicket,
    CreateTicket,
    Ticket,
    TicketLineItem,
)
from eslab.domain.order import (
    Address,
    ApproveOrder,
    CreateOrder,
    LineItem,
    Money,
    Order,
    OrderCreated,
    RejectOrder,
)
from eslab.errors import BadInputError, EntityNotFoundError, EslabError
from eslab.events import Event, EventMetadata
from eslab.messaging import Delivery, Message, MessageBroker
from eslab.sagas import (
    CommandContext,
    CommandHandler,
    EventHandler,
    Reply,
    Saga,
    SagaDefinitionError,
    SagaInstance,
    SagaMessageRelay,
    SagaOrchestrator,
    SagaParticipant,
    SagaRunner,
    reply_channel,
    step,
    with_failure,
    with_success,
)
from eslab.store import EventStore

ORDER_SERVICE = "OrderService"
CONSUMER_SERVICE = "ConsumerService"
KITCHEN_SERVICE = "KitchenService"
ACCOUNTING_SERVICE = "AccountingService"
SERVICES = (ORDER_SERVICE, CONSUMER_SERVICE, KITCHEN_SERVICE, ACCOUNTING_SERVICE)

OWNERS = {
    "Order": ORDER_SERVICE,
    "Consumer": CONSUMER_SERVICE,
    "Ticket": KITCHEN_SERVICE,
    "Account": ACCOUNTING_SERVICE,
}
"""Which service owns (and publishes) each aggregate type's events."""

EVENT_SOURCES: dict[type, str] = {
    OrderCreated: "Order",
    ConsumerVerified: "Consumer",
    ConsumerVerificationFailed: "Consumer",
    AccountAuthorized: "Account",
    AccountAuthorizationFailed: "Account",
}
"""The aggregate type (= topic) each event a choreography handler needs comes from."""


class ServiceDownError(EslabError):
    """A message reached a service whose process is not running (the broker retries)."""


class NotReadyError(EslabError):
    """A choreography event arrived before the one it depends on (the broker retries)."""


# == 1. The CreateOrderSaga =============================================================


@dataclass(frozen=True)
class ApproveOrderCommand:
    """Saga step 6: the Order Service approves the order."""

    order_id: str


@dataclass(frozen=True)
class RejectOrderCommand:
    """Compensation of step 1: the Order Service rejects the order."""

    order_id: str
    reason: str = "rejected by the CreateOrderSaga"


@dataclass(frozen=True)
class CreateTicketReply:
    """The Kitchen Service's reply to CreateTicket: which ticket it created."""

    ticket_id: str


@dataclass
class CreateOrderSagaState:
    """The saga's data: what it needs to build each command (the book's class)."""

    order_id: str
    consumer_id: str
    restaurant_id: str
    line_items: list[LineItem]
    order_total: Money
    ticket_id: str | None = None

    @classmethod
    def for_order(cls, order_id: str, created: OrderCreated) -> CreateOrderSagaState:
        """The saga data for a new order, from its OrderCreated event."""
        return cls(
            order_id,
            created.consumer_id,
            created.restaurant_id,
            list(created.line_items),
            created.total,
        )

    def make_reject_order_command(self) -> RejectOrderCommand:
        return RejectOrderCommand(self.order_id)

    def make_validate_order_command(self) -> ValidateOrderByConsumer:
        return ValidateOrderByConsumer(self.consumer_id, self.order_id, self.order_total)

    def make_create_ticket_command(self) -> CreateTicket:
        items = [TicketLineItem(i.menu_item_id, i.name, i.quantity) for i in self.line_items]
        return CreateTicket(self.order_id, self.restaurant_id, items)

    def handle_create_ticket_reply(self, reply: CreateTicketReply) -> None:
        self.ticket_id = reply.ticket_id

    def make_cancel_create_ticket_command(self) -> CancelCreateTicket:
        return CancelCreateTicket(self._ticket())

    def make_authorize_card_command(self) -> AuthorizeCard:
        return AuthorizeCard(self.consumer_id, self.order_id, self.order_total)

    def make_confirm_create_ticket_command(self) -> ConfirmCreateTicket:
        return ConfirmCreateTicket(self._ticket())

    def make_approve_order_command(self) -> ApproveOrderCommand:
        return ApproveOrderCommand(self.order_id)

    def _ticket(self) -> str:
        if self.ticket_id is None:
            raise SagaDefinitionError(
                "The saga has no ticket id yet: the CreateTicketReply "
                "handler sets it (on_reply of the create-ticket step)."
            )
        return self.ticket_id


class CreateOrderSaga(Saga):
    """The book's CreateOrderSaga (listing 4.2 / design.md), run by an orchestrator."""

    data_class = CreateOrderSagaState
    # fmt: off
    definition = (
        step()
            .with_compensation(ORDER_SERVICE, CreateOrderSagaState.make_reject_order_command)
        .step()
            .invoke_participant(CONSUMER_SERVICE, CreateOrderSagaState.make_validate_order_command)
        .step()
            .invoke_participant(KITCHEN_SERVICE, CreateOrderSagaState.make_create_ticket_command)
            .on_reply(CreateTicketReply, CreateOrderSagaState.handle_create_ticket_reply)
            .with_compensation(KITCHEN_SERVICE,
                               CreateOrderSagaState.make_cancel_create_ticket_command)
        .step()
            .invoke_participant(ACCOUNTING_SERVICE,
                                CreateOrderSagaState.make_authorize_card_command)
        .step()
            .invoke_participant(KITCHEN_SERVICE,
                                CreateOrderSagaState.make_confirm_create_ticket_command)
        .step()
            .invoke_participant(ORDER_SERVICE, CreateOrderSagaState.make_approve_order_command)
        .build()
    )
    # fmt: on


def _update(
    repo: AggregateRepository[Any], entity_id: str, command: object, ctx: CommandContext
) -> list[Event]:
    return repo.update_with_result(entity_id, command, metadata=ctx.metadata, uow=ctx.uow).events


def _reply(events: list[Event], refusal: type) -> Reply:
    """A failure with the reason of the ``refusal`` event among ``events``, else success."""
    refused: Any = next((e for e in events if isinstance(e, refusal)), None)
    return with_failure(refused.reason) if refused is not None else with_success()


def _find(repo: AggregateRepository[Any], entity_id: str | None) -> Any:
    if not entity_id:
        return None
    try:
        return repo.find(entity_id)
    except EntityNotFoundError:
        return None


# == 2. The FTGO services: event-sourced participants ====================================


class OrderService(SagaParticipant):
    """Creates orders (starting a CreateOrderSaga) and approves or rejects them."""

    service = ORDER_SERVICE
    event_sources = EVENT_SOURCES

    def __init__(self, store: EventStore, orchestrator: SagaOrchestrator | None = None) -> None:
        super().__init__(store)
        self.orders = AggregateRepository(store, Order)
        self.orchestrator = orchestrator

    def create_order(
        self,
        order_id: str,
        consumer_id: str,
        restaurant_id: str,
        line_items: list[LineItem],
        delivery_address: Address,
        *,
        saga_id: str | None = None,
    ) -> str | None:
        """Save the Order and — with an orchestrator — start its saga, in one transaction.

        Returns the saga id (None in choreography, where OrderCreated starts it all).
        """
        command = CreateOrder(consumer_id, restaurant_id, list(line_items), delivery_address)
        with self.store.unit_of_work() as uow:
            if self.orchestrator is None:
                self.orders.save(
                    command,
                    entity_id=order_id,
                    uow=uow,
                    metadata=EventMetadata(correlation_id=order_id),
                )
                return None
            saga_id = saga_id or self.orchestrator.id_factory()
            self.orders.save(
                command, entity_id=order_id, uow=uow, metadata=EventMetadata(correlation_id=saga_id)
            )
            created = uow.pending_events("Order", order_id)[0]
            assert isinstance(created, OrderCreated)
            data = CreateOrderSagaState.for_order(order_id, created)
            return self.orchestrator.start(data, saga_id=saga_id, uow=uow)

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {ApproveOrderCommand: self.approve, RejectOrderCommand: self.reject}

    def approve(self, command: ApproveOrderCommand, ctx: CommandContext) -> Reply:
        _update(self.orders, command.order_id, ApproveOrder(), ctx)
        return with_success()

    def reject(self, command: RejectOrderCommand, ctx: CommandContext) -> Reply:
        _update(self.orders, command.order_id, RejectOrder(command.reason), ctx)
        return with_success()

    # choreography: the order follows the card authorization and the consumer check
    def event_handlers(self) -> dict[type, EventHandler]:
        return {
            AccountAuthorized: self.on_authorized,
            ConsumerVerificationFailed: self.on_refused,
            AccountAuthorizationFailed: self.on_refused,
        }

    def on_authorized(self, event: AccountAuthorized, ctx: CommandContext) -> None:
        _update(self.orders, event.order_id, ApproveOrder(), ctx)

    def on_refused(
        self, event: ConsumerVerificationFailed | AccountAuthorizationFailed, ctx: CommandContext
    ) -> None:
        _update(self.orders, event.order_id, RejectOrder(event.reason), ctx)


class ConsumerService(SagaParticipant):
    """Registers consumers and validates their orders (saga step 2)."""

    service = CONSUMER_SERVICE
    event_sources = EVENT_SOURCES

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.consumers = AggregateRepository(store, Consumer)

    def register(
        self, consumer_id: str, name: str, order_limit: Money, *, suspended: str | None = None
    ) -> Consumer:
        consumer = self.consumers.save(RegisterConsumer(name, order_limit), entity_id=consumer_id)
        if suspended:
            consumer = self.consumers.update(consumer_id, SuspendConsumer(suspended))
        return consumer

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {ValidateOrderByConsumer: self.validate}

    def validate(self, command: ValidateOrderByConsumer, ctx: CommandContext) -> Reply:
        events = _update(self.consumers, command.consumer_id, command, ctx)
        return _reply(events, ConsumerVerificationFailed)

    def event_handlers(self) -> dict[type, EventHandler]:
        return {OrderCreated: self.on_order_created}

    def on_order_created(self, event: OrderCreated, ctx: CommandContext) -> None:
        order_id = ctx.message.headers["entity_id"]
        _update(
            self.consumers,
            event.consumer_id,
            ValidateOrderByConsumer(event.consumer_id, order_id, event.total),
            ctx,
        )


def ticket_id_for(order_id: str) -> str:
    """The Kitchen Service's ticket id for an order (one ticket per order)."""
    return f"ticket-{order_id}"


class KitchenService(SagaParticipant):
    """Creates, confirms and cancels tickets (saga steps 3 and 5, compensation of 3)."""

    service = KITCHEN_SERVICE
    event_sources = EVENT_SOURCES

    def __init__(self, store: EventStore, closed_restaurants: tuple[str, ...] = ()) -> None:
        super().__init__(store)
        self.tickets = AggregateRepository(store, Ticket)
        self.closed_restaurants = set(closed_restaurants)

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {
            CreateTicket: self.create_ticket,
            ConfirmCreateTicket: self.confirm,
            CancelCreateTicket: self.cancel,
        }

    def create_ticket(self, command: CreateTicket, ctx: CommandContext) -> Reply:
        if command.restaurant_id in self.closed_restaurants:
            return with_failure(f"restaurant {command.restaurant_id!r} is not accepting orders")
        ticket_id = ticket_id_for(command.order_id)
        self.tickets.save(command, entity_id=ticket_id, metadata=ctx.metadata, uow=ctx.uow)
        return with_success(CreateTicketReply(ticket_id))

    def confirm(self, command: ConfirmCreateTicket, ctx: CommandContext) -> Reply:
        _update(self.tickets, command.ticket_id, command, ctx)
        return with_success()

    def cancel(self, command: CancelCreateTicket, ctx: CommandContext) -> Reply:
        _update(self.tickets, command.ticket_id, command, ctx)
        return with_success()

    # choreography: create on OrderCreated, confirm or cancel on what Accounting/Consumer say
    def event_handlers(self) -> dict[type, EventHandler]:
        return {
            OrderCreated: self.on_order_created,
            AccountAuthorized: self.on_authorized,
            ConsumerVerificationFailed: self.on_refused,
            AccountAuthorizationFailed: self.on_refused,
        }

    def on_order_created(self, event: OrderCreated, ctx: CommandContext) -> None:
        order_id = ctx.message.headers["entity_id"]
        items = [TicketLineItem(i.menu_item_id, i.name, i.quantity) for i in event.line_items]
        self.tickets.save(
            CreateTicket(order_id, event.restaurant_id, items),
            entity_id=ticket_id_for(order_id),
            metadata=ctx.metadata,
            uow=ctx.uow,
        )

    def on_authorized(self, event: AccountAuthorized, ctx: CommandContext) -> None:
        ticket_id = self._existing_ticket(event.order_id)
        _update(self.tickets, ticket_id, ConfirmCreateTicket(ticket_id), ctx)

    def on_refused(
        self, event: ConsumerVerificationFailed | AccountAuthorizationFailed, ctx: CommandContext
    ) -> None:
        ticket_id = self._existing_ticket(event.order_id)
        _update(self.tickets, ticket_id, CancelCreateTicket(ticket_id, event.reason), ctx)

    def _existing_ticket(self, order_id: str) -> str:
        ticket_id = ticket_id_for(order_id)
        if not self.store.head("Ticket", ticket_id):
            raise NotReadyError(
                f"No ticket for order {order_id} yet: its OrderCreated event "
                "has not reached the kitchen. The broker will redeliver this."
            )
        return ticket_id


class AccountingService(SagaParticipant):
    """Opens card accounts and authorizes cards (saga step 4, the pivot)."""

    service = ACCOUNTING_SERVICE
    event_sources = EVENT_SOURCES

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.accounts = AggregateRepository(store, Account)

    def open_account(self, consumer_id: str, card_limit: Money) -> Account:
        return self.accounts.save(CreateAccount(consumer_id, card_limit), entity_id=consumer_id)

    def command_handlers(self) -> dict[type, CommandHandler]:
        return {AuthorizeCard: self.authorize}

    def authorize(self, command: AuthorizeCard, ctx: CommandContext) -> Reply:
        events = _update(self.accounts, command.consumer_id, command, ctx)
        return _reply(events, AccountAuthorizationFailed)

    def event_handlers(self) -> dict[type, EventHandler]:
        return {ConsumerVerified: self.on_consumer_verified}

    def on_consumer_verified(self, event: ConsumerVerified, ctx: CommandContext) -> None:
        consumer_id = ctx.message.headers["entity_id"]
        _update(
            self.accounts,
            consumer_id,
            AuthorizeCard(consumer_id, event.order_id, event.order_total),
            ctx,
        )


# == 3. FTGO, wired: four services, a relay and a broker ====================================

FAILURES = ("none", "validation", "ticket", "card authorization", "confirm ticket (crash)")
"""Where the stepper and tests make the CreateOrderSaga fail (see :meth:`FtgoSystem.scenario`)."""

MENU = {
    "vindaloo": LineItem("vindaloo", "Chicken Vindaloo", 2, Money(1250)),
    "naan": LineItem("naan", "Garlic Naan", 1, Money(350)),
}
HOME = Address("1 Main St", "Oakland", "94611")
ORDER_LIMIT, CARD_LIMIT = Money(20000), Money(10000)
"""A new consumer's defaults: €200 per order, €100 on the card."""


@dataclass(frozen=True)
class PlacedOrder:
    """An order placed in an :class:`FtgoSystem` (``saga_id`` is None in choreography)."""

    order_id: str
    saga_id: str | None


@dataclass(frozen=True)
class SagaOutcome:
    """The end state of an order across the services, and whether it is consistent."""

    order_state: str
    ticket_state: str
    authorized: bool
    saga_status: str

    @property
    def consistent(self) -> bool:
        """Approved + ticket confirmed + card authorized, or rejected + no ticket/authorization."""
        if self.order_state == "APPROVED":
            return self.ticket_state == "AWAITING_ACCEPTANCE" and self.authorized
        if self.order_state == "REJECTED":
            return self.ticket_state in ("none", "CANCELLED") and not self.authorized
        return False


class FtgoSystem:
    """The FTGO services on one store and one broker, for orchestration or choreography.

    ``step()`` publishes what is in the outbox and delivers one message; ``run()`` goes
    on until nothing is left. ``restart()`` is a crash of every service process: a new
    system on the same store and broker (the broker stands for Kafka, which survives).
    """

    def __init__(
        self,
        store: EventStore | None = None,
        broker: MessageBroker | None = None,
        *,
        mode: str = "orchestration",
        closed_restaurants: tuple[str, ...] = ("closed-diner",),
    ) -> None:
        if mode not in ("orchestration", "choreography"):
            raise BadInputError(f"mode is 'orchestration' or 'choreography', got {mode!r}.")
        self.store = store if store is not None else EventStore()
        self.broker = broker if broker is not None else MessageBroker()
        self.mode, self.closed_restaurants = mode, tuple(closed_restaurants)
        self.orchestrator = (
            SagaOrchestrator(self.store, self.broker, CreateOrderSaga)
            if mode == "orchestration"
            else None
        )
        self.order_service = OrderService(self.store, self.orchestrator)
        self.consumer_service = ConsumerService(self.store)
        self.kitchen_service = KitchenService(self.store, self.closed_restaurants)
        self.accounting_service = AccountingService(self.store)
        # The orchestrator stays this system's own (a crash replaces it), so the runner
        # only wires the services, the relay and the broker.
        self.runner = SagaRunner(
            self.store, self.services, broker=self.broker, owners=OWNERS, mode=mode
        )
        self.relay: SagaMessageRelay = self.runner.relays[0]
        self.orders: list[PlacedOrder] = []

    @property
    def services(self) -> list[SagaParticipant]:
        return [
            self.order_service,
            self.consumer_service,
            self.kitchen_service,
            self.accounting_service,
        ]

    @property
    def lanes(self) -> list[str]:
        """Swimlane order: the orchestrator (if any), then the four services."""
        return ([CreateOrderSaga.saga_type()] if self.orchestrator else []) + list(SERVICES)

    def relevant(self, delivery: Delivery, message: Message) -> bool:
        """False for events a service received but has no handler for (not worth drawing)."""
        return self.runner.relevant(delivery, message)

    def restart(self) -> FtgoSystem:
        """Kill every service (and the orchestrator) and start them again on the same store."""
        return FtgoSystem(
            self.store, self.broker, mode=self.mode, closed_restaurants=self.closed_restaurants
        )

    def crash_orchestrator(self) -> None:
        """The orchestrator's process dies: its object is dropped, its replies go unanswered.

        Until a new :class:`SagaOrchestrator` joins the reply channel, each reply delivery
        fails (the broker retries it, and dead-letters it after ``max_attempts``).
        """
        if self.orchestrator is None:
            raise BadInputError("There is no orchestrator to crash (choreography, or crashed).")
        saga_type = self.orchestrator.saga_type
        self.orchestrator = self.order_service.orchestrator = None
        self.broker.subscribe(reply_channel(saga_type), saga_type, _orchestrator_down, replace=True)

    # -- set-up and orders ----------------------------------------------------------------

    def add_consumer(
        self,
        consumer_id: str,
        name: str,
        *,
        order_limit: Money = ORDER_LIMIT,
        card_limit: Money = CARD_LIMIT,
        suspended: str | None = None,
    ) -> None:
        """Register a consumer (Consumer Service) and open their card account (Accounting)."""
        self.consumer_service.register(consumer_id, name, order_limit, suspended=suspended)
        self.accounting_service.open_account(consumer_id, card_limit)

    def add_demo_consumers(self) -> None:
        """alice (fine), bob (order limit €10) and carol (card limit €20)."""
        self.add_consumer("alice", "Alice")
        self.add_consumer("bob", "Bob", order_limit=Money(1000))
        self.add_consumer("carol", "Carol", card_limit=Money(2000))

    def create_order(
        self,
        consumer_id: str,
        restaurant_id: str = "ajanta",
        line_items: list[LineItem] | None = None,
        delivery_address: Address = HOME,
    ) -> PlacedOrder:
        """Place an order: the Order (and in orchestration its saga) in one transaction."""
        items = list(line_items) if line_items is not None else [MENU["vindaloo"]]
        n = (
            len(self.store.sql("SELECT DISTINCT entity_id FROM events WHERE entity_type = 'Order'"))
            + 1
        )
        order_id = f"order-{n}"
        saga_id = f"saga-{n}" if self.orchestrator is not None else None
        saga_id = self.order_service.create_order(
            order_id, consumer_id, restaurant_id, items, delivery_address, saga_id=saga_id
        )
        placed = PlacedOrder(order_id, saga_id)
        self.orders.append(placed)
        return placed

    def scenario(self, failure: str = "none") -> PlacedOrder:
        """Demo consumers (if missing) and an order that fails where ``failure`` says.

        ``failure`` is one of :data:`FAILURES`: the consumer check refuses bob, the kitchen
        refuses the closed restaurant, carol's card limit is too low, or the kitchen
        crashes once while confirming (after the pivot: retried, never compensated).
        """
        if failure not in FAILURES:
            raise BadInputError(f"failure must be one of {FAILURES}, got {failure!r}.")
        if failure == "ticket" and self.orchestrator is None:
            raise BadInputError(
                "The choreography here has no kitchen refusal; choose "
                "'validation' or 'card authorization'."
            )
        if not self.store.head("Consumer", "alice"):
            self.add_demo_consumers()
        if failure == "confirm ticket (crash)":
            self.kitchen_service.crash_next(
                ConfirmCreateTicket if self.orchestrator else AccountAuthorized
            )
        consumer = {"validation": "bob", "card authorization": "carol"}.get(failure, "alice")
        restaurant = "closed-diner" if failure == "ticket" else "ajanta"
        return self.create_order(consumer, restaurant)

    # -- running ---------------------------------------------------------------------------

    def step(self) -> Delivery | None:
        """Publish the outbox, deliver one message, publish again; None when all is done."""
        return self.runner.step()

    @property
    def finished(self) -> bool:
        """Nothing left to publish and nothing left to deliver."""
        return self.runner.quiet

    def run(self, max_steps: int = 10_000) -> list[Delivery]:
        """Step until no message is left; return the deliveries (see SagaRunner.run)."""
        return self.runner.run(max_steps)

    # -- looking at it -------------------------------------------------------------------------

    def states(self, placed: PlacedOrder) -> dict[str, Any]:
        """Every aggregate the order touched (None where it does not exist)."""
        order = _find(self.order_service.orders, placed.order_id)
        consumer_id = order.consumer_id if order else None
        saga_type = CreateOrderSaga.saga_type()
        saga = SagaInstance.load(self.store, saga_type, placed.saga_id) if placed.saga_id else None
        return {
            "Order": order,
            "Consumer": _find(self.consumer_service.consumers, consumer_id),
            "Ticket": _find(self.kitchen_service.tickets, ticket_id_for(placed.order_id)),
            "Account": _find(self.accounting_service.accounts, consumer_id),
            "Saga": saga,
        }

    def outcome(self, placed: PlacedOrder) -> SagaOutcome:
        """Where the order ended up in every service."""
        s = self.states(placed)
        order, ticket, account, saga = s["Order"], s["Ticket"], s["Account"], s["Saga"]
        return SagaOutcome(
            order_state=order.state.value if order and order.state else "none",
            ticket_state=ticket.state.value if ticket and ticket.state else "none",
            authorized=bool(account and placed.order_id in account.authorizations),
            saga_status=saga.status.value if saga and saga.status else "none",
        )


def _orchestrator_down(message: Message) -> None:
    raise ServiceDownError(
        f"No orchestrator is running to handle reply {message.id}: start a new "
        "SagaOrchestrator(store, broker, CreateOrderSaga); it takes over the reply channel."
    )


# == 4. Correlation: one conversation across streams =========================================


def correlated_events(store: EventStore, correlation_id: str) -> pd.DataFrame:
    """Every event whose metadata has ``correlation_id`` (all streams of one saga).

    Columns: position, stream, entity_type, entity_id, entity_version, event_type,
    created_at, causation_id, compensation (True for compensating steps and their effects).
    """
    frame = store.sql(
        "SELECT position, entity_type, entity_id, entity_version, event_type, created_at, "
        "json_extract_string(metadata, '$.causation_id') AS causation_id, event_data "
        "FROM events WHERE json_extract_string(metadata, '$.correlation_id') = $c "
        "ORDER BY position",
        {"c": correlation_id},
    )
    frame.insert(1, "stream", frame["entity_type"] + " " + frame["entity_id"])
    frame["compensation"] = [
        _is_compensation(t, d)
        for t, d in zip(frame["event_type"], frame["event_data"], strict=True)
    ]
    return frame.drop(columns=["event_data"])


_COMPENSATION_EVENTS = {
    "CompensationStarted",
    "TicketCancelled",
    "OrderRejected",
    "AccountAuthorizationReversed",
}


def _is_compensation(event_type: str, event_data: str) -> bool:
    if event_type == "StepCommandSent":
        return bool(json.loads(event_data).get("compensating"))
    return event_type in _COMPENSATION_EVENTS


def compensation_marks(frame: pd.DataFrame) -> dict[int, str]:
    """``{position: "compensation"}`` for :func:`eslab.viz.timeline` from correlated_events."""
    return {int(p): "compensation" for p in frame.loc[frame["compensation"], "position"]}
