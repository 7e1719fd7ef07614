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


def _marked_but_never_sent(store: Any, broker: Any) -> set[str]:
    """Positions marked published in ``store`` that never reached ``broker``: lost events."""
    reached = {m.headers.get("position") for m in broker.messages("BankAccount")}
    return {str(e.position) for e in store.read_all() if e.published} - reached


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
    if sorted(str(p) for p in sent) != ["1", "2", "3"]:
        return hint(
            "Each unpublished event should be published exactly once by the first "
            "poll (store.unpublished() finds them)."
        )
    if store.unpublished():
        return hint(
            "After publishing, mark the events published (store.mark_published), or "
            "the next poll sends them again."
        )
    if any(isinstance(n, bool) or not isinstance(n, int) for n in (first, second)):
        return hint("Return how many events this poll published, as an int (a count).")
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
    if _marked_but_never_sent(crash_store, crashing):
        return hint(
            "An event was marked published although the broker never got it: it is "
            "lost. Mark only after publishing — a crash in between must give a "
            "duplicate, never a loss."
        )
    busy_store = _store_with(3)

    class BusyBroker(MessageBroker):
        """While the relay publishes, a writer commits one more event to the store."""

        def publish(self, topic: str, message: Any, headers: Any = None) -> Any:
            if not self.topics:
                from eslab.domain.bank import MoneyDeposited

                busy_store.append("BankAccount", "late-writer", [MoneyDeposited(9)], 0)
            return super().publish(topic, message, headers)

    busy = BusyBroker()
    try:
        poll_once(busy_store, busy)
    except Exception as exc:  # the learner's code: report, don't raise
        return hint(f"Your poll_once raised {type(exc).__name__}: {exc}")
    if _marked_but_never_sent(busy_store, busy):
        return hint(
            "An event that arrived while you were publishing was marked published but "
            "never sent: it is lost. Mark exactly the events of the batch you selected "
            "and published — other writers keep appending between your SELECT and UPDATE."
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
        if isinstance(got, bool) or not isinstance(got, int):
            return hint(
                f"safe_checkpoint({checkpoint}, {visible}) should return a position, an int "
                f"(not {type(got).__name__})."
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


RELAYS = ("polling publisher", "naive poller", "none")
GAP_ANSWERS = ("never", "always", "after gap_timeout")


def _norm(answer: Any) -> Any:
    return " ".join(answer.strip().lower().split()) if isinstance(answer, str) else answer


def exercise_3(skips: Any, because: Any, gap_relay_skips: Any) -> CheckResult:
    """Which relay skips a late commit, why, and when eslab's gap-aware relay does."""
    skips, because, gap = _norm(skips), _norm(because), _norm(gap_relay_skips)
    if skips not in RELAYS:
        return hint(f"`skips` should be one of {', '.join(map(repr, RELAYS))}.")
    if skips == "polling publisher":
        return hint(
            "The poller asks “what is not published yet?”. At its next poll position 7 is "
            "committed and still unpublished, so it is found — late, but not lost."
        )
    if skips == "none":
        return hint(
            "One of the relays asks “what comes after my mark?”. Follow the race: where is "
            "its mark when position 7 becomes visible?"
        )
    if because not in ("a", "b", "c", "d"):
        return hint("`because` should be one letter: 'A', 'B', 'C' or 'D'.")
    if because == "a":
        return hint(
            "The poller can only SELECT (and then mark) rows that are committed: T1's row is "
            "invisible to it until T1 commits."
        )
    if because == "c":
        return hint(
            "Nothing is lost in the database: after T1's commit the row is there. The "
            "question is whether a reader still looks for it."
        )
    if because == "d":
        return hint(
            "Position 7 was handed out and stays T1's: it is only invisible until T1 "
            "commits (sequences never roll back, which is why failed inserts leave gaps)."
        )
    if gap not in GAP_ANSWERS:
        return hint(f"`gap_relay_skips` should be one of {', '.join(map(repr, GAP_ANSWERS))}.")
    if gap == "always":
        return hint(
            "The gap-aware relay sees that 7 is missing below 8 and keeps looking for it; "
            "its checkpoint stops below the gap."
        )
    if gap == "never":
        return hint(
            "A gap may also come from a failed insert that never fills, so the relay "
            "cannot wait for ever: what happens after gap_timeout?"
        )
    return passed(
        "Positions are taken at INSERT, seen at COMMIT. A reader that trusts “above my "
        "mark” skips a late commit; the published flag finds it; a gap-aware relay waits, "
        "but only for gap_timeout. A real log tailer reads in commit order."
    )
