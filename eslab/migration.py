"""Copy-and-replace: migrate a store by writing an upcast copy of it (Greg Young).

The third way *Versioning in an Event Sourced System* names, beside upcasting on every
load (:mod:`eslab.upcasting`) and a weak schema: read every event through today's
classes and upcasters and write the result into a new store — same ids, versions and
times, in the same order. The old store stays as it was; the application then switches
to the copy (a migration with a cut-over).
"""

from __future__ import annotations

import json

import pandas as pd

from eslab import events
from eslab.store import EventStore


def copy_and_replace(source: EventStore, target: EventStore, entity_type: str | None = None) -> int:
    """*Copy-and-replace*: write every event of ``source``, upcast to today's schema, into
    ``target`` (same ids, versions and times, in the same order); return how many.

    The old store is left as it was. Afterwards the application would switch to
    ``target`` — a migration with a cut-over, instead of upcasting on every load.
    """
    rows = []
    for stored in source.read_all(entity_type=entity_type):
        event = stored.event
        rows.append(
            {
                "event_id": stored.event_id,
                "entity_type": stored.entity_type,
                "entity_id": stored.entity_id,
                "entity_version": stored.entity_version,
                "event_type": type(event).event_type,
                "schema_version": type(event).schema_version,
                "event_data": events.serialize(event),
                "metadata": json.dumps(stored.metadata.to_dict())
                if stored.metadata.to_dict()
                else None,
                "created_at": stored.created_at,
                "triggering_event": stored.triggering_event,
            }
        )
    if not rows:
        return 0
    return target.bulk_insert(pd.DataFrame(rows))
