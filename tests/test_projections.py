"""Projections (CQRS read models): catch-up, resume, redelivery, rebuild, the two queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from matplotlib.figure import Figure

from eslab import AggregateRepository, EventStore, FixedClock, SeededIds
from eslab.datasets import generate_orders_in_sql
from eslab.domain.bank import BankAccount, Deposit, OpenAccount
from eslab.domain.order import (
    Address,
    ApproveOrder,
    CancelOrder,
    ConfirmRevision,
    CreateOrder,
    LineItem,
    Money,
    Order,
    OrderCancelled,
    OrderCreated,
    ReviseOrder,
)
from eslab.errors import BadInputError
from eslab.events import StoredEvent
from eslab.lessons.nb09_queries_and_projections import (
    BATCH_TABLE,
    OrderHistory,
    build_order_history_in_sql,
    orders_from_events,
    orders_from_read_model,
    projection_picture,
)
from eslab.projections import (
    VERSIONS_TABLE,
    Change,
    Delete,
    Projection,
    ProjectionError,
    Projector,
    Update,
    Upsert,
    statements,
)
from tests.conftest import StoreFactory

DAY = date(2024, 3, 8)


def new_store(path: Path | None = None) -> EventStore:
    return EventStore(
        path,
        clock=FixedClock(datetime(2024, 3, 8, 9, 0), timedelta(minutes=5)),
        id_factory=SeededIds(1),
    )


def place_orders(store: EventStore) -> None:
    """A few real orders through the aggregate, covering every state change."""
    repo = AggregateRepository(store, Order)
    address = Address("1 Main St", "Springfield", "12345")
    for i, quantity in enumerate([1, 4, 2, 5, 3, 6]):
        items = [LineItem("dosa", "Dosa", quantity, Money(950))]
        repo.save(CreateOrder("consumer-7", "rest-1", items, address), entity_id=f"o-{i}")
    for order_id in ("o-1", "o-2", "o-3", "o-4"):
        repo.update(order_id, ApproveOrder())
    repo.update("o-2", CancelOrder())
    repo.update("o-3", ReviseOrder({"dosa": 1}))
    repo.update("o-3", ConfirmRevision())
    repo.update("o-4", ReviseOrder({"dosa": 2}))


@pytest.fixture
def store() -> EventStore:
    s = new_store()
    generate_orders_in_sql(s, 300, seed=3, start=datetime(2024, 3, 5), days=3, consumers=12)
    place_orders(s)
    return s


def read_model(projector: Projector) -> pd.DataFrame:
    return projector.read_model(order_by="order_id").reset_index(drop=True)


# -- catch-up and rebuild --------------------------------------------------------------------


def test_catch_up_in_small_batches_equals_a_fresh_rebuild(store: EventStore) -> None:
    projector = Projector(store, OrderHistory(), batch_size=7)
    run = projector.catch_up()
    assert run.to_position == store.last_position() == projector.position
    assert run.batches > 10 and projector.behind() == 0
    caught_up = read_model(projector)
    rebuild = Projector(store, OrderHistory(), batch_size=1000).rebuild()
    assert rebuild.rebuilt and rebuild.events == run.events
    pd.testing.assert_frame_equal(caught_up, read_model(projector))
    assert len(caught_up) == 306


def test_the_read_model_agrees_with_replaying_every_order(store: EventStore) -> None:
    projector = Projector(store, OrderHistory())
    projector.catch_up()
    repo = AggregateRepository(store, Order)
    for row in read_model(projector).itertuples():
        order = repo.find(row.order_id)
        assert (row.state, row.total_cents, row.consumer_id, row.order_version) == (
            order.state.value,
            order.total.cents,
            order.consumer_id,
            order.version,
        )
    states = dict(read_model(projector).set_index("order_id")["state"])
    assert states["o-2"] == "CANCELLED" and states["o-3"] == "APPROVED"
    assert states["o-4"] == "REVISION_PENDING" and states["o-0"] == "APPROVAL_PENDING"


def test_new_events_are_picked_up_and_the_lag_is_visible(store: EventStore) -> None:
    projector = Projector(store, OrderHistory())
    projector.catch_up()
    AggregateRepository(store, Order).update("o-0", ApproveOrder())
    assert projector.behind() == 1
    run = projector.catch_up()
    assert (run.events, projector.behind()) == (1, 0)
    assert read_model(projector).set_index("order_id").loc["o-0", "state"] == "APPROVED"
    assert projector.catch_up().events == 0


def test_max_events_stops_part_way_and_progress_is_reported(store: EventStore) -> None:
    projector = Projector(store, OrderHistory(), batch_size=50)
    seen: list[tuple[int, int]] = []
    run = projector.catch_up(max_events=120, on_progress=lambda d, t: seen.append((d, t)))
    assert run.events == 120 and projector.behind() > 0
    assert seen[0] == (0, 120) and seen[-1] == (120, 120)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- resume after a restart, redelivery ----------------------------------------------------


class CountingHistory(OrderHistory):
    """OrderHistory that remembers every position it handled (in this process)."""

    handled: ClassVar[list[int]] = []

    def handle(self, stored: StoredEvent) -> list[Change]:
        CountingHistory.handled.append(stored.position)
        return super().handle(stored)


def test_resume_after_restart_skips_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    path = tmp_path / "orders.duckdb"
    first = new_store(path)
    generate_orders_in_sql(first, 200, seed=5, consumers=9)
    place_orders(first)
    CountingHistory.handled = []
    Projector(first, CountingHistory(), batch_size=40).catch_up(max_events=150)
    stopped_at = Projector(first, CountingHistory()).position
    first.close()

    second = new_store(path)  # a new process: only the database remembers
    projector = Projector(second, CountingHistory(), batch_size=40)
    assert projector.rebuild_reason is None and projector.position == stopped_at
    projector.catch_up()
    handled = CountingHistory.handled
    wanted = list(second.sql("SELECT position FROM events ORDER BY position")["position"])
    assert handled == wanted  # every event exactly once, in order, across the restart
    resumed = read_model(projector)
    projector.rebuild()
    pd.testing.assert_frame_equal(resumed, read_model(projector))
    second.close()


def test_redelivered_events_are_skipped(store: EventStore) -> None:
    projector = Projector(store, OrderHistory())
    projector.catch_up()
    before = read_model(projector)
    run = projector.deliver(store.read_all(store.last_position() - 5))
    assert (run.skipped, run.events, run.changes) == (5, 0, 0)
    pd.testing.assert_frame_equal(before, read_model(projector))


def test_deliver_applies_new_events_and_skips_old_ones_in_one_batch(store: EventStore) -> None:
    projector = Projector(store, OrderHistory())
    projector.catch_up()
    checkpoint = projector.position
    AggregateRepository(store, Order).update("o-5", ApproveOrder())
    run = projector.deliver(store.read_all(checkpoint - 2))
    assert (run.skipped, run.events, run.to_position) == (2, 1, checkpoint + 1)
    assert read_model(projector).set_index("order_id").loc["o-5", "state"] == "APPROVED"


def test_events_of_other_types_are_passed_over_without_decoding(store: EventStore) -> None:
    projector = Projector(store, OrderHistory())
    projector.catch_up()
    bank = AggregateRepository(store, BankAccount)
    bank.save(OpenAccount("ann", 10), entity_id="acc-1")
    bank.update("acc-1", Deposit(5))
    assert projector.behind() == 0  # nothing it handles
    run = projector.catch_up()
    assert run.events == 0 and projector.position == store.last_position()


# -- rebuild when the code changes -----------------------------------------------------------


class OrderHistoryV2(OrderHistory):
    """Version 2 adds nothing but a new table name — enough to see a rebuild."""

    version = 2
    tables = {"order_history_v2": OrderHistory.tables["order_history"]}

    def handle(self, stored: StoredEvent) -> list[Change]:
        return [
            Upsert("order_history_v2", c.key, c.values)
            for c in super().handle(stored)
            if isinstance(c, Upsert)
        ]


def test_a_new_code_version_drops_the_old_tables_and_rebuilds(store: EventStore) -> None:
    Projector(store, OrderHistory()).catch_up()
    projector = Projector(store, OrderHistoryV2())
    assert projector.rebuild_reason is not None and "version 2" in projector.rebuild_reason
    assert projector.position == 0
    tables = set(store.sql("SELECT table_name FROM information_schema.tables")["table_name"])
    assert "order_history" not in tables and "order_history_v2" in tables
    projector.catch_up()
    assert len(projector.read_model()) == 306
    row = store.sql(f"SELECT version FROM {VERSIONS_TABLE} WHERE name = 'order_history'")
    assert row["version"].tolist() == [2]
    assert Projector(store, OrderHistoryV2()).rebuild_reason is None


# -- failures keep the read model and the checkpoint together --------------------------------


class Exploding(OrderHistory):
    """Fails on one order's cancellation."""

    bomb: ClassVar[str | None] = "o-2"

    def on_cancelled(self, event: OrderCancelled, stored: StoredEvent) -> list[Change]:
        if stored.entity_id == Exploding.bomb:
            raise RuntimeError("boom")
        return super().on_cancelled(event, stored)


def test_a_failing_handler_keeps_neither_the_batch_nor_the_checkpoint(store: EventStore) -> None:
    projector = Projector(store, Exploding(), batch_size=25)
    Exploding.bomb = "o-2"
    with pytest.raises(ProjectionError, match="position .* Nothing of this batch"):
        projector.catch_up()
    failed_at = store.sql(
        "SELECT position FROM events WHERE entity_id = 'o-2' AND event_type = 'OrderCancelled'"
    )["position"][0]
    assert projector.position < failed_at
    newest = store.sql("SELECT max(order_version) AS v FROM order_history WHERE order_id = 'o-2'")[
        "v"
    ][0]
    assert pd.isna(newest) or newest < 3
    Exploding.bomb = None  # "fix the handler"
    projector.catch_up()
    fixed = read_model(projector)
    projector.rebuild()
    pd.testing.assert_frame_equal(fixed, read_model(projector))


class BadRow(Projection):
    """Writes a value its table refuses, so the COMMIT fails."""

    name = "bad_rows"
    tables = {"bad_rows": "order_id VARCHAR PRIMARY KEY, cents BIGINT CHECK (cents < 1000)"}

    def on_created(self, event: OrderCreated, stored: StoredEvent) -> list[Change]:
        return [Upsert("bad_rows", {"order_id": stored.entity_id}, {"cents": event.total.cents})]


def test_a_refused_write_leaves_the_checkpoint_where_it_was(store: EventStore) -> None:
    projector = Projector(store, BadRow(), batch_size=10_000)
    with pytest.raises(Exception, match="(?i)constraint"):
        projector.catch_up()
    assert projector.position == 0
    assert store.sql("SELECT count(*) AS n FROM bad_rows")["n"][0] == 0


# -- guard rails -----------------------------------------------------------------------------


def test_a_projection_may_not_own_a_store_table() -> None:
    class Evil(Projection):
        name = "evil"
        tables = {"events": "x INT"}

    with pytest.raises(ProjectionError, match="store's table 'events'"):
        Projector(new_store(), Evil())


@pytest.mark.parametrize("bad", ["Order History", "x; DROP TABLE events", "", "1abc"])
def test_names_must_be_plain_identifiers(bad: str) -> None:
    class Odd(Projection):
        name = "odd"
        tables = {bad: "x INT"}

    with pytest.raises(ProjectionError, match="not allowed"):
        Projector(new_store(), Odd())


def test_changes_must_target_the_projections_own_tables(store: EventStore) -> None:
    class Stray(OrderHistory):
        name = "stray"

        def on_created(self, event: OrderCreated, stored: StoredEvent) -> list[Change]:
            return [Delete("events", {"entity_id": stored.entity_id})]

    with pytest.raises(ProjectionError, match="not one of its tables"):
        Projector(store, Stray()).catch_up()
    assert store.last_position() > 600


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(BadInputError):
        Projector(new_store(), OrderHistory)  # type: ignore[arg-type]
    with pytest.raises(BadInputError):
        Projector(new_store(), OrderHistory(), batch_size=0)
    with pytest.raises(BadInputError):
        orders_from_events(new_store(), "consumer-1", 30.5, DAY)  # type: ignore[arg-type]
    with pytest.raises(ProjectionError, match="needs a `where`"):
        statements([Update("t", {}, {"a": 1})])


def test_statements_merge_upserts_and_keep_order_around_updates() -> None:
    changes: list[Change] = [
        Upsert("t", {"k": 1}, {"a": "x", "b": 1}),
        Upsert("t", {"k": 2}, {"a": "y", "b": 2}),
        Upsert("t", {"k": 1}, {"b": 9}),
        Update("t", {"k": 2}, {"a": "z"}),
        Upsert("t", {"k": 2}, {"b": 3}),
    ]
    sql = statements(changes)
    assert len(sql) == 3
    assert sql[0][1] == {"c0": [1, 2], "c1": ["x", "y"], "c2": [9, 2]}
    assert sql[1][0].startswith("UPDATE t SET a = $v0 WHERE k = $w0")
    assert "ON CONFLICT (k) DO UPDATE SET b = excluded.b" in sql[2][0]


# -- the question, both ways -----------------------------------------------------------------


@pytest.mark.parametrize("consumer", ["consumer-3", "consumer-7", "consumer-11"])
@pytest.mark.parametrize("day", [date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 8)])
def test_the_events_query_and_the_read_model_give_the_same_answer(
    store: EventStore, consumer: str, day: date
) -> None:
    Projector(store, OrderHistory()).catch_up()
    for min_cents in (0, 1900, 3000):
        by_events = orders_from_events(store, consumer, min_cents, day)
        by_model = orders_from_read_model(store, consumer, min_cents, day)
        pd.testing.assert_frame_equal(by_events, by_model)


def test_the_query_sees_revisions_and_today_orders(store: EventStore) -> None:
    Projector(store, OrderHistory()).catch_up()
    found = orders_from_read_model(store, "consumer-7", 3000, DAY)
    # o-3 was 47.50 € but was revised down to 9.50 €: only its newest total counts.
    assert set(found["order_id"]) == {"o-1", "o-5"}
    assert set(orders_from_events(store, "consumer-7", 3000, DAY)["order_id"]) == {"o-1", "o-5"}
    assert set(orders_from_events(store, "consumer-7", 900, DAY)["order_id"]) == {
        "o-0",
        "o-1",
        "o-2",
        "o-3",
        "o-4",
        "o-5",
    }


# -- the generated log -------------------------------------------------------------------------


def test_generated_orders_are_real_replayable_events_in_time_order() -> None:
    s = new_store()
    made = generate_orders_in_sql(s, 500, seed=1, start=datetime(2024, 3, 1), days=2)
    assert made.orders == 500 and made.events == s.last_position()
    assert 1000 < made.events < 1300
    assert (made.first_day, made.last_day) == (date(2024, 3, 1), date(2024, 3, 2))
    frame = s.sql("SELECT position, created_at FROM events ORDER BY position")
    assert frame["created_at"].is_monotonic_increasing
    placed = s.sql("SELECT max(created_at) AS t FROM events WHERE event_type = 'OrderCreated'")
    assert placed["t"][0] < datetime(2024, 3, 3)  # follow-ups may come minutes later
    kinds = set(s.sql("SELECT DISTINCT event_type FROM events")["event_type"])
    assert kinds == {
        "OrderCreated",
        "OrderAuthorized",
        "OrderRejected",
        "OrderCancelled",
        "OrderRevisionProposed",
        "OrderRevised",
    }
    repo = AggregateRepository(s, Order)
    revised = s.sql("SELECT entity_id FROM events WHERE event_type = 'OrderRevised' LIMIT 1")
    order = repo.find(revised["entity_id"][0])
    assert order.state.value == "APPROVED" and order.total.cents > 0


def test_generation_is_deterministic_and_refuses_a_taken_prefix() -> None:
    a, b = new_store(), new_store()
    generate_orders_in_sql(a, 50, seed=4)
    generate_orders_in_sql(b, 50, seed=4)
    query = "SELECT event_id, event_type, event_data, created_at FROM events ORDER BY position"
    pd.testing.assert_frame_equal(a.sql(query), b.sql(query))
    with pytest.raises(BadInputError, match="another prefix"):
        generate_orders_in_sql(a, 10)
    generate_orders_in_sql(a, 10, prefix="more-")
    with pytest.raises(BadInputError):
        generate_orders_in_sql(a, 0, prefix="none-")


def test_projection_picture_draws_the_checkpoint(store: EventStore) -> None:
    projector = Projector(store, OrderHistory())
    projector.catch_up(max_events=600)
    fig = projection_picture(projector)
    assert isinstance(fig, Figure)
    assert f"checkpoint {projector.position}" in [t.get_text() for t in fig.axes[0].texts]


def test_a_batch_built_read_model_gives_the_same_answers(store: EventStore) -> None:
    Projector(store, OrderHistory()).catch_up()
    assert build_order_history_in_sql(store) == 306
    for day in (date(2024, 3, 6), DAY):
        pd.testing.assert_frame_equal(
            orders_from_read_model(store, "consumer-7", 1000, day),
            orders_from_read_model(store, "consumer-7", 1000, day, table=BATCH_TABLE),
        )
    with pytest.raises(BadInputError):
        orders_from_read_model(store, "consumer-7", 1000, DAY, table="events")


def test_raw_sql_misses_old_schema_orders_that_the_projection_upcasts() -> None:
    from eslab import datasets

    s = new_store()
    made = datasets.generate_orders(s, 60, seed=3, schema_versions=(1, 2, 3), id_prefix="old")
    assert made > 60
    projector = Projector(s, OrderHistory())
    projector.catch_up()
    assert len(projector.read_model()) == 60  # upcast on load: every order is there
    raw = s.sql(
        "SELECT count(*) AS n FROM events WHERE event_type = 'OrderCreated' "
        "AND event_data->>'$.consumer_id' IS NOT NULL"
    )["n"][0]
    assert raw < 60  # v1/v2 rows spell it consumerId: the SQL does not see them


def test_a_projector_builds_the_same_read_model_on_each_engine(
    store_factory: StoreFactory,
) -> None:
    """Projector, its upserts (INSERT OR REPLACE / ON CONFLICT) and checkpoint on both engines."""
    store = store_factory(
        clock=FixedClock(datetime(2024, 3, 8, 9, 0), timedelta(minutes=5)),
        id_factory=SeededIds(1),
    )
    place_orders(store)
    projector = Projector(store, OrderHistory(), batch_size=4)
    run = projector.catch_up()
    assert run.batches > 1 and projector.position == store.last_position()
    states = dict(read_model(projector).set_index("order_id")["state"])
    assert states == {
        "o-0": "APPROVAL_PENDING",
        "o-1": "APPROVED",
        "o-2": "CANCELLED",
        "o-3": "APPROVED",
        "o-4": "REVISION_PENDING",
        "o-5": "APPROVAL_PENDING",
    }
    assert Projector(store, OrderHistory()).rebuild().events == run.events
