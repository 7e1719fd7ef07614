"""Snapshots: store an aggregate's state every N events, load from it (book §6.1.5).

A snapshot at version N lets ``find`` load just the events after N. Snapshots are taken
from the aggregate's dataclass fields, so value objects come back as themselves.

A snapshot is tagged with the aggregate's ``class_version``. When the class changes (bump
``class_version``), an older snapshot is never used as it is: it is upcast by a step
registered with :func:`snapshot_upcaster`, or else ignored and the aggregate is replayed
from its events. ``SnapshotStrategy.ignored`` counts how often that happened.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eslab import serialization
from eslab.errors import SnapshotError

if TYPE_CHECKING:
    from eslab.aggregate import Aggregate, AggregateRepository

SnapshotUpcast = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], SnapshotUpcast] = {}


def snapshot_upcaster(snapshot_type: str, from_version: int) -> Callable[[SnapshotUpcast],
                                                                          SnapshotUpcast]:
    """Register a step that brings a ``snapshot_type`` snapshot from ``from_version`` to +1."""

    def register(function: SnapshotUpcast) -> SnapshotUpcast:
        _UPCASTERS[(snapshot_type, from_version)] = function
        return function

    return register


def take_snapshot(aggregate: Aggregate) -> str:
    """The JSON of an aggregate's state (its dataclass fields)."""
    return serialization.to_json(aggregate)


def restore_snapshot(aggregate_class: type[Aggregate], snapshot_json: str) -> Aggregate:
    """Rebuild an aggregate from :func:`take_snapshot`'s JSON."""
    return serialization.from_json(aggregate_class, snapshot_json)


@dataclass
class SnapshotStrategy:
    """When to take snapshots (``every`` N events; None = only on demand) and how to use them."""

    every: int | None = 100
    ignored: int = 0
    """Snapshots skipped because their class version was old and no upcaster fit."""

    def __post_init__(self) -> None:
        if self.every is not None and (isinstance(self.every, bool) or self.every < 1):
            raise ValueError(f"every must be None or an int ≥ 1, got {self.every!r}.")

    def load(self, repo: AggregateRepository[Any], entity_id: str,
             version: int | None) -> tuple[Aggregate, int] | None:
        """The newest usable snapshot at or below ``version``, as (aggregate, its version)."""
        row = repo.store.latest_snapshot(repo.entity_type, entity_id, version)
        if row is None:
            return None
        cls = repo.aggregate_class
        data = json.loads(row["snapshot_json"])
        at = row["snapshot_version"]
        while at < cls.class_version and (row["snapshot_type"], at) in _UPCASTERS:
            data = _UPCASTERS[(row["snapshot_type"], at)](data)
            at += 1
        if at != cls.class_version or row["snapshot_type"] != cls.__name__:
            self.ignored += 1
            return None
        try:
            aggregate = serialization.decode(cls, data)
        except Exception as exc:
            raise SnapshotError(
                f"Snapshot of {repo.entity_type} {entity_id!r} at version "
                f"{row['entity_version']} does not fit {cls.__name__} v{cls.class_version}: "
                f"{exc}. Bump {cls.__name__}.class_version when its fields change.") from exc
        return aggregate, row["entity_version"]

    def after_update(self, repo: AggregateRepository[Any], aggregate: Aggregate,
                     previous_version: int) -> None:
        """Take a snapshot when the update crossed a multiple of ``every``."""
        if self.every is None:
            return
        if aggregate.version // self.every > previous_version // self.every:
            self.take(repo, aggregate)

    def take(self, repo: AggregateRepository[Any], aggregate: Aggregate) -> None:
        """Store a snapshot of ``aggregate`` at its current version (on demand)."""
        if aggregate.id is None or aggregate.version < 1:
            raise SnapshotError("Only a stored aggregate (with id and version) can be snapshot.")
        repo.store.save_snapshot(repo.entity_type, aggregate.id, aggregate.version,
                                 type(aggregate).__name__, take_snapshot(aggregate),
                                 type(aggregate).class_version)
