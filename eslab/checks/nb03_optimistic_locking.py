"""Self-checks for notebook 03 (optimistic locking)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, passed


def exercise_1(table: Any, answer: Any) -> CheckResult:
    """Bob's save of row ``order-9`` must not overwrite Alice's; ``answer`` = rows it changed."""
    from eslab.lessons.nb03_optimistic_locking import VersionedTable

    if not isinstance(table, VersionedTable):
        return hint("Pass the exercise's VersionedTable (ex1) as the first argument.")
    if answer is None:
        return hint(
            "Save Bob's change with ex1.write(...) and put the number of rows his "
            "UPDATE changed (CrudWrite.rows) in `answer`."
        )
    try:
        row = table.read("order-9")
    except Exception as exc:  # the learner's table: report, don't raise
        return hint(
            f"Reading row order-9 failed ({type(exc).__name__}); run the set-up lines "
            "of the exercise cell again."
        )
    bobs = [w for w in table.log if w.session == "Bob"]
    if not bobs:
        return hint("Run Bob's save through ex1.write(..., session='Bob') so it is logged.")
    if row.data != {"pizzas": 3}:
        return hint(
            "Bob's UPDATE overwrote Alice's change — a lost update. Which WHERE "
            "condition makes an UPDATE match only the version Bob read?"
        )
    if "version = $original_version" not in bobs[-1].sql:
        return hint(
            "Bob's save must say which version he read (the seed's `WHERE version = <original>`)."
        )
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint(
            f"`answer` should be an int — a count of rows, as the database reports it — "
            f"not {type(answer).__name__}."
        )
    if answer != bobs[-1].rows:
        return hint(
            "`answer` should be the number of rows Bob's UPDATE changed, as the "
            "database reported it."
        )
    return passed(
        "0 rows: Bob's stale write changed nothing, and Alice's change is safe. "
        "Bob must reload and decide again."
    )


def _interfering_store(conflicts: int) -> Any:
    """An EventStore whose first ``conflicts`` updates are beaten by another writer.

    It also notes what the learner's code does after each conflict: whether it loaded the
    stream again before the next append, and whether the library's repository (rather
    than a hand-written loop) made the append.
    """
    from eslab.domain.bank import MoneyDeposited
    from eslab.store import EventStore

    class InterferingStore(EventStore):
        conflicts_left = conflicts
        loaded_since_conflict = True
        retried_without_reload = False
        appended_by_repository = False

        def load_events(self, *args: Any, **kwargs: Any) -> Any:
            self.loaded_since_conflict = True
            return super().load_events(*args, **kwargs)

        def append(
            self,
            entity_type: str,
            entity_id: str,
            events: Any,
            expected_version: int,
            **kwargs: Any,
        ) -> int:
            if _called_by_repository_update():
                self.appended_by_repository = True
            if not self.loaded_since_conflict:
                self.retried_without_reload = True
            if self.conflicts_left > 0 and expected_version > 0:
                self.conflicts_left -= 1
                self.loaded_since_conflict = False
                head = self.head(entity_type, entity_id)
                # two events, so a retry that guesses "version + 1" still misses
                super().append(
                    entity_type, entity_id, [MoneyDeposited(50), MoneyDeposited(50)], head
                )
            return super().append(entity_type, entity_id, events, expected_version, **kwargs)

    return InterferingStore()


def _called_by_repository_update() -> bool:
    """Is a retrying ``AggregateRepository.update_with_result`` on the call stack?"""
    import sys

    from eslab.aggregate import AggregateRepository

    target = AggregateRepository.update_with_result.__code__
    frame: Any = sys._getframe(1)
    while frame is not None:
        retries: Any = getattr(frame.f_locals.get("self"), "retries", 0)
        if frame.f_code is target and retries:
            return True
        frame = frame.f_back
    return False


def exercise_2(deposit_with_retry: Any) -> CheckResult:
    """``deposit_with_retry(store, account_id, amount) -> retries used`` keeps every deposit."""
    from eslab.aggregate import AggregateRepository
    from eslab.domain.bank import BankAccount, OpenAccount
    from eslab.errors import ConcurrencyError

    if not callable(deposit_with_retry):
        return hint("Define a function deposit_with_retry(store, account_id, amount).")
    for conflicts in (0, 1, 3):
        store = _interfering_store(conflicts)
        AggregateRepository(store, BankAccount).save(OpenAccount("Eve", 10), entity_id="eve")
        try:
            retries = deposit_with_retry(store, "eve", 5)
        except ConcurrencyError:
            return hint(
                "A ConcurrencyError escaped: someone else appended first. Catch it, "
                "load the account again (a fresh version) and try once more."
            )
        except Exception as exc:  # the learner's code: report, don't raise
            return hint(f"Your function raised {type(exc).__name__}: {exc}")
        if store.appended_by_repository:
            return hint(
                "The library's repository did the retrying for you (fine in real code). "
                "Here, write the loop yourself: find, process, append with the version "
                "you read, and on ConcurrencyError go round again."
            )
        if store.retried_without_reload:
            return hint(
                "After the conflict your code appended again without loading the account "
                "first. A retry must reload (the other writer's events, a new version) and "
                "decide again with process(): the old decision was made on a stale state."
            )
        balance = AggregateRepository(store, BankAccount).find("eve").balance
        if balance == 10 + 100 * conflicts:
            return hint(
                "Nothing was deposited: load the account, process Deposit(amount) and "
                "append the events with the version you loaded."
            )
        if balance != 10 + 100 * conflicts + 5:
            return hint(
                "The final balance is wrong: every retry must start from a fresh load, "
                "so the other writer's deposit is kept and yours is added once."
            )
        if isinstance(retries, bool) or not isinstance(retries, int):
            return hint(
                f"Return the number of retries as an int (a count, not {type(retries).__name__})."
            )
        if retries != conflicts:
            return hint(
                f"With {conflicts} conflict(s) your function should report {conflicts} "
                f"retr{'y' if conflicts == 1 else 'ies'}; it returned {retries!r}."
            )
    return passed(
        "Reload, process, append with the version read; retry on conflict. That is "
        "what Eventuate's repository does (at most 10 attempts: the first and 9 retries)."
    )
