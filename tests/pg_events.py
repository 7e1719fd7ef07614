"""A bare ``events`` table on PostgreSQL and raw inserts, for the log-tailing tests.

The same columns as ``eslab/schema.sql`` with a ``BIGSERIAL`` position (taken at INSERT,
visible at COMMIT). Inserts go through plain psycopg transactions, outside any store,
so a test can open two and commit them in the order it wants.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg

from eslab import events as events_module
from eslab.domain.order import Address, LineItem, Money, OrderCreated

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    position         BIGSERIAL PRIMARY KEY,
    event_id         VARCHAR   NOT NULL,
    event_type       VARCHAR   NOT NULL,
    event_data       JSON      NOT NULL,
    entity_type      VARCHAR   NOT NULL,
    entity_id        VARCHAR   NOT NULL,
    entity_version   BIGINT    NOT NULL CHECK (entity_version >= 1),
    schema_version   INTEGER   NOT NULL DEFAULT 1,
    triggering_event VARCHAR,
    metadata         JSON,
    created_at       TIMESTAMP NOT NULL,
    published        BOOLEAN   NOT NULL DEFAULT false,
    UNIQUE (entity_type, entity_id, entity_version)
)
"""

INSERT = (
    "INSERT INTO events (event_id, event_type, event_data, entity_type, entity_id, "
    "entity_version, schema_version, created_at) "
    "VALUES (%s, %s, %s, 'Order', %s, 1, %s, %s) RETURNING position"
)


def order_created(n: int) -> OrderCreated:
    """A small OrderCreated event for order ``n``."""
    item = LineItem(f"item-{n}", "Margherita", 1 + n % 3, Money(950))
    return OrderCreated(
        f"consumer-{n}", "restaurant-1", [item], item.total, Address("1 Main St", "Oakland", "1")
    )


def create_events_table(url: str) -> None:
    """Create the bare ``events`` table if it is not there."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(EVENTS_DDL)


def insert_order(connection: psycopg.Connection[Any], entity_id: str, n: int) -> int:
    """INSERT one OrderCreated for ``entity_id`` (no commit); return its position."""
    event = order_created(n)
    row = connection.execute(
        INSERT,
        (
            str(uuid.uuid4()),
            event.event_type,
            events_module.serialize(event),
            entity_id,
            event.schema_version,
            datetime(2026, 1, 1),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])
