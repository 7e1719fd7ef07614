"""SagaRunner on a tiny non-FTGO saga: pick an item (compensation: restock), book a courier."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eslab import Aggregate, AggregateRepository, EventStore, FixedClock, SeededIds, reject
from eslab.errors import BadInputError, EslabError
from eslab.events import Event
from eslab.messaging import Message, MessageBroker
from eslab.sagas import (
    CommandContext,
    Reply,
    Saga,
    SagaNotQuietError,
    SagaOrchestrator,
    SagaParticipant,
    SagaRunner,
    SagaStatus,
    step,
    with_success,
)
from eslab.viz import swimlane

# -- a tiny domain: a shelf of items and a courier ------------------------------------------


@dataclass(frozen=True)
class StockShelf:
    item: str
    count: int


@dataclass(frozen=True)
class PickItem:
    shelf_id: str
    item: str


@dataclass(frozen=True)
class RestockItem:
    shelf_id: str
    item: str


@dataclass(frozen=True)
class BookCourier:
    courier_id: str
    city: str


@dataclass(frozen=True)
class ShelfStocked(Event):
    item: str
    count: int


@dataclass(frozen=True)
class ItemPicked(Event):
    item: str


@dataclass(frozen=True)
class ItemRestocked(Event):
    item: str


@dataclass(frozen=True)
class CourierBooked(Event):
    city: str


@dataclass
class Shelf(Aggregate):
    count: int = 0

    def process_stock(self, command: StockShelf) -> list[Event]:
        return [ShelfStocked(command.item, command.count)]

    def process_pick(self, command: PickItem) -> list[Event]:
        if self.count == 0:
            raise reject("the shelf is empty")
        return [ItemPicked(command.item)]

    def process_restock(self, command: RestockItem) -> list[Event]:
        return [ItemRestocked(command.item)]

    def apply_stocked(self, event: ShelfStocked) -> None:
        self.count = event.count

    def apply_picked(self, event: ItemPicked) -> None:
        self.count -= 1

    def apply_restocked(self, event: ItemRestocked) -> None:
        self.count += 1


@dataclass
class Courier(Aggregate):
    trips: int = 0

    def process_book(self, command: BookCourier) -> list[Event]:
        if command.city != "Lyon":
            raise reject(f"no courier goes to {command.city}")
        return [CourierBooked(command.city)]

    def apply_booked(self, event: CourierBooked) -> None:
        self.trips += 1


@dataclass
class Shipment:
    shelf_id: str
    item: str
    city: str

    def make_pick_command(self) -> PickItem:
        return PickItem(self.shelf_id, self.item)

    def make_restock_command(self) -> RestockItem:
        return RestockItem(self.shelf_id, self.item)

    def make_book_courier_command(self) -> BookCourier:
        return BookCourier("courier-1", self.city)


class ShipmentSaga(Saga):
    data_class = Shipment
    definition = (
        step()
        .invoke_participant("Warehouse", Shipment.make_pick_command)
        .with_compensation("Warehouse", Shipment.make_restock_command)
        .step()
        .invoke_participant("Couriers", Shipment.make_book_courier_command)
        .build()
    )


class Warehouse(SagaParticipant):
    service = "Warehouse"

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.shelves = AggregateRepository(store, Shelf)

    def command_handlers(self) -> dict[type, object]:
        return {PickItem: self.handle, RestockItem: self.handle}

    def handle(self, command: PickItem | RestockItem, ctx: CommandContext) -> Reply:
        self.shelves.update(command.shelf_id, command, uow=ctx.uow, metadata=ctx.metadata)
        return with_success()


class Couriers(SagaParticipant):
    service = "Couriers"

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.couriers = AggregateRepository(store, Courier)

    def command_handlers(self) -> dict[type, object]:
        return {BookCourier: self.book}

    def book(self, command: BookCourier, ctx: CommandContext) -> Reply:
        self.couriers.update(command.courier_id, command, uow=ctx.uow, metadata=ctx.metadata)
        return with_success()


def make_runner(seed: int = 1, **broker_options: float) -> tuple[SagaRunner, Warehouse]:
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(seed))
    warehouse, couriers = Warehouse(store), Couriers(store)
    warehouse.shelves.save(StockShelf("lamp", 1), entity_id="shelf-1")
    couriers.couriers.save(BookCourier("courier-1", "Lyon"), entity_id="courier-1")
    runner = SagaRunner(
        store,
        [warehouse, couriers],
        sagas=[ShipmentSaga],
        broker=MessageBroker(seed=seed, **broker_options),
        owners={"Shelf": "Warehouse", "Courier": "Couriers"},
    )
    return runner, warehouse


def saga_events(runner: SagaRunner, saga_id: str) -> list[str]:
    return [e.event_type for e in runner.store.load("ShipmentSaga", saga_id)]


# -- running until quiet -----------------------------------------------------------------------


def test_a_saga_that_succeeds_runs_until_quiet() -> None:
    runner, warehouse = make_runner()
    saga_id = runner.start(ShipmentSaga, Shipment("shelf-1", "lamp", "Lyon"))
    assert not runner.quiet  # the first command waits in the outbox
    deliveries = runner.run()
    assert runner.quiet
    assert [d.group for d in deliveries] == [
        "Warehouse",
        "ShipmentSaga",
        "Couriers",
        "ShipmentSaga",
    ]
    assert runner.instance(ShipmentSaga, saga_id).status is SagaStatus.COMPLETED
    assert warehouse.shelves.find("shelf-1").count == 0
    assert runner.run() == []  # quiet stays quiet


def test_a_refusal_runs_the_compensation_backwards() -> None:
    runner, warehouse = make_runner()
    saga_id = runner.start(ShipmentSaga, Shipment("shelf-1", "lamp", "Paris"))
    runner.run()
    assert saga_events(runner, saga_id) == [
        "SagaStarted", "StepCommandSent", "ReplyReceived",  # pick: done
        "StepCommandSent", "ReplyReceived", "CompensationStarted",  # courier: refused
        "StepCommandSent", "ReplyReceived", "SagaFailed",  # restock, then failed
    ]  # fmt: skip
    assert warehouse.shelves.find("shelf-1").count == 1  # the item is back on the shelf
    assert "no courier goes to Paris" in runner.instance(ShipmentSaga, saga_id).failure_reason


def test_duplicates_and_crashes_give_the_same_end_state() -> None:
    runner, warehouse = make_runner(seed=5, duplicate_rate=0.4, crash_rate=0.2)
    saga_id = runner.start(ShipmentSaga, Shipment("shelf-1", "lamp", "Paris"))
    deliveries = runner.run()
    assert runner.quiet and not runner.dead_letters
    assert any(d.outcome == "skipped" for d in deliveries)  # redeliveries were recognised
    assert saga_events(runner, saga_id)[-1] == "SagaFailed"
    assert warehouse.shelves.find("shelf-1").count == 1
    picked = runner.store.sql("SELECT count(*) AS n FROM events WHERE event_type = 'ItemPicked'")
    assert int(picked["n"][0]) == 1  # once, however often the command came


def test_step_delivers_one_message_at_a_time() -> None:
    runner, _ = make_runner()
    runner.start(ShipmentSaga, Shipment("shelf-1", "lamp", "Lyon"))
    first = runner.step()
    assert first is not None and first.group == "Warehouse" and first.outcome == "acked"
    assert not runner.quiet  # the reply is now in the outbox (published by the step)
    assert runner.broker.pending() == 1


def test_a_runner_that_never_gets_quiet_raises_an_eslab_error() -> None:
    runner, _ = make_runner()

    def echo(message: Message) -> None:  # publishes to the topic it consumes: forever
        runner.broker.publish("echo", {"again": True})

    runner.broker.subscribe("echo", "echoer", echo)
    runner.broker.publish("echo", {"again": True})
    with pytest.raises(SagaNotQuietError, match=r"after 20 deliveries.*echo → echoer"):
        runner.run(max_steps=20)
    assert issubclass(SagaNotQuietError, EslabError)


def test_the_runner_is_a_swimlane_source_with_its_lanes() -> None:
    runner, _ = make_runner()
    runner.start(ShipmentSaga, Shipment("shelf-1", "lamp", "Lyon"))
    runner.run()
    assert runner.lanes == ["ShipmentSaga", "Warehouse", "Couriers"]
    fig = swimlane(runner)
    assert "4 deliveries" in fig.axes[0].get_title()


def test_choreography_participants_listen_for_events() -> None:
    store = EventStore(clock=FixedClock(), id_factory=SeededIds(2))
    seen: list[str] = []

    class Packer(SagaParticipant):
        service = "Packer"
        event_sources = {ShelfStocked: "Shelf"}

        def event_handlers(self) -> dict[type, object]:
            return {ShelfStocked: lambda event, ctx: seen.append(event.item)}

    runner = SagaRunner(store, [Packer(store)], mode="choreography")
    AggregateRepository(store, Shelf).save(StockShelf("desk", 2), entity_id="shelf-2")
    runner.run()
    assert seen == ["desk"] and runner.quiet


# -- refused set-ups ------------------------------------------------------------------------------


def test_wrong_set_ups_are_refused_with_eslab_errors() -> None:
    store = EventStore()
    with pytest.raises(BadInputError, match="not a SagaParticipant"):
        SagaRunner(store, [object()])  # type: ignore[list-item]
    with pytest.raises(BadInputError, match="orchestration' or 'choreography"):
        SagaRunner(store, mode="dance")
    with pytest.raises(BadInputError, match="no orchestrator"):
        SagaRunner(store, sagas=[ShipmentSaga], mode="choreography")
    with pytest.raises(BadInputError, match="max_steps"):
        SagaRunner(store, max_steps=0)
    with pytest.raises(BadInputError, match="store must be"):
        SagaRunner("store.duckdb")  # type: ignore[arg-type]
    runner = SagaRunner(store)
    with pytest.raises(BadInputError, match="no orchestrator for 'ShipmentSaga'"):
        runner.start(ShipmentSaga, Shipment("s", "i", "Lyon"))


def test_a_ready_orchestrator_can_be_handed_in_and_a_new_runner_resumes_the_saga() -> None:
    runner, warehouse = make_runner()
    saga_id = runner.start(ShipmentSaga, Shipment("shelf-1", "lamp", "Paris"))
    for _ in range(3):  # pick, its reply, the courier command: the saga waits for a reply
        runner.step()
    assert not runner.quiet
    # every process restarts: new participants and a new orchestrator, same store and broker
    fresh = SagaOrchestrator(runner.store, None, ShipmentSaga)
    restarted = SagaRunner(
        runner.store,
        [Warehouse(runner.store), Couriers(runner.store)],
        sagas=[fresh],
        broker=runner.broker,
    )
    assert restarted.orchestrator("ShipmentSaga") is fresh
    restarted.run()
    assert fresh.replayed == [saga_id]  # rebuilt from its stream
    assert saga_events(restarted, saga_id)[-1] == "SagaFailed"
    assert warehouse.shelves.find("shelf-1").count == 1
