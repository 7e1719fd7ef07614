"""What the property tests share: event classes, an aggregate, strategies, the model.

The **model** is the log as plain Python: for every stream the events it holds (with the
time the fixed clock gave their append) and, for the whole store, the order in which
streams' versions were committed. The store is right when everything it returns equals
the model, and every refusal leaves the store's tables exactly as they were.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from eslab import Aggregate, EslabError, Event, EventStore, StoredEvent
from eslab import upcasting as upcasting_module

# -- how many cases -----------------------------------------------------------------------

SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"
SCALE = 20 if SOAK else 1
"""``make soak`` runs every property test with this many times its examples."""
MIN_CASES = 1_000
"""Generated cases a full run of ``tests/property`` must reach (checked in conftest)."""

CASES: Counter[str] = Counter()
"""Cases generated in this session, per test (a stateful run counts once, its steps apart)."""
STEPS: Counter[str] = Counter()


def examples(n: int, **kw: Any) -> settings:
    """Settings for a test that runs ``n`` examples (``SCALE`` × ``n`` under ``make soak``)."""
    return settings(max_examples=n * SCALE, **kw)


def count(name: str) -> None:
    """Count one generated case of test ``name``."""
    CASES[name] += 1


# -- events, an aggregate, an upcaster ------------------------------------------------------


@dataclass(frozen=True)
class PropPoint:
    """A nested value object."""

    x: int
    label: str


@dataclass(frozen=True)
class PropNote(Event):
    """An event with one field of each kind eslab stores."""

    text: str
    count: int
    ratio: float
    flag: bool
    amount: Decimal
    tags: list[str]
    extra: dict[str, Any]
    when: datetime | None = None
    point: PropPoint | None = None


@dataclass(frozen=True)
class PropLegacy(Event):
    """Schema v2; v1 rows (``{"text", "n"}``) are written raw and upcast on load."""

    schema_version = 2
    text: str
    count: int


def legacy_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """PropLegacy v1 → v2: the field ``n`` is now called ``count``."""
    data = dict(data)
    data["count"] = data.pop("n")
    return data


def register_upcaster() -> None:
    """(Re-)register the PropLegacy step (idempotent; other tests may reset the registry)."""
    upcasting_module.upcaster("PropLegacy", from_version=1)(legacy_v1_to_v2)


@dataclass(frozen=True)
class PropAdd:
    """A command for :class:`PropTally`: record this note."""

    note: PropNote


@dataclass
class PropTally(Aggregate):
    """Folds a stream: how many events, the sum of their counts, the last text."""

    events: int = 0
    total: int = 0
    last: str = ""

    def process_add(self, command: PropAdd) -> list[Event]:
        return [command.note]

    def apply_note(self, event: PropNote) -> None:
        self._count(event.count, event.text)

    def apply_legacy(self, event: PropLegacy) -> None:
        self._count(event.count, event.text)

    def _count(self, count: int, text: str) -> None:
        self.events, self.total, self.last = self.events + 1, self.total + count, text


def fold(events: list[Event]) -> PropTally:
    """What replaying ``events`` must give, computed without eslab."""
    tally = PropTally()
    for e in events:
        tally.events += 1
        tally.total += e.count  # type: ignore[attr-defined]
        tally.last = e.text  # type: ignore[attr-defined]
    return tally


# -- strategies ------------------------------------------------------------------------------

ANY_CHAR = st.characters(codec=None, exclude_categories=())
"""Every code point, lone surrogates included (Python str allows them, UTF-8 does not)."""
TEXT_CHAR = st.characters(exclude_categories=("Cs",))
"""Every code point that is valid text: NUL, controls, emoji, right-to-left, …"""

texts = st.one_of(
    st.text(TEXT_CHAR, max_size=30),
    st.sampled_from(["", " ", "\x00", "a\x00b", "'; DROP TABLE events; --", "名前", "🧪" * 3]),
)
ids = st.one_of(
    st.text(TEXT_CHAR, min_size=1, max_size=12),
    st.sampled_from(["order-1", "\x00", " ", "Robert'); --", "ü", "$id", "%", "\\"]),
)
"""Valid entity ids: any non-empty text."""

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)
"""Nested JSON data (as an ``Any`` field holds it)."""

datetimes = st.datetimes(
    min_value=datetime(1, 1, 1),
    max_value=datetime(9999, 12, 31),
    timezones=st.one_of(st.none(), st.just(UTC)),
)
decimals = st.decimals(allow_nan=False)
"""Finite or ±Infinity (Decimal NaN never equals itself, so it cannot 'read back equal')."""

notes = st.builds(
    PropNote,
    text=texts,
    count=st.integers(),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
    flag=st.booleans(),
    amount=decimals,
    tags=st.lists(texts, max_size=3),
    extra=st.dictionaries(texts, json_values, max_size=3),
    when=st.none() | datetimes,
    point=st.none() | st.builds(PropPoint, x=st.integers(), label=texts),
)
"""Well-typed events: every one must be stored and read back equal."""

event_lists = st.lists(notes, min_size=1, max_size=4)


@st.composite
def junk_values(draw: st.DrawFn) -> Any:
    """Values JSON cannot hold: NaN, ±inf, lone surrogates, non-str keys, foreign objects."""
    bad = draw(
        st.one_of(
            st.sampled_from([math.nan, math.inf, -math.inf, object(), b"bytes", 1j]),
            surrogate_texts,
            st.dictionaries(st.integers() | st.none() | st.booleans(), st.integers(), min_size=1),
        )
    )
    # …alone, or buried in a nested value.
    return draw(st.sampled_from([bad, [bad], {"k": [1, {"deep": bad}]}]))


surrogate_texts = st.builds(
    "{}{}{}".format,
    st.text(ANY_CHAR, max_size=3),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
    st.text(ANY_CHAR, max_size=3),
)
"""Python str that is not valid text: it holds a lone surrogate (UTF-8 cannot encode it)."""


bad_ids = st.one_of(
    st.just(""),
    st.none(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.binary(max_size=4),
    st.lists(st.text(max_size=2), max_size=2),
    surrogate_texts,
)
"""Entity ids eslab must refuse: empty, not a str, not valid text."""

bad_counts = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=2**63),
    st.booleans(),
    st.floats(),
    st.decimals(),
    st.text(max_size=3),
    st.just([1]),
)
"""Versions, positions and limits eslab must refuse: negative, > BIGINT, bools, floats, …"""
bad_versions = st.one_of(bad_counts.filter(lambda v: not isinstance(v, int) or v < 0), st.none())
"""Expected versions eslab must refuse (a huge int is refused too, but as a conflict)."""


# -- the model -------------------------------------------------------------------------------

Stream = tuple[str, str]


@dataclass
class Written:
    """One event the model knows: what it is and when the clock said it was appended."""

    event: Event
    created_at: datetime


@dataclass
class LogModel:
    """The log in plain Python: events per stream and the global commit order."""

    streams: dict[Stream, list[Written]] = field(default_factory=dict)
    order: list[tuple[str, str, int]] = field(default_factory=list)

    def head(self, stream: Stream) -> int:
        return len(self.streams.get(stream, []))

    def add(self, stream: Stream, events: list[Event], at: datetime) -> int:
        written = self.streams.setdefault(stream, [])
        for e in events:
            written.append(Written(e, at))
            self.order.append((*stream, len(written)))
        return len(written)

    def events(self, stream: Stream, up_to: int | None = None) -> list[Event]:
        return [w.event for w in self.streams.get(stream, [])[:up_to]]

    def times(self) -> list[datetime]:
        return sorted({w.created_at for ws in self.streams.values() for w in ws})


def expected_refusal(head: int, expected: int) -> str:
    """Which eslab error an append with ``expected`` must raise on a stream at ``head``."""
    if expected == head:
        return ""
    if head == 0:
        return "EntityNotFoundError"
    if expected == 0:
        return "StreamExistsError"
    return "ConcurrencyError" if expected < head else "WrongExpectedVersionError"


FINGERPRINT = "SELECT " + ", ".join(
    f"(SELECT (count(*), sum(hash(t)::HUGEINT)) FROM {table} t)"
    for table in ("events", "snapshots", "processed_messages", "checkpoints")
)


def fingerprint(store: EventStore) -> tuple[Any, ...]:
    """Row count and a hash of every row of each of eslab's tables: equal = nothing written."""
    return store.cursor().execute(FINGERPRINT).fetchone()


def refused(call: Any, store: EventStore) -> EslabError:
    """Run ``call``; it must raise an eslab error and leave ``store`` as it was."""
    before = fingerprint(store)
    try:
        call()
    except EslabError as exc:
        after = fingerprint(store)
        assert after == before, f"{type(exc).__name__} was raised, but the store changed"
        return exc
    except BaseException as exc:  # a raw duckdb / Python error reached the caller
        raise AssertionError(
            f"{type(exc).__module__}.{type(exc).__name__} reached the caller, not an "
            f"EslabError: {exc!s:.300}"
        ) from exc
    raise AssertionError("the call was accepted, but it had to be refused")


def check_log(store: EventStore, model: LogModel) -> None:
    """The whole store against the model: order, versions, events, times, ids."""
    log = store.read_all()
    positions = [s.position for s in log]
    assert positions == sorted(set(positions)), "positions must strictly increase"
    assert [(s.entity_type, s.entity_id, s.entity_version) for s in log] == model.order, (
        "position order must equal commit order"
    )
    seen: dict[Stream, int] = {}
    for s in log:
        stream = (s.entity_type, s.entity_id)
        seen[stream] = seen.get(stream, 0) + 1
        assert s.entity_version == seen[stream], f"gap in {stream}"
        written = model.streams[stream][s.entity_version - 1]
        assert_same_event(s.event, written.event)
        assert s.created_at == written.created_at
    assert seen == {k: len(v) for k, v in model.streams.items() if v}


def assert_same_event(got: Event, want: Event) -> None:
    """Equal, and equal as JSON too (so 1 vs 1.0 or True vs 1 cannot hide)."""
    assert type(got) is type(want)
    assert got == want, f"read back {got!r:.300}, wrote {want!r:.300}"
    assert _canonical(got) == _canonical(want)


def _canonical(event: Event) -> str:
    from eslab import events as events_module

    return json.dumps(json.loads(events_module.serialize(event)), sort_keys=True)


def check_stream(
    stored: list[StoredEvent], model: LogModel, stream: Stream, after: int, up_to: int | None
) -> None:
    """A loaded slice of a stream equals the model's slice."""
    want = model.streams.get(stream, [])[after:up_to]
    assert [s.entity_version for s in stored] == list(range(after + 1, after + 1 + len(want)))
    for s, w in zip(stored, want, strict=True):
        assert (s.entity_type, s.entity_id) == stream
        assert_same_event(s.event, w.event)
        assert s.created_at == w.created_at


ONE_SECOND = timedelta(seconds=1)
