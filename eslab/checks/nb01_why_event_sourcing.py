"""Self-checks for notebook 01 (why event sourcing).

Exercise 1 is a design task (name the events of a scenario); exercise 2 asks a question
about the past that only the event log can answer, on a stream nobody has printed.
"""

from __future__ import annotations

import re
from typing import Any

from eslab.checks import CheckResult, hint, passed

LIBRARY_SCENARIO = (
    "the book is added to the catalogue",
    "Mia borrows it",
    "Leo tries to borrow it too — refused: it is on loan",
    "Mia returns it, three days late",
    "the library removes it from the catalogue (damaged)",
)
"""Exercise 1's scenario, one line per step (the third changes nothing)."""

_STEP_WORDS = (
    ("add", "catalog", "acquir", "regist", "creat", "list", "stock", "purchas", "receiv"),
    ("borrow", "lent", "loan", "checkedout", "issued"),
    ("return", "checkedin", "broughtback", "handedback"),
    ("remov", "withdrawn", "retir", "discard", "delet", "decommission", "writtenoff", "scrap"),
)
"""Word stems that say what happened in each step that changes the book."""

_REFUSED = ("refus", "reject", "fail", "denied", "declin", "attempt", "tried")
_CRUD = ("updated", "changed", "modified", "saved", "edited", "persisted", "stored")
_IRREGULAR_PAST = {
    "lent",
    "paid",
    "sent",
    "made",
    "taken",
    "given",
    "held",
    "sold",
    "lost",
    "withdrawn",
}


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z][a-z0-9]*", name)]


def _is_past_tense(name: str) -> bool:
    return any(w.endswith("ed") or w in _IRREGULAR_PAST for w in _words(name))


def exercise_1(event_names: Any) -> CheckResult:
    """Names for the events of the library scenario: facts, past tense, one per change."""
    if not isinstance(event_names, list | tuple) or not all(
        isinstance(n, str) for n in event_names
    ):
        return hint("Give a list of event type names (strings), in the order they happen.")
    names = list(event_names)
    for name in names:
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            return hint(
                f"{name!r} is not a type name: an event is a class, so name it like one "
                "(CapitalisedWords, no spaces)."
            )
    for name in names:
        if any(word in name.lower() for word in _REFUSED):
            return hint(
                f"{name!r}: a refused command is not a change of the book. process() "
                "raises and nothing is stored, so the log only holds what really happened."
            )
    for name in names:
        if any(w in _CRUD for w in _words(name)):
            return hint(
                f"{name!r} says *that* the book changed, not *what* happened: a consumer "
                "could not tell a loan from a return. Name the business fact."
            )
    for name in names:
        if not _is_past_tense(name):
            return hint(
                f"{name!r} reads like a command (what someone asks for). An event is a "
                "fact that already happened: name it in the past tense."
            )
    if len(names) != len(_STEP_WORDS):
        return hint(
            f"You named {len(names)} events. One event per change of the book's state: "
            "count the steps that changed something (and only those)."
        )
    for position, (name, stems) in enumerate(zip(names, _STEP_WORDS, strict=True), start=1):
        joined = "".join(_words(name))
        if not any(stem in joined for stem in stems):
            return hint(
                f"Event {position} ({name!r}) does not say what happened in its step. "
                "Read the scenario again: each event names one change, in order."
            )
    return passed(
        "Facts in the past tense, one per change, none for the refused request: the "
        "book's history, readable by anyone who subscribes to it."
    )


def exercise_2(version: Any, store: Any, account_id: str, threshold: int) -> CheckResult:
    """The version at which the account's balance first went above ``threshold``."""
    from eslab.aggregate import AggregateRepository
    from eslab.domain.bank import BankAccount

    if isinstance(version, bool) or not isinstance(version, int):
        return hint(
            f"Give a version number, an int (not {type(version).__name__}): a version "
            "counts events, so it is never a fraction or a yes/no."
        )
    repo = AggregateRepository(store, BankAccount)
    head = store.head("BankAccount", account_id)
    if not 1 <= version <= head:
        return hint(f"The stream has versions 1 to {head}: replay it and watch the balance.")
    balances = [repo.find(account_id, version=v).balance for v in range(1, head + 1)]
    if balances[version - 1] <= threshold:
        return hint(
            f"At that version the balance was not above {threshold} yet. Replay the "
            "events one at a time (or find(..., version=N)) and watch the balance."
        )
    if any(b > threshold for b in balances[: version - 1]):
        return hint(
            f"The balance was already above {threshold} earlier: the question asks "
            "for the *first* version."
        )
    return passed(
        "A question about the past, answered from the log. The CRUD row could only "
        "tell you today's balance."
    )
