"""Self-checks for notebook 10 (benefits, drawbacks and deleting data · 데이터 삭제)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed

FORGET = "customer-4"
"""Exercise 1 forgets this demo customer."""

FORGOTTEN_IN_THE_NOTEBOOK = frozenset({"customer-2"})
"""The notebook forgets these before the exercise (they may stay forgotten)."""


@never_raise
def exercise_1(store: Any) -> CheckResult:
    """customer-4 is forgotten everywhere; every other customer still replays in full."""
    from eslab.lessons.nb10_tradeoffs_and_deleting_data import (
        DEMO_CUSTOMERS,
        Customer,
        demo_personal_data,
    )
    from eslab.shredding import FORGOTTEN, CryptoShredder, find_plaintext

    shredder = CryptoShredder(store)
    if not shredder.is_forgotten(FORGET):
        return hint(
            f"{FORGET}'s key is still there, so their events still decrypt. Deleting "
            "the key is what forgets a customer."
        )
    left = find_plaintext(store, demo_personal_data(FORGET))
    if not left.empty:
        where = ", ".join(sorted(set(left["table"])))
        return hint(
            f"The key is gone, but plaintext copies remain in: {where}. A read model "
            "learns about the forgetting from the log, like about any other event."
        )
    for customer_id, name, *_ in DEMO_CUSTOMERS:
        if customer_id == FORGET:
            continue
        if shredder.is_forgotten(customer_id):
            if customer_id in FORGOTTEN_IN_THE_NOTEBOOK:
                continue
            return hint(
                f"{customer_id} was forgotten too: forget only {FORGET}; the others "
                "must still replay in full."
            )
        replayed = Customer.replay([s.event for s in shredder.load("Customer", customer_id)])
        if replayed.name != name:
            return hint(
                f"{customer_id} reads as {replayed.name!r}: its events no longer "
                "decrypt with its key. Run the notebook again from the top."
            )
    customer = Customer.replay([s.event for s in shredder.load("Customer", FORGET)])
    if customer.name != FORGOTTEN:
        return hint(
            f"{FORGET}'s events should still replay, with the personal fields reading as forgotten."
        )
    return passed(
        f"Right: {FORGET}'s events still replay (city {customer.city!r} is kept), no "
        "table holds their personal data, everyone else is untouched."
    )


@never_raise
def exercise_2(store: Any, order_id: str, answer: Any) -> CheckResult:
    """The time machine: the order's total in cents at version 1."""
    from eslab.aggregate import AggregateRepository
    from eslab.domain.order import Order

    if answer is None:
        return hint(
            "Load the order as it was at version 1 with the repository, then read "
            "its total (in cents)."
        )
    repo = AggregateRepository(store, Order)
    then = repo.find(order_id, version=1).total.cents
    now = repo.find(order_id).total.cents
    value = getattr(getattr(answer, "total", answer), "cents", answer)
    if isinstance(value, bool) or not isinstance(value, int):
        return hint("Answer with a number of cents (an int), e.g. order.total.cents.")
    if value == then:
        return passed(
            f"Right: {then} cents at version 1 (today {now}) — the history is "
            "still there, so any past state can be rebuilt."
        )
    if value == now:
        return hint("That is today's total. Travel back: find(order_id, version=…).")
    if value == then // 100 or value * 100 == then:
        return hint("Close — the totals are kept in cents, not euros.")
    return hint("Not the total of that version: replay the stream only up to version 1.")
