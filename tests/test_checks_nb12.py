"""Self-checks of notebook 12 pass on the master's solutions and hint on wrong answers.

The library domain is written in the notebook, so these tests run the master's cells
tagged ``domain`` (and ``exercise-N`` for the solutions) in a module of their own: the
checks are tested against exactly the classes a learner has.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from eslab import reject
from eslab.checks import nb12_your_own_domain as check
from eslab.projections import Delete, Update

MASTER = Path(__file__).resolve().parents[1] / "notebooks/solutions/12_your_own_domain.ipynb"


def _run_cells(tag: str, namespace: dict[str, Any]) -> None:
    nb = nbformat.read(MASTER, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and tag in cell.metadata.get("tags", []):
            source = "\n".join(
                line for line in cell.source.splitlines() if not line.startswith("%")
            )
            exec(compile(source, f"{MASTER.name}:{tag}", "exec"), namespace)


@pytest.fixture(scope="module")
def lib() -> types.ModuleType:
    """The notebook's library domain, as a module (its events registered once)."""
    module = types.ModuleType("nb12_library")
    sys.modules[module.__name__] = module
    _run_cells("domain", module.__dict__)
    return module


def _solution(lib: types.ModuleType, n: int, name: str) -> Any:
    namespace = dict(lib.__dict__)
    _run_cells(f"exercise-{n}", namespace)
    return namespace[name]


def _assert_hints(exercise: Any, make: Any, cases: list[tuple[Any, str]]) -> None:
    """Each wrong handler, put in a class by ``make``, gets a hint that says ``says``."""
    for wrong, says in cases:
        result = exercise(make(wrong))
        assert not result and says in result.message, (wrong.__name__, result)


def test_the_domain_cells_make_a_library(lib: types.ModuleType) -> None:
    assert {"Book", "Member", "Wallet", "Catalogue", "LateFeeSaga"} <= set(vars(lib))


# -- exercise 1: process_reserve, Given / When / Then ----------------------------------------------


def test_exercise_1_passes_on_the_solution(lib: types.ModuleType) -> None:
    result = check.exercise_1(_solution(lib, 1, "ReservableBook"))
    assert result and "Given/When/Then" in result.message


def _typed(handler: Any, message_class: type) -> Any:
    """Annotate the handler's message argument with the class (this file's annotations are
    strings naming locals, which the aggregate's handler lookup cannot resolve)."""
    name = handler.__code__.co_varnames[1]
    handler.__annotations__ = {name: message_class}
    return handler


def _book_with(lib: types.ModuleType, process_reserve: Any) -> type:
    handler = _typed(process_reserve, lib.ReserveBook)
    return dataclass(type("WrongBook", (lib.Book,), {"process_reserve": handler}))


def test_exercise_1_hints_on_wrong_answers(lib: types.ModuleType) -> None:
    reserve, reserved = lib.ReserveBook, lib.BookReserved
    assert "not an instance" in check.exercise_1(lib.Book()).message
    assert "no process_… method for ReserveBook" in check.exercise_1(lib.Book).message

    def always(self, command: reserve) -> list:
        return [reserved(command.member_id)]

    def never(self, command: reserve) -> list:
        raise reject("no")

    def shelf_only(self, command: reserve) -> list:
        if self.borrower is None:
            raise reject("on the shelf")
        return [reserved(command.member_id)]

    def no_twice(self, command: reserve) -> list:
        if self.borrower is None or command.member_id == self.borrower:
            raise reject("no")
        return [reserved(command.member_id)]

    def mutating(self, command: reserve) -> list:
        self.reserved_by = command.member_id
        return [reserved(command.member_id)]

    cases = [
        (always, "book on the shelf"),
        (never, "can be reserved by another member"),
        (shelf_only, "who holds the book"),
        (no_twice, "already reserved"),
        (mutating, "must not change the book"),
    ]
    _assert_hints(check.exercise_1, lambda wrong: _book_with(lib, wrong), cases)


# -- exercise 2: the projection handler ------------------------------------------------------------


def test_exercise_2_passes_on_the_solution(lib: types.ModuleType) -> None:
    result = check.exercise_2(_solution(lib, 2, "FixedCatalogue"))
    assert result and "back to the shelf" in result.message


def _catalogue_with(lib: types.ModuleType, on_returned: Any) -> type:
    handler = _typed(on_returned, lib.BookReturned)
    return type("WrongCatalogue", (lib.Catalogue,), {"on_returned": handler})


def test_exercise_2_hints_on_wrong_answers(lib: types.ModuleType) -> None:
    returned = lib.BookReturned
    assert "no handler for BookReturned" in check.exercise_2(lib.Catalogue).message
    assert "not an instance" in check.exercise_2(lib.Catalogue()).message

    def deleting(self, event: returned, stored: Any) -> Delete:
        return Delete("catalogue", {"book_id": stored.entity_id})

    def forgetting_due(self, event: returned, stored: Any) -> Update:
        return Update("catalogue", {"book_id": stored.entity_id}, {"borrower": None})

    def all_rows(self, event: returned, stored: Any) -> list:
        return [
            Update("catalogue", {"book_id": "dune"}, {"borrower": None, "due": None}),
            Update("catalogue", {"book_id": "emma"}, {"borrower": None}),
        ]

    def blank_title(self, event: returned, stored: Any) -> Update:
        where = {"book_id": stored.entity_id}
        return Update("catalogue", where, {"borrower": None, "due": None, "title": None})

    cases = [
        (deleting, "vanished"),
        (forgetting_due, "still shows a borrower or a due date"),
        (all_rows, "Another book's row changed"),
        (blank_title, "Keep the title"),
    ]
    _assert_hints(check.exercise_2, lambda wrong: _catalogue_with(lib, wrong), cases)


# -- exercise 3: the compensation ------------------------------------------------------------------


def test_exercise_3_passes_on_the_solution(lib: types.ModuleType) -> None:
    result = check.exercise_3(_solution(lib, 3, "RefundingWallet"))
    assert result and "safe to retry" in result.message


def _wallet_with(lib: types.ModuleType, process_refund: Any) -> type:
    handler = _typed(process_refund, lib.Refund)
    return dataclass(type("WrongWallet", (lib.Wallet,), {"process_refund": handler}))


def test_exercise_3_hints_on_wrong_answers(lib: types.ModuleType) -> None:
    refund, refunded = lib.Refund, lib.PaymentRefunded
    assert "no process_… method for Refund" in check.exercise_3(lib.Wallet).message
    assert "not an instance" in check.exercise_3(42).message

    def refusing(self, command: refund) -> list:
        if command.payment_id not in self.payments:
            raise reject("nothing to refund")
        return [refunded(command.payment_id, self.payments[command.payment_id])]

    def first_amount(self, command: refund) -> list:
        if command.payment_id not in self.payments:
            return []
        return [refunded(command.payment_id, next(iter(self.payments.values())))]

    def whole_balance(self, command: refund) -> list:
        return [refunded(command.payment_id, self.balance)]

    def repeat_refund(self, command: refund) -> list:  # refunds whatever it is asked
        return [refunded(command.payment_id, 150)]

    cases = [
        (refusing, "must not refuse"),
        (first_amount, "ITS amount"),
        (whole_balance, "that payment's cents"),
        (repeat_refund, "ITS amount"),
    ]
    _assert_hints(check.exercise_3, lambda wrong: _wallet_with(lib, wrong), cases)
