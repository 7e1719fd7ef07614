"""The class's progress on the shared store: passed exercises and conflicts, as events.

In a workshop every learner's kernel has ``ESLAB_STORE`` set (the hub does it). A passing
self-check then appends one ``ExercisePassed`` event, and the conflict lab one
``ConflictSeen`` per refused save, to the learner's own stream ``ClassProgress/<learner>``
on the shared store; the instructor's live view (:mod:`eslab.widgets.class_view`) reads
them back. Without ``ESLAB_STORE`` nothing is recorded. Recording never raises: a store
that is down must not break a learner's check.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass

import pandas as pd

from eslab.errors import ConcurrencyError
from eslab.events import Event
from eslab.store import EventStore

STREAM_TYPE = "ClassProgress"
"""The entity type of every learner's progress stream."""

_stores: dict[str, EventStore] = {}


@dataclass(frozen=True)
class ExercisePassed(Event):
    """A learner's self-check passed."""

    learner: str
    notebook: str
    check: str


@dataclass(frozen=True)
class ConflictSeen(Event):
    """A learner's save was refused by optimistic locking."""

    learner: str
    stream: str
    expected_version: int
    actual_version: int | None


def learner() -> str:
    """Who is working: ``$ESLAB_LEARNER`` (set by the hub), else the login name."""
    return os.environ.get("ESLAB_LEARNER") or getpass.getuser()


def shared_store() -> EventStore | None:
    """The shared store named by ``$ESLAB_STORE`` (one per process), or None."""
    url = os.environ.get("ESLAB_STORE")
    if not url:
        return None
    if url not in _stores or _stores[url].closed:
        _stores[url] = EventStore(url)
    return _stores[url]


def record(event: Event, store: EventStore | None = None) -> bool:
    """Append ``event`` to the learner's progress stream; False when not recorded."""
    try:
        store = store or shared_store()
        if store is None:
            return False
        for _ in range(5):  # the same learner in two kernels: reread and go again
            head = store.head(STREAM_TYPE, learner())
            try:
                store.append(STREAM_TYPE, learner(), [event], expected_version=head)
                return True
            except ConcurrencyError:
                continue
    except Exception:  # a progress record must never break the learner's work
        return False
    return False


def exercise_passed(notebook: str, check: str, store: EventStore | None = None) -> bool:
    """Record that ``check`` of ``notebook`` passed (no-op without a shared store)."""
    return record(ExercisePassed(learner(), notebook, check), store)


def conflict_seen(
    stream: str, expected: int, actual: int | None, store: EventStore | None = None
) -> bool:
    """Record a refused save on ``stream`` (no-op without a shared store)."""
    return record(ConflictSeen(learner(), stream, expected, actual), store)


def progress(store: EventStore) -> pd.DataFrame:
    """Every progress event: learner, kind, notebook, check, stream, position."""
    frame = store.to_dataframe(entity_type=STREAM_TYPE)
    rows = []
    for row in frame.itertuples():
        data = json.loads(str(row.event_data))
        rows.append({"position": row.position, "kind": row.event_type, **data})
    columns = ["position", "kind", "learner", "notebook", "check", "stream"]
    return pd.DataFrame(rows).reindex(columns=columns)


def passes_per_notebook(store: EventStore) -> pd.DataFrame:
    """Learners × notebooks: how many different checks each learner has passed."""
    frame = progress(store)
    passed = frame[frame["kind"] == "ExercisePassed"].drop_duplicates(
        ["learner", "notebook", "check"]
    )
    if passed.empty:
        return pd.DataFrame()
    return passed.pivot_table(
        index="learner", columns="notebook", values="check", aggfunc="count", fill_value=0
    )


def conflicts_per_learner(store: EventStore) -> pd.Series:
    """How many refused saves each learner has seen."""
    frame = progress(store)
    return frame[frame["kind"] == "ConflictSeen"].groupby("learner").size().rename("conflicts")
