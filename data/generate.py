#!/usr/bin/env python3
"""Re-create the old-schema FTGO order events in this folder, byte for byte.

This script plays FTGO's Order Service as it was before today's schema: it writes the
``OrderCreated`` events the way release v1 (2019) and release v2 (September 2020) did,
plus the unchanged ``OrderAuthorized`` / ``OrderRejected`` / ``OrderCancelled`` events.
It uses only the standard library and a fixed seed per file, so running it again gives
the very same bytes (``--check`` proves it). See README.md in this folder.

    python data/generate.py           # (re)write the .jsonl files
    python data/generate.py --check   # exit 1 if a file here differs from a fresh run
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CATALOG = json.loads((HERE / "catalog.json").read_text(encoding="utf-8"))
V2_ROLLOUT = (datetime(2020, 9, 1), datetime(2020, 11, 1))
"""v2 was switched on city by city over these two months: v1 and v2 were both written."""
N_CONSUMERS = 40


@dataclass(frozen=True)
class Era:
    """One file: which orders, over which dates, from which seed."""

    file: str
    seed: int
    first_order: int
    orders: int
    start: datetime
    end: datetime


ERAS = (
    Era("ftgo_orders_v1.jsonl", 2019, 1, 120, datetime(2019, 3, 1), datetime(2020, 6, 1)),
    Era("ftgo_orders_mixed.jsonl", 2020, 121, 120, datetime(2020, 6, 1), datetime(2021, 6, 1)),
)


def consumer_address(number: int) -> str:
    """The delivery address of consumer ``number``, one string as v1/v2 stored it."""
    rng = random.Random(1000 + number)
    street = f"{rng.randint(1, 4999)} {rng.choice(CATALOG['streets'])}"
    if rng.random() < 0.25:
        street = f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}, {street}"
    city, postcode = rng.choice(CATALOG["cities"])
    return f"{street}, {city} {postcode}"


def order_created_version(rng: random.Random, at: datetime) -> int:
    """v1 before the rollout, v2 after it, either while it ran."""
    start, end = V2_ROLLOUT
    if at < start:
        return 1
    if at >= end:
        return 2
    return 2 if rng.random() < (at - start) / (end - start) else 1


def order_created(rng: random.Random, version: int) -> dict[str, Any]:
    """The payload of one OrderCreated, in the v1 or v2 layout."""
    number = rng.randint(1, N_CONSUMERS)
    restaurant = rng.choice(CATALOG["restaurants"])
    items = rng.sample(restaurant["menu"], rng.randint(1, 3))
    lines = [(item, rng.randint(1, 3)) for item in items]
    common = {"consumerId": f"consumer-{number:03d}", "restaurantId": restaurant["id"]}
    if version == 1:
        total = 0.0
        for item, quantity in lines:
            total += item["cents"] / 100 * quantity  # float dollars: v1's mistake
        return common | {
            "lineItems": [
                {"menuItemId": i["id"], "name": i["name"], "quantity": q, "price": i["cents"] / 100}
                for i, q in lines
            ],
            "orderTotal": total,
            "deliveryAddress": consumer_address(number),
        }
    return common | {
        "lineItems": [
            {"menuItemId": i["id"], "name": i["name"], "quantity": q, "priceCents": i["cents"]}
            for i, q in lines
        ],
        "totalCents": sum(i["cents"] * q for i, q in lines),
        "currency": "USD",
        "deliveryAddress": consumer_address(number),
    }


def later_events(rng: random.Random, created: datetime) -> list[tuple[datetime, str, dict]]:
    """What happened to an order after it was created (authorized, maybe cancelled)."""
    decided = created + timedelta(seconds=rng.randint(60, 900))
    if rng.random() < 0.15:
        reason = rng.choice(CATALOG["rejection_reasons"])
        return [(decided, "OrderRejected", {"reason": reason})]
    happened = [(decided, "OrderAuthorized", {})]
    if rng.random() < 0.08:
        happened.append((decided + timedelta(seconds=rng.randint(300, 1800)), "OrderCancelled", {}))
    return happened


def era_rows(era: Era) -> list[dict[str, Any]]:
    """Every event row of one file, in the order the old store wrote them."""
    rng = random.Random(era.seed)
    days = (era.end - era.start).days
    times = sorted(
        era.start
        + timedelta(
            days=rng.randrange(days),  # lunch and dinner hours
            seconds=rng.randrange(11 * 3600, 22 * 3600),
        )
        for _ in range(era.orders)
    )
    rows = []
    for offset, created in enumerate(times):
        order_id = f"order-{era.first_order + offset:04d}"
        version = order_created_version(rng, created)
        history = [(created, "OrderCreated", order_created(rng, version))]
        history += later_events(rng, created)
        for entity_version, (at, event_type, data) in enumerate(history, start=1):
            rows.append(
                {
                    "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "entity_type": "Order",
                    "entity_id": order_id,
                    "entity_version": entity_version,
                    "event_type": event_type,
                    "schema_version": version if event_type == "OrderCreated" else 1,
                    "created_at": at.isoformat(),
                    "event_data": data,
                }
            )
    rows.sort(key=lambda r: (r["created_at"], r["entity_id"], r["entity_version"]))
    return rows


def render(era: Era) -> bytes:
    """The file's bytes: one JSON object per line."""
    lines = [json.dumps(row, ensure_ascii=False) for row in era_rows(era)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the files here instead of writing them"
    )
    args = parser.parse_args(argv)
    status = 0
    for era in ERAS:
        path, fresh = HERE / era.file, render(era)
        if not args.check:
            path.write_bytes(fresh)
            events = fresh.count(b"\n")
            print(f"wrote {path.name}: {events} events, {len(fresh):,} bytes")
        elif not path.exists() or path.read_bytes() != fresh:
            print(f"{path.name} differs from a fresh run of generate.py", file=sys.stderr)
            status = 1
        else:
            print(f"{path.name}: identical")
    return status


if __name__ == "__main__":
    sys.exit(main())
