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


MAPPING_KEYS = {
    "stream_id": "entity_id",
    "stream_type": "entity_type",
    "version": "entity_version",
    "event_type": "event_type",
    "timestamp": "created_at",
    "payload": "event_data",
}
"""Exercise 1: each key of the mapping → the frame column it fills (hints name the key)."""


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
    for key, column in MAPPING_KEYS.items():
        if not got[column].astype(str).equals(want[column].astype(str)):
            return hint(
                f"{key!r} does not point at the right ledger column (the frame's {column} "
                "came out wrong). Which of the ledger's columns means that? (Look at "
                "ledger_table().head().)"
            )
    return passed("The ledger reads as an event log: every column found its meaning.")


def _eventuate_sample() -> pd.DataFrame:
    from eslab.importers import read_eventuate_events, sample_path

    return read_eventuate_events(sample_path("eventuate_events.csv"))


def _renumbered(frame: pd.DataFrame, offset: int) -> pd.DataFrame:
    """The same log with every Order and Ticket id moved by ``offset`` (another day's log)."""
    other = frame.copy()
    moved = other["entity_type"].isin(["Order", "Ticket"])
    other.loc[moved, "entity_id"] = [str(int(i) + offset) for i in other.loc[moved, "entity_id"]]
    other["stream"] = other["entity_type"] + " " + other["entity_id"]
    return other


def _rejected(frame: pd.DataFrame) -> set[str]:
    rows = frame[(frame["entity_type"] == "Order") & (frame["event_type"] == "OrderRejectedEvent")]
    return {str(i) for i in rows["entity_id"]}


def exercise_2(find: Any) -> CheckResult:
    """``find(frame) -> set of order ids`` whose CreateOrderSaga was compensated, read off an
    Eventuate log. The check runs it on the sample and on a renumbered copy."""
    if not callable(find):
        return hint("Define a function that takes an events frame and returns a set of order ids.")
    try:
        sample = _eventuate_sample()
    except Exception as exc:
        return hint(f"The sample could not be read here ({exc}); check data/samples/.")
    for where, frame in (("", sample), ("On another log (other order ids): ", None)):
        frame = frame if frame is not None else _renumbered(sample, 500)
        try:
            got = find(frame.copy())
        except Exception as exc:  # the learner's code
            return hint(f"Your function raised {type(exc).__name__}: {exc}.")
        if not isinstance(got, set | frozenset | list | tuple) or isinstance(got, str):
            return hint("Return a set of order ids (the entity_id of each Order stream).")
        got = {str(g).removeprefix("Order ") for g in got}
        truth = _rejected(frame)
        if got == truth:
            continue
        cancelled = {
            str(i) for i in frame.loc[frame["event_type"] == "OrderCancelledEvent", "entity_id"]
        }
        if got & cancelled:
            return hint(
                where + "An order its consumer cancelled after approval is not a compensation: "
                "its saga succeeded. A compensated saga ends with the order *rejected* after "
                "a participant (the card) refused."
            )
        return hint(
            where + "Not those orders. Read the log saga by saga: which orders ended rejected "
            "after their ticket had been created (and then cancelled)? Compute it from the "
            "frame — the check runs your function on a second log."
        )
    return passed(
        "Right, on both logs: compensation is visible in any event store — TicketCancelled and "
        "OrderRejected after the card was refused."
    )


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


def _order_event_ids(order_id: str) -> list[str]:
    from eslab.importers import read_eventuate_events, sample_path

    frame = read_eventuate_events(sample_path("eventuate_events.csv"))
    rows = frame[(frame["entity_type"] == "Order") & (frame["entity_id"] == order_id)]
    return list(rows.sort_values("entity_version")["event_id"])
