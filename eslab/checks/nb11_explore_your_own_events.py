"""Self-checks for notebook 11: explore your own events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from eslab.checks import CheckResult, hint, passed

_LEDGER_MAP = {
    "stream_id": "acct",
    "stream_type": "aggregate",
    "version": "n",
    "timestamp": "at",
    "event_type": "kind",
    "payload": "body",
}


def ledger_table() -> pd.DataFrame:
    """A log from "some other system": bank events under column names of its own."""
    rows = [
        (
            "acc-7",
            "BankAccount",
            1,
            "2024-06-01T10:00:00Z",
            "AccountOpened",
            '{"owner": "lin", "initial_deposit": 10}',
        ),
        (
            "acc-9",
            "BankAccount",
            1,
            "2024-06-01T10:01:00Z",
            "AccountOpened",
            '{"owner": "sam", "initial_deposit": 0}',
        ),
        ("acc-7", "BankAccount", 2, "2024-06-01T10:02:30Z", "MoneyDeposited", '{"amount": 25}'),
        ("acc-9", "BankAccount", 2, "2024-06-01T10:04:00Z", "MoneyDeposited", '{"amount": 40}'),
        ("acc-7", "BankAccount", 3, "2024-06-01T10:05:00Z", "MoneyWithdrawn", '{"amount": 5}'),
    ]
    return pd.DataFrame(rows, columns=["acct", "aggregate", "n", "at", "kind", "body"])


def exercise_1(answer: Any) -> CheckResult:
    """Is ``answer`` a column mapping that reads :func:`ledger_table` correctly?"""
    from eslab.frame import EventTableError, events_frame

    if not isinstance(answer, Mapping):
        return hint(
            "The answer is a dict: eslab's name (stream_id, stream_type, version, "
            "timestamp, event_type, payload) → the ledger's column name."
        )
    try:
        got = events_frame(ledger_table(), answer)
    except EventTableError as exc:
        return hint(f"events_frame() refused the mapping: {exc}")
    except Exception as exc:  # a check never raises
        return hint(f"events_frame() failed: {type(exc).__name__}: {exc}")
    want = events_frame(ledger_table(), _LEDGER_MAP)
    for column in (
        "entity_id",
        "entity_type",
        "entity_version",
        "event_type",
        "created_at",
        "event_data",
    ):
        if not got[column].astype(str).equals(want[column].astype(str)):
            return hint(
                f"The frame's {column} column does not hold what it should. Which "
                "ledger column means that? (Look at ledger_table().head().)"
            )
    return passed("The ledger reads as an event log: every column found its meaning.")


def exercise_2(answer: Any) -> CheckResult:
    """Grace's balance right after the event at position 8 of the eventsourcing sample."""
    try:
        expected = _grace_balance()
    except Exception as exc:
        return hint(f"The sample could not be read here ({exc}); check data/samples/.")
    if answer is None:
        return hint(
            "Replay grace's stream up to the event at position 8: state_after(frame, "
            "position, BankAccount) — the time machine."
        )
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint(
            f"The balance is a whole number of euros, got {type(answer).__name__}: "
            "take .balance of the replayed account."
        )
    if answer != expected:
        return hint(
            "Not that balance. Replay only the events of grace's account, and only up "
            "to position 8 — later events are not part of that moment."
        )
    return passed(f"Right after position 8 grace had {expected} € — the history is all there.")


def exercise_3(answer: Any) -> CheckResult:
    """The entity_version Eventuate keeps for Order 103: the id of its last event."""
    try:
        ids = _order_event_ids("103")
    except Exception as exc:
        return hint(f"The sample could not be read here ({exc}); check data/samples/.")
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        return hint(
            "Eventuate does not keep a counter: its entities table holds the id of the "
            "aggregate's last event (a text like 0000018e…-…)."
        )
    if not isinstance(answer, str):
        return hint("The answer is an event id (text) from the event_id column.")
    if answer == ids[-1]:
        return passed(
            "That is what Eventuate's entities row holds for Order 103; an update "
            "compares it to the id it read (optimistic locking)."
        )
    if answer in ids:
        return hint(
            "That event belongs to Order 103, but is it the newest one? Event ids grow with time."
        )
    return hint(
        "That id is not one of Order 103's events: filter the frame on the stream "
        "'Order 103' first."
    )


def _grace_balance() -> int:
    from eslab.domain.bank import BankAccount
    from eslab.importers import read_eventsourcing_sqlite, sample_path
    from eslab.widgets.explorer import state_after

    frame = read_eventsourcing_sqlite(sample_path("eventsourcing_stored_events.sqlite"))
    account = state_after(frame, 8, BankAccount)
    assert isinstance(account, BankAccount)
    return account.balance


def _order_event_ids(order_id: str) -> list[str]:
    from eslab.importers import read_eventuate_events, sample_path

    frame = read_eventuate_events(sample_path("eventuate_events.csv"))
    rows = frame[(frame["entity_type"] == "Order") & (frame["entity_id"] == order_id)]
    return list(rows.sort_values("entity_version")["event_id"])
