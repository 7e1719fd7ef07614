"""Events round-trip through JSON with their Python types intact."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import pytest

import eslab
from eslab import EventStore, serialization
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


# -- one definition of valid: what an append refuses is what the reader could not give back


@dataclass(frozen=True)
class Shelf:
    label: str
    slots: int


FITS = [
    (str, "x"),
    (int, 3),
    (float, 1.5),
    (bool, False),
    (Decimal, Decimal("9.50")),
    (date, date(2024, 1, 2)),
    (datetime, datetime(2024, 1, 2, 3, 4)),
    (uuid.UUID, uuid.UUID(int=5)),
    (Colour, Colour.RED),
    (Shelf, Shelf("A", 3)),
    (list[int], [1, 2]),
    (tuple[str, ...], ("a", "b")),
    (tuple[int, str], (1, "a")),
    (set[int], {1, 2}),
    (frozenset[str], frozenset({"a"})),
    (dict[str, Shelf], {"a": Shelf("A", 1)}),
    (int | None, None),
    (Shelf | None, Shelf("B", 2)),
    (Literal["new", "lent"], "lent"),
    (Any, {"free": [1, "form"]}),
]

MISFITS = [
    (str, 123),
    (int, "123"),
    (int, True),
    (int, 1.0),
    (float, "1.5"),
    (bool, 1),
    (Decimal, 1.5),
    (date, "2024-01-02"),
    (date, datetime(2024, 1, 2, 3, 4)),
    (datetime, "2024-01-02T03:04:00"),
    (uuid.UUID, str(uuid.UUID(int=5))),
    (Colour, "red"),
    (Shelf, {"label": "A", "slots": 3}),
    (Shelf, Shelf("A", "3")),
    (list[int], (1, 2)),
    (list[int], [1, "2"]),
    (tuple[str, ...], ["a"]),
    (tuple[int, str], (1, 2)),
    (set[int], [1]),
    (dict[str, int], {"a": "1"}),
    (int | None, "x"),
    (Literal["new", "lent"], "gone"),
]


def _round_trip(hint: object, value: object) -> object:
    return serialization.decode(hint, json.loads(json.dumps(serialization.encode(value))))


@pytest.mark.parametrize(("hint", "value"), FITS, ids=repr)
def test_values_that_fit_their_hint_read_back_equal_and_of_the_same_type(
    hint: object, value: object
) -> None:
    stored = json.loads(json.dumps(serialization.encode_as(hint, value)))
    back = serialization.decode(hint, stored)
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize(("hint", "value"), MISFITS, ids=repr)
def test_values_refused_at_append_are_those_a_reader_cannot_give_back(
    hint: object, value: object
) -> None:
    with pytest.raises(eslab.FieldTypeError) as info:
        serialization.encode_as(hint, value, "Holder.field")
    assert info.value.path.startswith("Holder.field")
    assert info.value.actual in str(info.value)
    try:
        back = _round_trip(hint, value)  # what the store would have given back
    except eslab.SerializationError:
        return
    assert not (back == value and type(back) is type(value))


def test_an_int_is_accepted_where_a_float_is_declared() -> None:
    """PEP 484's numeric tower: 2 stands for 2.0 and reads back as the equal float."""
    assert serialization.decode(float, serialization.encode_as(float, 2)) == 2.0


@dataclass(frozen=True)
class LibraryBookAdded(eslab.Event):
    title: str
    author: str


@dataclass(frozen=True)
class LibraryBookLent(eslab.Event):
    member_id: str
    due: date


@dataclass(frozen=True)
class AddLibraryBook:
    title: str
    author: str


@dataclass(frozen=True)
class LendLibraryBook:
    member_id: object
    due: object


@dataclass
class LibraryBook(eslab.Aggregate):
    title: str = ""
    lent_to: str | None = None
    due: date | None = None

    def process_add(self, command: AddLibraryBook) -> list[eslab.Event]:
        return [LibraryBookAdded(command.title, command.author)]

    def process_lend(self, command: LendLibraryBook) -> list[eslab.Event]:
        return [LibraryBookLent(command.member_id, command.due)]  # type: ignore[arg-type]

    def apply_added(self, event: LibraryBookAdded) -> None:
        self.title = event.title

    def apply_lent(self, event: LibraryBookLent) -> None:
        self.lent_to, self.due = event.member_id, event.due


def test_issue_14_a_mistyped_event_is_refused_and_the_store_keeps_working() -> None:
    store = EventStore()
    repo = eslab.AggregateRepository(store, LibraryBook)
    repo.save(AddLibraryBook("Dune", "FH"), entity_id="b1")
    before = store.last_position()
    with pytest.raises(eslab.FieldTypeError, match=r"LibraryBookLent\.member_id"):
        repo.update("b1", LendLibraryBook(123, date(2024, 1, 1)))
    with pytest.raises(eslab.FieldTypeError, match=r"LibraryBookLent\.due.*fromisoformat"):
        repo.update("b1", LendLibraryBook("m-1", "2024-01-01"))
    assert store.last_position() == before
    updated = repo.update("b1", LendLibraryBook("m-1", date(2024, 1, 1)))
    assert updated == repo.find("b1") and updated.due == date(2024, 1, 1)
    assert [e.event_type for e in store.read_all()] == ["LibraryBookAdded", "LibraryBookLent"]


def test_event_classes_whose_hints_cannot_be_resolved_are_refused_at_append() -> None:
    @dataclass(frozen=True)
    class LocalThing:
        n: int

    @dataclass(frozen=True)
    class HoldsALocalThing(eslab.Event):
        thing: LocalThing  # a name only this function knows: no reader could resolve it

    with pytest.raises(eslab.SerializationError, match="module level"):
        serialize(HoldsALocalThing(LocalThing(1)))
