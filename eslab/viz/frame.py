"""Turn whatever holds events into one tidy DataFrame the pictures can draw."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from eslab.events import StoredEvent

COLUMNS = ["position", "entity_type", "entity_id", "entity_version", "event_type",
           "created_at"]
"""The columns every picture needs (one row per event)."""


def events_frame(source: Any) -> pd.DataFrame:
    """A DataFrame with :data:`COLUMNS` (+ ``stream``) from a store, events or a DataFrame."""
    from eslab.store import EventStore

    if isinstance(source, EventStore):
        frame = source.to_dataframe()
    elif isinstance(source, pd.DataFrame):
        frame = source
    elif isinstance(source, Sequence) and all(isinstance(e, StoredEvent) for e in source):
        frame = pd.DataFrame(
            [{c: getattr(e, c) for c in COLUMNS} for e in source], columns=COLUMNS)
    else:
        raise TypeError(
            f"Cannot draw {type(source).__name__}: pass an EventStore, a list of StoredEvent "
            "or a DataFrame with the columns " + ", ".join(COLUMNS) + ".")
    if missing := [c for c in COLUMNS if c not in frame.columns]:
        raise ValueError(f"The events table lacks the columns {missing}; it has "
                         f"{list(frame.columns)}.")
    frame = frame[COLUMNS].copy()
    frame["stream"] = frame["entity_type"].astype(str) + " " + frame["entity_id"].astype(str)
    return frame.sort_values("position", kind="stable").reset_index(drop=True)
