"""Upcasting: the chain runs in order, a missing step names type and versions, stored rows
never change; the OrderCreated history v1 → v2 → v3; weak schema and copy-and-replace."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eslab import (
    AggregateRepository,
    EventStore,
    UpcastError,
    datasets,
    events,
    migration,
    upcasting,
)
from eslab.domain import order_upcasters
from eslab.domain.order import Address, LineItem, Money, Order, OrderCreated, OrderState
from eslab.events import Event
from eslab.upcasting import upcaster

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ParcelWeighed(Event):
    """A test event at schema v3: v1 had pounds, v2 grams as a float, v3 grams as int."""

    schema_version = 3
    parcel_id: str
    grams: int


CALLS: list[str] = []


@pytest.fixture(autouse=True)
def parcel_chain() -> Iterator[None]:
    """Register the ParcelWeighed chain (v2 step first, on purpose) for each test only."""
    with upcasting.preserved():
        CALLS.clear()

        @upcaster("ParcelWeighed", from_version=2)
        def grams_to_int(data: dict) -> dict:
            CALLS.append("v2→v3")
            return {"parcel_id": data["parcel_id"], "grams": round(data["grams"])}

        @upcaster("ParcelWeighed", from_version=1)
        def pounds_to_grams(data: dict) -> dict:
            CALLS.append("v1→v2")
            return {"parcel_id": data["id"], "grams": data["pounds"] * 453.59237}

        yield


def test_chain_runs_every_step_in_version_order() -> None:
    event = events.deserialize("ParcelWeighed", 1, '{"id": "p1", "pounds": 2}')
    assert event == ParcelWeighed("p1", 907)
    assert CALLS == ["v1→v2", "v2→v3"]  # registered v2 first, ran v1 first
    assert [str(s) for s in upcasting.steps("ParcelWeighed")] == [
        "ParcelWeighed v1 → ParcelWeighed v2",
        "ParcelWeighed v2 → ParcelWeighed v3",
    ]


def test_chain_starts_at_the_stored_version() -> None:
    assert events.deserialize("ParcelWeighed", 2, '{"parcel_id": "p2", "grams": 10.4}') == (
        ParcelWeighed("p2", 10)
    )
    assert CALLS == ["v2→v3"]
    CALLS.clear()
    assert events.deserialize("ParcelWeighed", 3, '{"parcel_id": "p3", "grams": 5}').grams == 5
    assert CALLS == []


def test_stages_show_each_step_and_keep_earlier_stages_intact() -> None:
    stored = {"id": "p1", "pounds": 1}
    trail = upcasting.stages("ParcelWeighed", 1, stored)
    assert [(s.schema_version, s.step and s.step.from_version) for s in trail] == [
        (1, None),
        (2, 1),
        (3, 2),
    ]
    assert trail[0].data == {"id": "p1", "pounds": 1} and trail[0].data is stored
    assert trail[1].data["grams"] == pytest.approx(453.59237)
    assert trail[2].data == {"parcel_id": "p1", "grams": 454}


def test_a_missing_step_names_the_event_type_and_the_versions() -> None:
    upcasting.unregister("ParcelWeighed", 2)
    with pytest.raises(UpcastError) as caught:
        events.deserialize("ParcelWeighed", 1, '{"id": "p1", "pounds": 2}')
    message = str(caught.value)
    assert "ParcelWeighed from v2 to v3" in message
    assert "class is at v3" in message
    assert "@upcaster('ParcelWeighed', from_version=2)" in message


def test_a_missing_first_step_is_reported_at_the_stored_version() -> None:
    upcasting.unregister("ParcelWeighed", 1)
    with pytest.raises(UpcastError, match="ParcelWeighed from v1 to v2"):
        events.deserialize("ParcelWeighed", 1, '{"id": "p1", "pounds": 2}')


def test_a_switched_off_step_says_so_and_switched_restores_the_switches() -> None:
    with upcasting.switched({("ParcelWeighed", 1): False}):
        assert not upcasting.is_enabled("ParcelWeighed", 1)
        with pytest.raises(UpcastError, match="switched off: switch it back on"):
            events.deserialize("ParcelWeighed", 1, '{"id": "p1", "pounds": 2}')
    assert upcasting.is_enabled("ParcelWeighed", 1)
    assert events.deserialize("ParcelWeighed", 1, '{"id": "p1", "pounds": 2}').grams == 907


def test_switched_restores_even_after_an_error() -> None:
    with pytest.raises(RuntimeError), upcasting.switched({("ParcelWeighed", 2): False}):
        raise RuntimeError("boom")
    assert upcasting.is_enabled("ParcelWeighed", 2)


def test_newer_stored_version_than_the_class_is_an_error() -> None:
    with pytest.raises(UpcastError, match="schema v4, newer than the class's v3"):
        events.deserialize("ParcelWeighed", 4, '{"parcel_id": "p", "grams": 1}')


def test_a_failing_step_is_an_upcast_error_naming_the_step() -> None:
    with pytest.raises(UpcastError, match=r"ParcelWeighed v1 → ParcelWeighed v2 failed"):
        events.deserialize("ParcelWeighed", 1, '{"no_id": "p"}')


def test_a_step_must_return_a_dict() -> None:
    upcaster("ParcelWeighed", from_version=1, replace=True)(lambda data: None)
    with pytest.raises(UpcastError, match="returned NoneType, not a dict"):
        upcasting.upcast("ParcelWeighed", 1, {"id": "p"})


def test_upcast_never_changes_the_data_it_is_given() -> None:
    @upcaster("ParcelWeighed", from_version=1, replace=True)
    def mutating(data: dict) -> dict:  # pops from its input: it gets a copy
        return {"parcel_id": data.pop("id"), "grams": data.pop("pounds") * 1.0}

    stored = {"id": "p1", "pounds": 1}
    upcasting.stages("ParcelWeighed", 1, stored)
    upcasting.upcast("ParcelWeighed", 1, stored)
    assert stored == {"id": "p1", "pounds": 1}


def test_rename_to_changes_the_event_type() -> None:
    @upcaster("ParcelWeighedV0", from_version=1, rename_to="ParcelWeighed")
    def renamed(data: dict) -> dict:
        return {"parcel_id": data["ref"], "grams": data["lb"] * 453.59237}

    event = events.deserialize("ParcelWeighedV0", 1, '{"ref": "p9", "lb": 1}')
    assert event == ParcelWeighed("p9", 454)


def test_preserved_undoes_registrations() -> None:
    with upcasting.preserved():
        upcasting.unregister("ParcelWeighed", 1)
        upcaster("Other", from_version=1)(lambda d: d)
    assert upcasting.is_enabled("ParcelWeighed", 1)
    assert upcasting.steps("Other") == []


def test_another_function_for_a_registered_step_is_refused_until_replace_is_said() -> None:
    def wrong_split(data: dict) -> dict:
        return data

    with upcasting.preserved():
        with pytest.raises(
            UpcastError,
            match=r"already has an upcaster: pounds_to_grams.*"
            r"replace=True",
        ):
            upcaster("ParcelWeighed", from_version=1)(wrong_split)
        assert upcasting.steps("ParcelWeighed")[0].function.__name__ == "pounds_to_grams"
        upcaster("ParcelWeighed", from_version=1, replace=True)(wrong_split)
        assert upcasting.steps("ParcelWeighed")[0].function is wrong_split


def test_running_the_same_definition_again_replaces_the_step() -> None:
    """A notebook cell re-run defines a new function object with the same name."""
    with upcasting.preserved():
        upcasting.unregister("ParcelWeighed", 1)
        for factor in (1, 2):

            def same_name(data: dict, factor: int = factor) -> dict:
                return {"parcel_id": data["id"], "grams": data["pounds"] * factor}

            upcaster("ParcelWeighed", from_version=1)(same_name)
        assert upcasting.steps("ParcelWeighed")[0].function is same_name


def test_from_version_must_be_positive() -> None:
    with pytest.raises(ValueError, match="from_version"):
        upcaster("X", from_version=0)


# -- the OrderCreated history -------------------------------------------------------------

V1 = {
    "consumerId": "consumer-017",
    "restaurantId": "rest-ajanta",
    "lineItems": [
        {"menuItemId": "aj-01", "name": "Chicken Vindaloo", "quantity": 3, "price": 12.95}
    ],
    "orderTotal": 38.849999999999994,
    "deliveryAddress": "Apt 4B, 12 Oak St, San Francisco 94110",
}


def test_order_created_v1_loads_as_today_s_v3_event() -> None:
    event = events.deserialize("OrderCreated", 1, json.dumps(V1))
    assert event == OrderCreated(
        consumer_id="consumer-017",
        restaurant_id="rest-ajanta",
        line_items=[LineItem("aj-01", "Chicken Vindaloo", 3, Money(1295, "USD"))],
        total=Money(3885, "USD"),
        delivery_address=Address("Apt 4B, 12 Oak St", "San Francisco", "94110"),
    )


def test_order_created_steps_are_v1_to_v2_to_v3() -> None:
    trail = upcasting.stages("OrderCreated", 1, V1)
    assert [s.schema_version for s in trail] == [1, 2, 3]
    v2 = trail[1].data
    assert v2["totalCents"] == 3885 and v2["currency"] == "USD"
    assert "orderTotal" not in v2 and v2["lineItems"][0]["priceCents"] == 1295
    assert v2["deliveryAddress"] == V1["deliveryAddress"]  # still one string in v2
    assert list(v2) == [
        "consumerId",
        "restaurantId",
        "lineItems",
        "totalCents",
        "currency",
        "deliveryAddress",
    ]


@pytest.mark.parametrize(
    ("dollars", "cents"),
    [
        (12.95, 1295),
        (38.849999999999994, 3885),
        (59.480000000000004, 5948),
        (0.1 + 0.2, 30),
        (2.675, 268),
        (0.0, 0),
        (1e-9, 0),
    ],
)
def test_dollars_to_cents_rounds_float_noise_half_up(dollars: float, cents: int) -> None:
    assert order_upcasters.dollars_to_cents(dollars) == cents


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("12 Oak St, Oakland 94611", ("12 Oak St", "Oakland", "94611")),
        (
            "Apt 3C, 4674 Valencia St, San Francisco 94103",
            ("Apt 3C, 4674 Valencia St", "San Francisco", "94103"),
        ),
        (
            "1 Alameda de las Pulgas, Berkeley 94709",
            ("1 Alameda de las Pulgas", "Berkeley", "94709"),
        ),
    ],
)
def test_split_address(text: str, parts: tuple[str, str, str]) -> None:
    assert tuple(order_upcasters.split_address(text).values()) == parts


def test_an_address_that_cannot_be_split_is_an_upcast_error() -> None:
    bad = {**V1, "deliveryAddress": "somewhere"}
    with pytest.raises(UpcastError, match="cannot split the address 'somewhere'"):
        events.deserialize("OrderCreated", 1, json.dumps(bad))


def test_importing_the_order_module_registers_the_order_upcasters() -> None:
    """A fresh interpreter that imports only eslab.domain.order can load v1 data."""
    code = (
        "import json, eslab.domain.order as o, eslab.events as e;"
        f"print(e.deserialize('OrderCreated', 1, json.dumps({V1!r})).total)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "$38.85"


# -- stored events are never modified; the alternatives -----------------------------------


def _checksum(store: EventStore) -> list[tuple]:
    return (
        store.cursor()
        .execute(
            "SELECT position, event_type, schema_version, event_data::VARCHAR FROM events "
            "ORDER BY position"
        )
        .fetchall()
    )


def test_loading_old_orders_never_modifies_the_stored_rows() -> None:
    store = datasets.ftgo_store()
    before = _checksum(store)
    repo = AggregateRepository(store, Order)
    ids = store.sql("SELECT DISTINCT entity_id FROM events").entity_id
    for entity_id in ids:
        assert repo.find(entity_id).state is not None
    store.read_all()
    assert _checksum(store) == before
    assert {v for _, t, v, _ in before if t == "OrderCreated"} == {1, 2}


def test_weak_schema_reads_by_name_and_loses_renamed_fields() -> None:
    read = upcasting.weak_read(OrderCreated, V1)
    assert read == dict.fromkeys(
        ["consumer_id", "restaurant_id", "line_items", "total", "delivery_address"]
    )
    today = json.loads(events.serialize(events.deserialize("OrderCreated", 1, json.dumps(V1))))
    assert upcasting.weak_read(OrderCreated, today) == today


def test_copy_and_replace_writes_a_migrated_copy_and_leaves_the_source() -> None:
    source = datasets.ftgo_store()
    before = _checksum(source)
    target = EventStore()
    copied = migration.copy_and_replace(source, target)
    assert copied == len(before)
    assert _checksum(source) == before
    versions = target.sql(
        "SELECT DISTINCT schema_version FROM events WHERE event_type = 'OrderCreated'"
    ).schema_version.tolist()
    assert versions == [3]
    same_rows = (
        "SELECT event_id, entity_id, entity_version, created_at FROM events ORDER BY position"
    )
    assert source.sql(same_rows).equals(target.sql(same_rows))
    with upcasting.switched({("OrderCreated", 1): False, ("OrderCreated", 2): False}):
        order = AggregateRepository(target, Order).find("order-0001")  # no upcaster needed
    assert order.state == OrderState.APPROVED and order.total.currency == "USD"
    assert migration.copy_and_replace(EventStore(), EventStore()) == 0


def test_describe_lists_steps_with_function_names() -> None:
    text = upcasting.describe(upcasting.steps("OrderCreated"))
    assert text.splitlines() == [
        "OrderCreated v1 → OrderCreated v2   money_in_cents",
        "OrderCreated v2 → OrderCreated v3   money_objects_and_address",
    ]
    with upcasting.switched({("OrderCreated", 2): False}):
        assert "(switched off)" in upcasting.describe(upcasting.steps("OrderCreated"))
