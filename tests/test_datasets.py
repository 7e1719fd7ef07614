"""The data/ files (old schemas, reproducible byte for byte, every event loads) and the
generated sets (deterministic, bulk inserted, loadable)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest

from eslab import (
    AggregateRepository,
    BadInputError,
    EventStore,
    StreamExistsError,
    datasets,
    events,
)
from eslab.domain.bank import BankAccount
from eslab.domain.order import Order, OrderCreated, OrderState, order_total

DATA = datasets.data_dir()
ALL_ROWS = [(name, row) for name in datasets.DATA_FILES for row in datasets.read_rows(name)]


def _generator() -> dict[str, Any]:
    """The namespace of data/generate.py (run as a module, not as a script)."""
    return runpy.run_path(str(DATA / "generate.py"), run_name="data_generate")


# -- the committed files ---------------------------------------------------------------------


def test_generate_py_reproduces_the_files_byte_for_byte() -> None:
    generator = _generator()
    for era in generator["ERAS"]:
        assert (DATA / era.file).read_bytes() == generator["render"](era), era.file
    assert generator["main"](["--check"]) == 0


def test_committed_data_stays_small() -> None:
    sizes = {p.name: p.stat().st_size for p in DATA.iterdir() if p.is_file()}
    assert sum(sizes.values()) < 1_000_000, sizes
    assert {"README.md", "generate.py", "catalog.json"} <= set(sizes)


def test_files_hold_old_schemas_only() -> None:
    created = {}
    for name, row in ALL_ROWS:
        if row["event_type"] == "OrderCreated":
            created.setdefault(name, set()).add(row["schema_version"])
    assert created == {"ftgo_orders_v1": {1}, "ftgo_orders_mixed": {1, 2}}
    assert {
        row["schema_version"] for _, row in ALL_ROWS if row["event_type"] != "OrderCreated"
    } == {1}


def _check_upcasts(row: dict) -> None:
    event = events.deserialize(
        row["event_type"], row["schema_version"], json.dumps(row["event_data"])
    )
    cls = events.event_class(row["event_type"])
    assert type(event) is cls
    assert json.loads(events.serialize(event)).keys() == set(cls.__dataclass_fields__)
    if isinstance(event, OrderCreated):
        assert event.total == order_total(event.line_items)  # float noise rounded away
        assert event.total.currency == "USD" and event.total.cents > 0
        address = event.delivery_address
        assert address.street and address.city and address.postcode.isdigit()


def test_every_event_in_data_upcasts_to_the_current_schema() -> None:
    failures = []
    for name, row in ALL_ROWS:
        try:
            _check_upcasts(row)
        except Exception as exc:  # collect them all, then report
            failures.append(f"{name} {row['entity_id']} v{row['entity_version']}: {exc!r}")
    assert not failures, "\n".join(failures)
    assert len(ALL_ROWS) == 504


def test_load_keeps_rows_exactly_as_written() -> None:
    store = EventStore()
    assert datasets.load(store) == len(ALL_ROWS)
    stored = store.sql(
        "SELECT event_id, entity_id, entity_version, event_type, schema_version, "
        "created_at, event_data::VARCHAR AS event_data FROM events ORDER BY position"
    )
    assert stored.event_id.tolist() == [row["event_id"] for _, row in ALL_ROWS]  # file order
    first = ALL_ROWS[0][1]
    assert stored.created_at[0].isoformat() == first["created_at"]
    assert [json.loads(d) for d in stored.event_data] == [r["event_data"] for _, r in ALL_ROWS]
    assert stored.schema_version.tolist() == [r["schema_version"] for _, r in ALL_ROWS]


def test_every_order_in_data_loads_through_the_repository() -> None:
    store = datasets.ftgo_store()
    repo = AggregateRepository(store, Order)
    ids = sorted({row["entity_id"] for _, row in ALL_ROWS})
    assert len(ids) == 240
    states = {repo.find(i).state for i in ids}
    assert states == {OrderState.APPROVED, OrderState.REJECTED, OrderState.CANCELLED}


def test_unknown_dataset_is_a_clear_error() -> None:
    with pytest.raises(BadInputError, match="No dataset 'nope'.*generate.py"):
        datasets.read_rows("nope")


def test_loading_twice_is_refused_and_writes_nothing() -> None:
    store = datasets.ftgo_store("ftgo_orders_v1")
    with pytest.raises(Exception, match="duplicate"):
        datasets.load(store, "ftgo_orders_v1")
    assert store.last_position() == 251


# -- long streams ---------------------------------------------------------------------------


def _expected_balance(n: int) -> int:
    return 100 + sum(-5 if k % 3 == 0 else 10 + k % 7 for k in range(2, n + 1))


def test_long_stream_builds_a_gap_free_stream_that_replays() -> None:
    store = EventStore()
    seen: list[tuple[int, int]] = []
    assert (
        datasets.long_stream(
            store, "acc", 2_500, chunk=1_000, progress=lambda d, t: seen.append((d, t))
        )
        == 2_500
    )
    assert seen == [(1_000, 2_500), (2_000, 2_500), (2_500, 2_500)]
    versions = store.sql("SELECT entity_version FROM events ORDER BY position").entity_version
    assert versions.tolist() == list(range(1, 2_501))
    account = AggregateRepository(store, BankAccount).find("acc")
    assert account.balance == _expected_balance(2_500) and account.version == 2_500


def test_long_stream_is_deterministic() -> None:
    query = "SELECT event_id, event_type, event_data::VARCHAR, created_at FROM events"
    a, b = EventStore(), EventStore()
    datasets.long_stream(a, "acc", 300)
    datasets.long_stream(b, "acc", 300)
    assert a.sql(query).equals(b.sql(query))


def test_long_order_stream_replays_to_a_revised_order() -> None:
    store = EventStore()
    datasets.long_stream(store, "o", 1_001, entity_type="Order")
    order = AggregateRepository(store, Order).find("o")
    assert order.state is OrderState.REVISION_PENDING and order.version == 1_001
    assert order.total == order_total(order.line_items)
    assert store.sql(
        "SELECT DISTINCT schema_version FROM events WHERE event_type = 'OrderCreated'"
    ).schema_version.tolist() == [3]


def test_long_stream_refuses_an_existing_stream_and_bad_input() -> None:
    store = EventStore()
    datasets.long_stream(store, "acc", 3)
    with pytest.raises(StreamExistsError):
        datasets.long_stream(store, "acc", 3)
    with pytest.raises(BadInputError, match="n_events"):
        datasets.long_stream(store, "x", 0)
    with pytest.raises(BadInputError, match="BankAccount or Order"):
        datasets.long_stream(store, "x", 3, entity_type="Ticket")


# -- generated orders -----------------------------------------------------------------------


def test_generate_orders_is_deterministic_per_seed() -> None:
    query = (
        "SELECT event_id, entity_id, entity_version, event_type, schema_version, "
        "event_data::VARCHAR AS d, created_at FROM events ORDER BY position"
    )
    a, b, c = EventStore(), EventStore(), EventStore()
    for store, seed in ((a, 7), (b, 7), (c, 8)):
        datasets.generate_orders(store, 300, seed=seed, schema_versions=(1, 2, 3), chunk_orders=128)
    assert a.sql(query).equals(b.sql(query))
    assert not a.sql(query).d.equals(c.sql(query).d)


def test_generate_orders_counts_progress_and_loads() -> None:
    store = EventStore()
    seen: list[tuple[int, int]] = []
    plan = datasets.order_plan(1_000, seed=3, schema_versions=(1, 2, 3))
    written = datasets.generate_orders(
        store,
        1_000,
        seed=3,
        schema_versions=(1, 2, 3),
        chunk_orders=400,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert written == datasets.plan_event_count(plan) == store.last_position()
    assert [t for _, t in seen] == [written] * 3 and seen[-1][0] == written
    versions = store.sql(
        "SELECT DISTINCT schema_version AS v FROM events WHERE event_type = "
        "'OrderCreated' ORDER BY 1"
    ).v.tolist()
    assert versions == [1, 2, 3]
    repo = AggregateRepository(store, Order)
    kinds = store.sql(
        "SELECT entity_id, list(event_type ORDER BY entity_version) AS types FROM events GROUP BY 1"
    )
    for entity_id, types in zip(kinds.entity_id, kinds.types, strict=True):
        order = repo.find(entity_id)
        assert order.total == order_total(order.line_items)
        assert (
            order.state
            is {
                "OrderRejected": OrderState.REJECTED,
                "OrderAuthorized": OrderState.APPROVED,
                "OrderCancelled": OrderState.CANCELLED,
                "OrderRevised": OrderState.APPROVED,
            }[list(types)[-1]]
        )


def test_generate_orders_refuses_unknown_schema_versions() -> None:
    with pytest.raises(BadInputError, match="schema_versions"):
        datasets.generate_orders(EventStore(), 10, schema_versions=(4,))
    with pytest.raises(BadInputError, match="n_orders"):
        datasets.generate_orders(EventStore(), 0)


def test_data_dir_can_be_moved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ESLAB_DATA_DIR", str(tmp_path))
    with pytest.raises(BadInputError, match=str(tmp_path)):
        datasets.data_path("ftgo_orders_v1")
