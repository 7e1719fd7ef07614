"""Self-checks for notebook 01 (why event sourcing)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, passed


def exercise_1(balance_after_third: Any, store: Any, account_id: str) -> CheckResult:
    """The balance right after the account's third event, computed from the log."""
    from eslab.aggregate import AggregateRepository
    from eslab.domain.bank import BankAccount

    expected = AggregateRepository(store, BankAccount).find(account_id, version=3).balance
    if not isinstance(balance_after_third, int) or isinstance(balance_after_third, bool):
        return hint(
            "Give a number: replay the first three events (or use find(..., "
            "version=3)) and read .balance."
        )
    if balance_after_third != expected:
        return hint(
            "Not that value. The CRUD row only knows the latest balance; the event "
            "log knows every step — replay just the first three events."
        )
    return passed("History is kept: the log answers questions about the past.")


def exercise_2(withdrawals: Any, store: Any, account_id: str) -> CheckResult:
    """How many MoneyWithdrawn events the account has (an audit question)."""
    expected = sum(e.event_type == "MoneyWithdrawn" for e in store.load("BankAccount", account_id))
    if withdrawals != expected:
        return hint(
            "Count the events of type MoneyWithdrawn in the account's stream — the "
            "audit log is the event log itself."
        )
    return passed("The audit trail comes for free: every change is an event.")
