"""Events round-trip through JSON with their Python types intact."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pytest

import eslab
from eslab import EventStore
from eslab.events import deserialize, serialize


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclass(frozen=True)
class Everything(eslab.Event):
    text: str
    count: int
    price: Decimal
    at: datetime
    day: date
    ref: uuid.UUID
    colour: Colour
    points: list[Point]
    by_name: dict[str, Point]
    maybe: Point | None = None
    tags: tuple[str, ...] = ()
    ratio: float = 0.5
    extra: dict[str, int] = field(default_factory=dict)


SAMPLE = Everything(
    text="café ☕",
    count=3,
    price=Decimal("12.50"),
    at=datetime(2024, 5, 1, 9, 30, 15, 123),
    day=date(2024, 5, 1),
    ref=uuid.UUID(int=7),
    colour=Colour.BLUE,
    points=[Point(1, 2), Point(3, 4)],
    by_name={"home": Point(0, 0)},
    maybe=Point(5, 6),
    tags=("a", "b"),
    extra={"k": 1},
)


def test_every_supported_type_round_trips() -> None:
    back = deserialize("Everything", 1, serialize(SAMPLE))
    assert back == SAMPLE
    assert isinstance(back.points[0], Point) and isinstance(back.price, Decimal)
    assert back.colour is Colour.BLUE


def test_round_trip_through_the_store() -> None:
    store = EventStore()
    store.append("Thing", "t", [SAMPLE], 0)
    assert store.load("Thing", "t")[0].event == SAMPLE


def test_json_is_plain_and_queryable() -> None:
    text = serialize(SAMPLE)
    assert '"price":"12.50"' in text and '"colour":"blue"' in text
    store = EventStore()
    store.append("Thing", "t", [SAMPLE], 0)
    frame = store.sql("SELECT event_data->>'$.points[1].y' AS y FROM events")
    assert frame["y"][0] == "4"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (object(), "builtins.object"),
        ({1: "a"}, "key of type int"),
        (float("nan"), "NaN"),
        ({1, 2j}, "complex"),
    ],
)
def test_unknown_types_are_named(value: object, words: str) -> None:
    @dataclass(frozen=True)
    class Holder(eslab.Event):
        value: object

    with pytest.raises(eslab.SerializationError, match=words):
        serialize(Holder(value))


def test_non_event_is_refused_with_advice() -> None:
    with pytest.raises(eslab.SerializationError, match="subclass"):
        serialize(Point(1, 2))  # type: ignore[arg-type]


def test_unknown_event_type_says_what_to_import() -> None:
    with pytest.raises(eslab.UnknownEventTypeError, match="Import"):
        deserialize("NoSuchEvent", 1, "{}")


def test_data_that_does_not_fit_the_class_is_explained() -> None:
    with pytest.raises(eslab.SerializationError, match="upcaster"):
        deserialize("Everything", 1, '{"text": "x"}')
    with pytest.raises(eslab.SerializationError, match="malformed"):
        deserialize("Everything", 1, "{not json")


def test_two_classes_cannot_share_an_event_type_name() -> None:
    with pytest.raises(ValueError, match="event_type"):
        type("Everything", (eslab.Event,), {"__module__": "elsewhere"})
