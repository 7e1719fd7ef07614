"""Draw the README's picture, docs/timeline.png, with eslab's own timeline.

    .venv/bin/python docs/make_timeline.py

Three streams of two kinds (Order, BankAccount), a colour per event type (the palette every
picture of the course uses), the current event ringed and a refused append marked ✕.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eslab.viz import Mark, events_frame, figure_png, timeline

HERE = Path(__file__).resolve().parent

EVENTS = [
    ("Order", "o-1", "OrderCreated"),
    ("BankAccount", "acc-1", "AccountOpened"),
    ("Order", "o-2", "OrderCreated"),
    ("Order", "o-1", "OrderAuthorized"),
    ("BankAccount", "acc-1", "MoneyDeposited"),
    ("Order", "o-2", "OrderRejected"),
    ("Order", "o-1", "OrderRevisionProposed"),
    ("BankAccount", "acc-1", "MoneyWithdrawn"),
    ("Order", "o-1", "OrderRevised"),
]


def main() -> Path:
    """Write docs/timeline.png; returns its path."""
    table = pd.DataFrame(EVENTS, columns=["entity_type", "entity_id", "event_type"])
    table["position"] = range(1, len(table) + 1)
    table["created_at"] = pd.Timestamp("2024-01-01 12:00") + pd.to_timedelta(
        table["position"], unit="s"
    )
    frame = events_frame(table)
    fig = timeline(
        frame,
        highlight=9,
        marks=[Mark("Order o-2", 10, "rejected", "v3 refused: the order is already rejected")],
        title="eslab timeline: one lane per stream, a colour per event type",
        figsize=(10, 2.9),
    )
    path = HERE / "timeline.png"
    path.write_bytes(figure_png(fig, dpi=90))
    return path


if __name__ == "__main__":
    print(main())
