"""Upcasting: bring old events up to the current schema when they are loaded.

Stored events are never rewritten. Each upcaster is one step, ``vN -> vN+1`` for one
event type, written as a plain function of the event's JSON data::

    @upcaster("OrderCreated", from_version=1)
    def dollars_to_cents(data: dict) -> dict:
        return {**data, "total_cents": round(data.pop("total") * 100)}

On load, eslab runs the chain of steps from the stored version up to the
``schema_version`` of the current Event class, so application code only ever sees the
newest schema. A missing step raises :class:`UpcastError` naming the type and versions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eslab.errors import UpcastError

UpcastFunction = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Upcaster:
    """One step: ``event_type`` at ``from_version`` → ``from_version + 1`` (maybe renamed)."""

    event_type: str
    from_version: int
    function: UpcastFunction
    rename_to: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.event_type, self.from_version)

    def __str__(self) -> str:
        target = self.rename_to or self.event_type
        return f"{self.event_type} v{self.from_version} → {target} v{self.from_version + 1}"


_STEPS: dict[tuple[str, int], Upcaster] = {}
_DISABLED: set[tuple[str, int]] = set()


def upcaster(
    event_type: str, from_version: int, *, rename_to: str | None = None
) -> Callable[[UpcastFunction], UpcastFunction]:
    """Register the decorated function as the ``from_version → +1`` step of ``event_type``."""
    if from_version < 1:
        raise ValueError(f"from_version must be 1 or more, got {from_version!r}")

    def register(function: UpcastFunction) -> UpcastFunction:
        step = Upcaster(event_type, from_version, function, rename_to)
        _STEPS[step.key] = step
        return function

    return register


def steps(event_type: str | None = None) -> list[Upcaster]:
    """The registered steps (of one event type), in order."""
    found = [s for s in _STEPS.values() if event_type in (None, s.event_type)]
    return sorted(found, key=lambda s: (s.event_type, s.from_version))


def unregister(event_type: str, from_version: int) -> None:
    """Remove one step (used by tests and by the lab to show a missing step)."""
    _STEPS.pop((event_type, from_version), None)


def set_enabled(event_type: str, from_version: int, enabled: bool) -> None:
    """Switch one step on or off without removing it (the upcast lab's toggles)."""
    (_DISABLED.discard if enabled else _DISABLED.add)((event_type, from_version))


def upcast(
    event_type: str, schema_version: int, data: dict[str, Any]
) -> tuple[str, int, dict[str, Any]]:
    """Run every enabled step that applies; return the new (type, version, data)."""
    trail: list[Upcaster] = []
    while (step := _STEPS.get((event_type, schema_version))) is not None:
        if step.key in _DISABLED:
            break
        try:
            data = step.function(copy.deepcopy(data) if not trail else data)
        except Exception as exc:
            raise UpcastError(f"Upcaster {step} failed on {data!r:.200}: {exc!r}") from exc
        if not isinstance(data, dict):
            raise UpcastError(f"Upcaster {step} returned {type(data).__name__}, not a dict.")
        trail.append(step)
        event_type, schema_version = step.rename_to or event_type, schema_version + 1
    return event_type, schema_version, data


def raise_missing(event_type: str, have: int, want: int) -> None:
    """Raise the error for an event stuck at ``have`` when the class is at ``want``."""
    if have > want:
        raise UpcastError(
            f"A stored {event_type} event has schema v{have}, newer than the class's "
            f"v{want}: it was written by newer code. Update the {event_type} class."
        )
    raise UpcastError(
        f"No upcaster brings {event_type} from v{have} to v{have + 1} (the class is at "
        f"v{want}). Add `@upcaster({event_type!r}, from_version={have})`"
        + (" or switch it back on." if (event_type, have) in _DISABLED else ".")
    )


def describe(chain: Iterable[Upcaster] | None = None) -> str:
    """One line per step, for printing in a notebook."""
    return "\n".join(str(s) for s in (chain if chain is not None else steps()))
