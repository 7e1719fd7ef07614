"""Self-checks for notebook 04 (publishing events)."""

from __future__ import annotations

from typing import Any

from eslab.checks import CheckResult, hint, passed


def _store_with(n: int) -> Any:
    from eslab.clock import FixedClock, SeededIds
    from eslab.domain.bank import MoneyDeposited
    from eslab.store import EventStore

    store = EventStore(clock=FixedClock(), id_factory=SeededIds(4))
    for i in range(n):
        store.append("BankAccount", f"acc-{i}", [MoneyDeposited(i + 1)], 0)
    return store


def exercise_1(poll_once: Any) -> CheckResult:
    """``poll_once(store, broker) -> int``: select unpublished, publish each, then mark."""
    from eslab.messaging import MessageBroker

    if not callable(poll_once):
        return hint(
            "Define a function poll_once(store, broker) that returns how many events it published."
        )
    store, broker = _store_with(3), MessageBroker()
    try:
        first, second = poll_once(store, broker), poll_once(store, broker)
    except Exception as exc:  # the learner's code: report, don't raise
        return hint(f"Your poll_once raised {type(exc).__name__}: {exc}")
    topics = set(broker.topics)
    if topics and topics != {"BankAccount"}:
        return hint(
            f"Messages went to {sorted(topics)}: Eventuate uses one topic per aggregate "
            "type — broker.publish_event(stored) picks it for you."
        )
    sent = [m.headers.get("position") for m in broker.messages("BankAccount")]
    if not sent:
        return hint(
            "Nothing reached the broker: publish each unpublished event with "
            "broker.publish_event(stored)."
        )
    if sorted(sent) != ["1", "2", "3"]:
        return hint(
            "Each unpublished event should be published exactly once by the first "
            "poll (store.unpublished() finds them)."
        )
    if store.unpublished():
        return hint(
            "After publishing, mark the events published (store.mark_published), or "
            "the next poll sends them again."
        )
    if (first, second) != (3, 0):
        return hint(
            "Return how many events this poll published: 3 the first time, 0 when nothing is left."
        )
    crash_store = _store_with(3)

    class CrashingBroker(MessageBroker):
        def publish(self, topic: str, message: Any, headers: Any = None) -> Any:
            if len(self.topics.get(topic, [])) == 1:
                raise ConnectionError("broker unreachable")
            return super().publish(topic, message, headers)

    crashing = CrashingBroker()
    try:
        poll_once(crash_store, crashing)
    except ConnectionError:
        pass
    except Exception as exc:
        return hint(
            f"When the broker fails, let its error through; yours raised {type(exc).__name__}."
        )
    reached = {m.headers.get("position") for m in crashing.messages("BankAccount")}
    marked = {str(e.position) for e in crash_store.read_all() if e.published}
    if not marked <= reached:
        return hint(
            "An event was marked published although the broker never got it: it is "
            "lost. Mark only after publishing — a crash in between must give a "
            "duplicate, never a loss."
        )
    return passed("Select, publish, mark — in that order: at least once, never lost.")


CASES = [
    ((0, [1, 2, 3]), 3),
    ((0, [2, 3]), 0),
    ((0, [1, 2, 4, 5]), 2),
    ((5, [6, 8, 9]), 6),
    ((3, []), 3),
    ((2, [1, 2, 3, 4]), 4),
]


def exercise_2(safe_checkpoint: Any) -> CheckResult:
    """``safe_checkpoint(checkpoint, visible) -> int``: the end of the gap-free run."""
    if not callable(safe_checkpoint):
        return hint("Define a function safe_checkpoint(checkpoint, visible_positions).")
    for (checkpoint, visible), want in CASES:
        try:
            got = safe_checkpoint(checkpoint, list(visible))
        except Exception as exc:  # the learner's code: report, don't raise
            return hint(
                f"safe_checkpoint({checkpoint}, {visible}) raised {type(exc).__name__}: {exc}"
            )
        if got == want:
            continue
        if visible and got == max(visible):
            return hint(
                f"safe_checkpoint({checkpoint}, {visible}) jumped to the highest "
                "position: a missing position below it may still commit (the race). "
                "Stop before the first gap."
            )
        return hint(
            f"safe_checkpoint({checkpoint}, {visible}) returned {got!r}. Walk up from "
            "checkpoint + 1 while the next position is visible."
        )
    return passed(
        "Never move past a gap: that is what keeps a position poller from skipping a late "
        "commit (eslab's PositionPoller also waits, with a timeout, for failed inserts)."
    )
