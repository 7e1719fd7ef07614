"""Snapshots: store an aggregate's state every N events, load from it (book §6.1.5).

A snapshot at version N lets ``find`` load just the events after N (the seed: "스냅샷
버전이 N이면, N + 1 이후에 발생한 이벤트만 가져오면 된다"). Snapshots are taken from the
aggregate's dataclass fields, so value objects come back as themselves.

A snapshot is tagged with the aggregate's ``class_version``. When the class changes (bump
``class_version``), an older snapshot is never used as it is: it is upcast by steps
registered with :func:`snapshot_upcaster`, or else ignored and the aggregate is replayed
from its events. A snapshot whose fields are not the class's fields (a field added or
removed without bumping ``class_version``) is *stale* too: it is replayed instead, and a
:class:`~eslab.errors.StaleSnapshotWarning` says so once per strategy and class.
``SnapshotStrategy.last`` says what the most recent load did.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from eslab import serialization
from eslab.errors import BadInputError, SnapshotError, StaleSnapshotWarning

if TYPE_CHECKING:
    from eslab.aggregate import Aggregate, AggregateRepository

SnapshotUpcast = Callable[..., dict[str, Any]]
"""``step(data) -> data``, or ``step(data, aggregate_class) -> data`` to see the class."""
SnapshotKey = str | type
"""Whose snapshots a step upcasts: an aggregate class, its qualified name
(``"module.Class"``) or its plain class name (shared by every class of that name)."""
_UPCASTERS: dict[tuple[SnapshotKey, int], SnapshotUpcast] = {}


def snapshot_upcaster(
    snapshot_type: SnapshotKey, from_version: int
) -> Callable[[SnapshotUpcast], SnapshotUpcast]:
    """Register a step that brings a ``snapshot_type`` snapshot from ``from_version`` to +1.

    ``snapshot_type`` is the aggregate class itself (only that class), its qualified name
    ``"module.Class"``, or its plain name ``"Class"`` (every class of that name). The step
    gets and returns the snapshot's JSON data (a dict of the aggregate's fields); a step
    with two parameters also gets the aggregate class it upcasts for.
    """
    if isinstance(from_version, bool) or not isinstance(from_version, int) or from_version < 1:
        raise BadInputError(f"from_version must be an int ≥ 1, got {from_version!r}")
    if not (isinstance(snapshot_type, type) or (isinstance(snapshot_type, str) and snapshot_type)):
        raise BadInputError(
            f"snapshot_type must be an aggregate class or its name, got {snapshot_type!r}."
        )

    def register(function: SnapshotUpcast) -> SnapshotUpcast:
        _UPCASTERS[(snapshot_type, from_version)] = function
        return function

    return register


def remove_snapshot_upcaster(snapshot_type: SnapshotKey, from_version: int) -> None:
    """Forget one snapshot upcaster step (if registered)."""
    _UPCASTERS.pop((snapshot_type, from_version), None)


def snapshot_upcasters(snapshot_type: SnapshotKey | None = None) -> list[tuple[str, int]]:
    """The registered (snapshot_type, from_version) steps, in order (classes by qualified name)."""
    return sorted(
        (_key_name(k), v) for k, v in _UPCASTERS if snapshot_type in (None, k, _key_name(k))
    )


def qualified_name(cls: type) -> str:
    """``module.QualName`` of a class: how a snapshot upcaster can name exactly one class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _key_name(key: SnapshotKey) -> str:
    return key if isinstance(key, str) else qualified_name(key)


def _upcaster_for(cls: type, from_version: int) -> SnapshotUpcast | None:
    """The step for ``cls`` at ``from_version``: by class, then qualified, then plain name."""
    for key in (cls, qualified_name(cls), cls.__name__):
        if (key, from_version) in _UPCASTERS:
            return _UPCASTERS[(key, from_version)]
    return None


def _run_upcaster(step: SnapshotUpcast, data: dict[str, Any], cls: type) -> dict[str, Any]:
    try:
        inspect.signature(step).bind(data, cls)
    except TypeError:
        return step(data)
    except ValueError:  # no signature (a builtin): the one-argument form
        return step(data)
    return step(data, cls)


@contextmanager
def preserved() -> Iterator[None]:
    """Undo every snapshot upcaster registered or removed inside the ``with`` block."""
    saved = dict(_UPCASTERS)
    try:
        yield
    finally:
        _UPCASTERS.clear()
        _UPCASTERS.update(saved)


def take_snapshot(aggregate: Aggregate) -> str:
    """The JSON of an aggregate's state (its dataclass fields)."""
    return serialization.to_json(aggregate)


def restore_snapshot(aggregate_class: type[Aggregate], snapshot_json: str) -> Aggregate:
    """Rebuild an aggregate from :func:`take_snapshot`'s JSON — with no version check.

    This is the naive restore: it trusts that the JSON fits today's class. ``find`` goes
    through :meth:`SnapshotStrategy.load` instead, which checks the class version.
    """
    return cast("Aggregate", serialization.from_json(aggregate_class, snapshot_json))


Outcome = Literal["none", "used", "upcast", "ignored", "stale"]


@dataclass(frozen=True)
class SnapshotUse:
    """What one load did with the newest snapshot at or below the wanted version."""

    outcome: Outcome
    entity_version: int | None = None
    snapshot_version: int | None = None
    class_version: int | None = None
    added: tuple[str, ...] = ()
    """Stale snapshots: fields the class has and the snapshot lacks."""
    removed: tuple[str, ...] = ()
    """Stale snapshots: fields the snapshot has and the class no longer has."""

    def __str__(self) -> str:
        if self.outcome == "none":
            return "no snapshot: replayed every event"
        where = (
            f"snapshot at version {self.entity_version:,} "
            f"(class v{self.snapshot_version}, code is v{self.class_version})"
        )
        return {
            "used": f"{where}: used, then only the events after it",
            "upcast": f"{where}: upcast to v{self.class_version}, then the events after it",
            "ignored": f"{where}: stale and no upcaster fits, so ignored — replayed every event",
            "stale": f"{where}: its fields are not the class's ({self.difference()}), so "
            "ignored — replayed every event",
        }[self.outcome]

    def difference(self) -> str:
        """The fields that differ, e.g. ``"class adds times_lent"``."""
        parts = []
        if self.added:
            parts.append("class adds " + ", ".join(self.added))
        if self.removed:
            parts.append("class drops " + ", ".join(self.removed))
        return "; ".join(parts)


@dataclass
class SnapshotStrategy:
    """When to take snapshots (``every`` N events; None = only on demand) and how to use them."""

    every: int | None = 100
    ignored: int = 0
    """Snapshots skipped because their class version was old and no upcaster fit."""
    upcast: int = 0
    """Snapshots brought up to the current class version by snapshot upcasters."""
    last: SnapshotUse = SnapshotUse("none")
    """What the most recent :meth:`load` did."""
    stale: int = 0
    """Snapshots skipped because their fields differ from the class's (also in ``ignored``)."""
    _warned: set[tuple[type, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=set, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.every is not None and (
            isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1
        ):
            raise BadInputError(f"every must be None or an int ≥ 1, got {self.every!r}.")

    def load(
        self, repo: AggregateRepository[Any], entity_id: str, version: int | None
    ) -> tuple[Aggregate, int] | None:
        """The newest usable snapshot at or below ``version``, as (aggregate, its version)."""
        row = repo.store.latest_snapshot(repo.entity_type, entity_id, version)
        if row is None:
            self.last = SnapshotUse("none")
            return None
        cls = repo.aggregate_class
        data = json.loads(row["snapshot_json"])
        at = row["snapshot_version"]
        use = SnapshotUse("used", row["entity_version"], at, cls.class_version)
        if row["snapshot_type"] not in (cls.__name__, qualified_name(cls)):
            return self._skip(SnapshotUse("ignored", *_tail(use)))
        while at < cls.class_version and (step := _upcaster_for(cls, at)) is not None:
            data = _run_upcaster(step, data, cls)
            at += 1
        if at != cls.class_version:
            return self._skip(SnapshotUse("ignored", *_tail(use)))
        added, removed = _field_difference(cls, data)
        if added or removed:
            self.stale += 1
            return self._skip(SnapshotUse("stale", *_tail(use), added, removed), cls)
        try:
            aggregate = serialization.decode(cls, data)
        except Exception as exc:
            raise SnapshotError(
                f"Snapshot of {repo.entity_type} {entity_id!r} at version "
                f"{row['entity_version']} does not fit {cls.__name__} v{cls.class_version}: "
                f"{exc}. Bump {cls.__name__}.class_version when its fields change (and add "
                "a snapshot_upcaster, or let old snapshots be ignored)."
            ) from exc
        if use.snapshot_version != cls.class_version:
            self.upcast += 1
            use = SnapshotUse("upcast", *_tail(use))
        self.last = use
        return aggregate, row["entity_version"]

    def _skip(self, use: SnapshotUse, cls: type | None = None) -> tuple[Aggregate, int] | None:
        """Record a snapshot not used (and warn once per class and difference if stale);
        return None (no snapshot to start from)."""
        self.ignored += 1
        self.last = use
        if cls is not None and (key := (cls, use.added, use.removed)) not in self._warned:
            self._warned.add(key)
            warnings.warn(
                StaleSnapshotWarning(
                    f"A {cls.__name__} snapshot (v{use.snapshot_version}, at version "
                    f"{use.entity_version}) does not have {cls.__name__}'s fields: "
                    f"{use.difference()}. It was replayed from the events instead. Bump "
                    f"{cls.__name__}.class_version or register a snapshot upcaster "
                    "(eslab.snapshots.snapshot_upcaster) when the fields change."
                ),
                stacklevel=4,
            )
        return None

    def after_update(
        self, repo: AggregateRepository[Any], aggregate: Aggregate, previous_version: int
    ) -> None:
        """Take a snapshot when the update crossed a multiple of ``every``."""
        if self.every is None:
            return
        if aggregate.version // self.every > previous_version // self.every:
            self.take(repo, aggregate)

    def take(self, repo: AggregateRepository[Any], aggregate: Aggregate) -> None:
        """Store a snapshot of ``aggregate`` at its current version (on demand)."""
        if aggregate.id is None or aggregate.version < 1:
            raise SnapshotError("Only a stored aggregate (with id and version) can be snapshot.")
        repo.store.save_snapshot(
            repo.entity_type,
            aggregate.id,
            aggregate.version,
            type(aggregate).__name__,
            take_snapshot(aggregate),
            type(aggregate).class_version,
        )


def _field_difference(cls: type, data: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fields the class adds, fields it dropped) compared with a snapshot's data."""
    if not dataclasses.is_dataclass(cls) or not isinstance(data, dict):
        return (), ()
    fields = [f.name for f in dataclasses.fields(cls)]
    added = tuple(name for name in fields if name not in data)
    removed = tuple(name for name in data if name not in fields)
    return added, removed


def _tail(use: SnapshotUse) -> tuple[int | None, int | None, int | None]:
    return use.entity_version, use.snapshot_version, use.class_version
