"""Snapshots: store an aggregate's state every N events, load from it (book §6.1.5).

A snapshot at version N lets ``find`` load just the events after N (the seed: "스냅샷
버전이 N이면, N + 1 이후에 발생한 이벤트만 가져오면 된다"). Snapshots are taken from the
aggregate's dataclass fields, so value objects come back as themselves.

A snapshot is tagged with the aggregate's ``class_version``. When the class changes (bump
``class_version``), an older snapshot is never used as it is: it is upcast by steps
registered with :func:`snapshot_upcaster`, or else ignored and the aggregate is replayed
from its events. ``SnapshotStrategy.last`` says what the most recent load did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from eslab import serialization
from eslab.errors import SnapshotError

if TYPE_CHECKING:
    from eslab.aggregate import Aggregate, AggregateRepository

SnapshotUpcast = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], SnapshotUpcast] = {}


def snapshot_upcaster(
    snapshot_type: str, from_version: int
) -> Callable[[SnapshotUpcast], SnapshotUpcast]:
    """Register a step that brings a ``snapshot_type`` snapshot from ``from_version`` to +1.

    ``snapshot_type`` is the aggregate class name; the step gets and returns the
    snapshot's JSON data (a dict of the aggregate's fields).
    """
    if isinstance(from_version, bool) or not isinstance(from_version, int) or from_version < 1:
        raise ValueError(f"from_version must be an int ≥ 1, got {from_version!r}")

    def register(function: SnapshotUpcast) -> SnapshotUpcast:
        _UPCASTERS[(snapshot_type, from_version)] = function
        return function

    return register


def remove_snapshot_upcaster(snapshot_type: str, from_version: int) -> None:
    """Forget one snapshot upcaster step (if registered)."""
    _UPCASTERS.pop((snapshot_type, from_version), None)


def snapshot_upcasters(snapshot_type: str | None = None) -> list[tuple[str, int]]:
    """The registered (snapshot_type, from_version) steps, in order."""
    return sorted(k for k in _UPCASTERS if snapshot_type in (None, k[0]))


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


Outcome = Literal["none", "used", "upcast", "ignored"]


@dataclass(frozen=True)
class SnapshotUse:
    """What one load did with the newest snapshot at or below the wanted version."""

    outcome: Outcome
    entity_version: int | None = None
    snapshot_version: int | None = None
    class_version: int | None = None

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
        }[self.outcome]


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

    def __post_init__(self) -> None:
        if self.every is not None and (
            isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1
        ):
            raise ValueError(f"every must be None or an int ≥ 1, got {self.every!r}.")

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
        while at < cls.class_version and (row["snapshot_type"], at) in _UPCASTERS:
            data = _UPCASTERS[(row["snapshot_type"], at)](data)
            at += 1
        if at != cls.class_version or row["snapshot_type"] != cls.__name__:
            self.ignored += 1
            self.last = SnapshotUse("ignored", *_tail(use))
            return None
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


def _tail(use: SnapshotUse) -> tuple[int | None, int | None, int | None]:
    return use.entity_version, use.snapshot_version, use.class_version
