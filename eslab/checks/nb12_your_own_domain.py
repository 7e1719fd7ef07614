"""Self-checks for notebook 12 (your own domain: a library).

The library's classes are written in the notebook, so a check finds them where the
learner's class points: commands through its ``process_*`` annotations, events in the
event registry by name (the names the notebook uses).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from eslab.checks import CheckResult, hint, never_raise, passed
from eslab.i18n import _


def _event(name: str) -> Any:
    from eslab.events import registered_types

    found = registered_types().get(name)
    if found is None:
        raise LookupError(f"No event class {name!r} is defined: run the notebook's cells above.")
    return found


def _command(aggregate_class: type, name: str) -> Any:
    """The command class called ``name`` among the aggregate's process_* handlers (or None)."""
    table = aggregate_class._table("process")  # type: ignore[attr-defined]
    return next((cls for cls in table if cls.__name__ == name), None)


def _command_handled(value: Any, name: str, base: str, command: str, verb: str) -> Any:
    """The command class ``value`` (an aggregate class under ``base``) handles, or a hint."""
    from eslab.aggregate import Aggregate

    if not (
        isinstance(value, type)
        and issubclass(value, Aggregate)
        and any(k.__name__ == base for k in value.__mro__)
    ):
        return hint(
            _("Hand in your {name} class (a subclass of {base}), not an instance.").format(
                name=name, base=base
            )
        )
    found = _command(value, command)
    if found is None:
        return hint(
            _(
                "{name} has no process_… method for {command} yet. Write `def "
                "process_{verb}(self, command: {command}) -> list[Event]:` in the "
                "class."
            ).format(name=name, command=command, verb=verb)
        )
    return found


Scenario = tuple[Callable[[], Any], str]
"""A Given/When/Then scenario to run, and the hint to give when it fails."""


def _first_failure(scenarios: list[Scenario], mutation: str) -> CheckResult | None:
    """The hint of the first scenario that fails (None when all hold)."""
    from eslab.testing import ScenarioFailedError

    for scenario, advice in scenarios:
        try:
            scenario()
        except ScenarioFailedError as failure:
            if "changed the aggregate's state" in str(failure):
                return hint(
                    _("{mutation}: return events; only apply_… changes state.").format(
                        mutation=mutation
                    )
                )
            return hint(advice)
    return None


@never_raise
def exercise_1(book_class: Any) -> CheckResult:
    """``process_reserve``: only while lent, not by the borrower, not twice."""
    from eslab.testing import given

    reserve = _command_handled(book_class, "ReservableBook", "Book", "ReserveBook", "reserve")
    if isinstance(reserve, CheckResult):
        return reserve
    added, lent, reserved = _event("BookAdded"), _event("BookLent"), _event("BookReserved")
    dune, to_ann = added("Dune", "Frank Herbert"), lent("ann", date(2024, 3, 1))
    scenarios = [
        (
            lambda: given(book_class, dune, to_ann).when(reserve("bob")).then(reserved("bob")),
            _(
                "A lent book can be reserved by another member: given BookAdded and BookLent "
                "(to ann), ReserveBook('bob') should give [BookReserved('bob')]."
            ),
        ),
        (
            lambda: given(book_class, dune).when(reserve("bob")).then_refused(),
            _(
                "A book on the shelf need not be reserved — refuse it (reject): the member can "
                "just borrow it."
            ),
        ),
        (
            lambda: given(book_class, dune, to_ann).when(reserve("ann")).then_refused(),
            _(
                "The member who holds the book cannot reserve it: compare the command's member "
                "with the book's borrower."
            ),
        ),
        (
            lambda: (
                given(book_class, dune, to_ann, reserved("bob")).when(reserve("cy")).then_refused()
            ),
            _("A book that is already reserved cannot be reserved again: look at reserved_by."),
        ),
    ]
    failed = _first_failure(scenarios, _("process_reserve must not change the book"))
    if failed is not None:  # a hint is falsy: compare with None
        return failed
    return passed(
        _(
            "Right: four Given/When/Then scenarios hold — the invariant lives in process_reserve, "
            "and the events say what happened."
        )
    )


@never_raise
def exercise_2(projection_class: Any) -> CheckResult:
    """``on_returned``: a returned book stays in the catalogue, with no borrower and no due."""
    from eslab.projections import Projection, Projector
    from eslab.store import EventStore

    if not (isinstance(projection_class, type) and issubclass(projection_class, Projection)):
        return hint(
            _("Hand in your FixedCatalogue class (a Projection subclass), not an instance.")
        )
    if not any(cls.__name__ == "BookReturned" for cls in projection_class().handlers()):
        return hint(
            _(
                "FixedCatalogue has no handler for BookReturned yet: add "
                "`def on_returned(self, event: BookReturned, stored) -> ...:`."
            )
        )
    added, lent, returned = _event("BookAdded"), _event("BookLent"), _event("BookReturned")
    store = EventStore()  # emma is lent before dune comes back: a return must leave emma alone
    store.append("Book", "emma", [added("Emma", "Jane Austen"), lent("bob", date(2024, 3, 5))], 0)
    store.append(
        "Book",
        "dune",
        [
            added("Dune", "Frank Herbert"),
            lent("ann", date(2024, 3, 1)),
            returned("ann", date(2024, 3, 4), 3),
        ],
        0,
    )
    projector = Projector(store, projection_class())
    projector.catch_up()
    rows = {r["book_id"]: r for r in projector.read_model(order_by="book_id").to_dict("records")}
    if "dune" not in rows:
        return hint(
            _(
                "The returned book vanished from the catalogue. It is back on the shelf, not gone: "
                "update its row (Update) instead of deleting it."
            )
        )
    dune, emma = rows["dune"], rows.get("emma", {})
    if _present(dune.get("borrower")) or _present(dune.get("due")):
        return hint(
            _(
                "After the return the book still shows a borrower or a due date: set both "
                "back to None in the row whose book_id is the event's stream (stored.entity_id)."
            )
        )
    if dune.get("title") != "Dune":
        return hint(_("Keep the title: change only the borrower and due columns."))
    if emma.get("borrower") != "bob":
        return hint(
            _(
                "Another book's row changed too: the Update's `where` must name only the "
                "returned book (its book_id is stored.entity_id)."
            )
        )
    return passed(
        _(
            "Right: the catalogue follows the books back to the shelf — one handler per event "
            "type, and the read model is a plain table again."
        )
    )


def _present(value: Any) -> bool:
    """True for a real value (DuckDB gives NULL back as None, NaN or NaT)."""
    import pandas as pd

    return value is not None and not pd.isna(value)


@never_raise
def exercise_3(wallet_class: Any) -> CheckResult:
    """``process_refund``: refunds exactly that payment, and never refuses."""
    from eslab.testing import given

    refund = _command_handled(wallet_class, "RefundingWallet", "Wallet", "Refund", "refund")
    if isinstance(refund, CheckResult):
        return refund
    opened, taken, refunded = (
        _event("WalletOpened"),
        _event("PaymentTaken"),
        _event("PaymentRefunded"),
    )
    wallet, fee = opened(1000), taken("dune@2024-03-04", 150)
    other = taken("emma@2024-03-12", 350)
    scenarios = [
        (
            lambda: (
                given(wallet_class, wallet, fee)
                .when(refund("ann", "dune@2024-03-04"))
                .then(refunded("dune@2024-03-04", 150))
            ),
            _(
                "Refunding a payment that was taken should give "
                "[PaymentRefunded(payment_id, cents)] "
                "with that payment's cents."
            ),
        ),
        (
            lambda: (
                given(wallet_class, wallet, fee, other)
                .when(refund("ann", "emma@2024-03-12"))
                .then(refunded("emma@2024-03-12", 350))
            ),
            _(
                "With two payments, refund only the one the command names, with ITS amount "
                "(look it up in self.payments), not the balance or the first payment."
            ),
        ),
        (
            lambda: (
                given(wallet_class, wallet, fee, refunded("dune@2024-03-04", 150))
                .when(refund("ann", "dune@2024-03-04"))
                .then_nothing()
            ),
            _(
                "A compensation may be sent twice: refunding a payment already refunded must "
                "return no events — and must not refuse (a refused compensation stops the saga)."
            ),
        ),
        (
            lambda: given(wallet_class, wallet).when(refund("ann", "never-taken")).then_nothing(),
            _(
                "Refunding a payment that was never taken has nothing to undo: return [] — a "
                "compensation never refuses."
            ),
        ),
    ]
    failed = _first_failure(scenarios, _("process_refund must not change the wallet"))
    if failed is not None:  # a hint is falsy: compare with None
        return failed
    return passed(
        _(
            "Right: the refund undoes exactly its payment, and running it again changes nothing "
            "— a compensation that is safe to retry."
        )
    )
