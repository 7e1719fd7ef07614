"""Upcasting: bring old events up to the current schema when they are loaded (book §6.1.7).

Stored events are never rewritten. Each upcaster is one step, ``vN -> vN+1`` for one
event type, written as a plain function of the event's JSON data::

    @upcaster("OrderCreated", from_version=1)
    def money_in_cents(data: dict) -> dict:
        total = data.pop("orderTotal")
        return {**data, "totalCents": round(total * 100), "currency": "USD"}

On load, eslab runs the chain of steps from the stored version up to the
``schema_version`` of the current Event class, so application code only ever sees the
newest schema. A missing step raises :class:`UpcastError` naming the type and versions.

The end of the module shows, for contrast, a **weak schema** (read fields by name, ignore
versions), one of the other ways Greg Young names in *Versioning in an Event Sourced
System*; the third, **copy-and-replace**, is :mod:`eslab.migration`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eslab.errors import UpcastError

UpcastFunction = Callable[[dict[str, Any]], dict[str, Any]]
StepKey = tuple[str, int]


@dataclass(frozen=True)
class Upcaster:
    """One step: ``event_type`` at ``from_version`` → ``from_version + 1`` (maybe renamed)."""

    event_type: str
    from_version: int
    function: UpcastFunction
    rename_to: str | None = None

    @property
    def key(self) -> StepKey:
        return (self.event_type, self.from_version)

    def __str__(self) -> str:
        target = self.rename_to or self.event_type
        return f"{self.event_type} v{self.from_version} → {target} v{self.from_version + 1}"


@dataclass(frozen=True)
class Stage:
    """The event's data at one point of the chain (``step`` is what produced it)."""

    event_type: str
    schema_version: int
    data: dict[str, Any]
    step: Upcaster | None = None


_STEPS: dict[StepKey, Upcaster] = {}
_DISABLED: set[StepKey] = set()


# -- the registry ----------------------------------------------------------------------


def _name(function: UpcastFunction) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', function)}"


def upcaster(
    event_type: str, from_version: int, *, rename_to: str | None = None, replace: bool = False
) -> Callable[[UpcastFunction], UpcastFunction]:
    """Register the decorated function as the ``from_version → +1`` step of ``event_type``.

    Running the same definition again (a notebook cell re-run) replaces the step. A function
    of another name for a step that already has one is refused with an :class:`UpcastError`
    unless ``replace=True`` says that the new one should take its place.
    """
    if isinstance(from_version, bool) or not isinstance(from_version, int) or from_version < 1:
        raise ValueError(f"from_version must be an int ≥ 1, got {from_version!r}")

    def register(function: UpcastFunction) -> UpcastFunction:
        step = Upcaster(event_type, from_version, function, rename_to)
        old = _STEPS.get(step.key)
        if old is not None and not replace and _name(old.function) != _name(function):
            raise UpcastError(
                f"{step} already has an upcaster: {old.function.__name__}. Only one step per "
                f"version can run. To put {function.__name__} in its place, register it with "
                f"@upcaster({event_type!r}, from_version={from_version}, replace=True) "
                f"(or remove the old one: upcasting.unregister({event_type!r}, {from_version}))."
            )
        _STEPS[step.key] = step
        return function

    return register


def steps(event_type: str | None = None) -> list[Upcaster]:
    """The registered steps (of one event type), in order."""
    found = [s for s in _STEPS.values() if event_type in (None, s.event_type)]
    return sorted(found, key=lambda s: (s.event_type, s.from_version))


def unregister(event_type: str, from_version: int) -> None:
    """Remove one step (tests and notebooks: wrap in :func:`preserved` to put it back)."""
    _STEPS.pop((event_type, from_version), None)


def set_enabled(event_type: str, from_version: int, enabled: bool) -> None:
    """Switch one step on or off without removing it (global: prefer :func:`switched`)."""
    (_DISABLED.discard if enabled else _DISABLED.add)((event_type, from_version))


def is_enabled(event_type: str, from_version: int) -> bool:
    """Is the step registered and switched on?"""
    key = (event_type, from_version)
    return key in _STEPS and key not in _DISABLED


@contextmanager
def switched(changes: Mapping[StepKey, bool]) -> Iterator[None]:
    """Switch steps on/off for the ``with`` block only; the old switches come back after.

    ``with switched({("OrderCreated", 2): False}): repo.find("order-1")``
    """
    saved = set(_DISABLED)
    try:
        for (event_type, from_version), enabled in changes.items():
            set_enabled(event_type, from_version, enabled)
        yield
    finally:
        _DISABLED.clear()
        _DISABLED.update(saved)


@contextmanager
def preserved() -> Iterator[None]:
    """Undo every register / unregister / switch made inside the ``with`` block."""
    saved_steps, saved_disabled = dict(_STEPS), set(_DISABLED)
    try:
        yield
    finally:
        _STEPS.clear()
        _STEPS.update(saved_steps)
        _DISABLED.clear()
        _DISABLED.update(saved_disabled)


# -- running the chain -------------------------------------------------------------------


def stages(event_type: str, schema_version: int, data: dict[str, Any]) -> list[Stage]:
    """The data as stored, then after each enabled step that applies, in chain order."""
    return _walk(event_type, schema_version, data, keep_all=True)


def upcast(
    event_type: str, schema_version: int, data: dict[str, Any]
) -> tuple[str, int, dict[str, Any]]:
    """Run every enabled step that applies; return the new (type, version, data).

    ``data`` itself is never changed: the first step works on a copy.
    """
    last = _walk(event_type, schema_version, data, keep_all=False)[-1]
    return last.event_type, last.schema_version, last.data


def _walk(
    event_type: str, schema_version: int, data: dict[str, Any], *, keep_all: bool
) -> list[Stage]:
    """Follow the chain from ``(event_type, schema_version)`` while enabled steps exist.

    With ``keep_all`` every stage is kept (each its own copy); otherwise only the last,
    and the steps after the first work on the previous step's result in place.
    """
    trail = [Stage(event_type, schema_version, data)]
    while (step := _STEPS.get((event_type, schema_version))) is not None:
        if step.key in _DISABLED:
            break
        first = len(trail) == 1 and trail[0].step is None
        source = copy.deepcopy(trail[-1].data) if keep_all or first else trail[-1].data
        try:
            result = step.function(source)
        except Exception as exc:
            raise UpcastError(f"Upcaster {step} failed on {source!r:.200}: {exc!r}") from exc
        if not isinstance(result, dict):
            raise UpcastError(f"Upcaster {step} returned {type(result).__name__}, not a dict.")
        event_type, schema_version = step.rename_to or event_type, schema_version + 1
        stage = Stage(event_type, schema_version, result, step)
        if keep_all:
            trail.append(stage)
        else:
            trail = [stage]
    return trail


def raise_missing(event_type: str, have: int, want: int) -> None:
    """Raise the error for an event stuck at ``have`` when the class is at ``want``."""
    if have > want:
        raise UpcastError(
            f"A stored {event_type} event has schema v{have}, newer than the class's "
            f"v{want}: it was written by newer code. Update the {event_type} class."
        )
    switched_off = (event_type, have) in _DISABLED and (event_type, have) in _STEPS
    raise UpcastError(
        f"No upcaster brings {event_type} from v{have} to v{have + 1} (the class is at "
        f"v{want}). "
        + (
            f"The step {event_type} v{have} → v{have + 1} is switched off: switch it back on."
            if switched_off
            else f"Add `@upcaster({event_type!r}, from_version={have})`."
        )
    )


def describe(chain: Iterable[Upcaster] | None = None) -> str:
    """One line per step, for printing in a notebook."""
    lines = []
    for step in chain if chain is not None else steps():
        off = "" if step.key not in _DISABLED else "   (switched off)"
        lines.append(f"{step}   {step.function.__name__}{off}")
    return "\n".join(lines)


# -- the alternatives Greg Young names, for contrast ------------------------------------


def weak_read(event_class: type, data: dict[str, Any]) -> dict[str, Any]:
    """A *weak schema* reader: take each field of ``event_class`` by name, None if absent.

    No versions, no upcasters: works while changes only add fields, and silently loses
    data as soon as a field is renamed, split or changes its unit.
    """
    return {f.name: data.get(f.name) for f in dataclasses.fields(event_class)}
