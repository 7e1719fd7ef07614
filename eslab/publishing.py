"""Publishing events from the event store to a message broker (book §6.1.4).

An event store is also the outbox: an event is stored once, and a *relay* sends it to
the broker. The book shows two relays, both here:

* :class:`PollingPublisher` — the seed's three steps, shown one at a time::

      SELECT * FROM events WHERE published = false ORDER BY position   -- 1. find
      -- 2. publish each event to the broker (topic per aggregate type)
      UPDATE events SET published = true WHERE position IN (...)        -- 3. mark

  A crash between 2 and 3 (:meth:`PollingPublisher.crash_next_poll`) publishes the
  same events again after the restart: **at least once**, a duplicate, never a loss.

* :class:`PositionPoller` — polls the ``events`` table by global position
  (``position > checkpoint``) and stores where it got to (``store.save_checkpoint``), so
  a restart resumes without loss. It is *gap-aware*: a position it has not seen yet,
  below one it has seen, may belong to a transaction that has not committed; it keeps
  looking for it (until ``gap_timeout`` says that insert must have failed). It is still
  **polling** — it never reads a transaction log (DuckDB has none to read). Real
  transaction log tailing, over PostgreSQL's WAL, is :class:`eslab.log_tailing.WalTailer`.

A row neither relay can decode (bad JSON, an unknown event type, fields that do not fit
the class) does not stop them: it is *quarantined* — recorded once in the store's
``quarantine`` table under the relay's name, with the reason (``store.quarantined()``)
— and the relay goes on with every other event. The poller leaves it unpublished and
skips it until ``store.release_quarantined(...)``.

And the trap the seed points at (폴링: "후행 트랜잭션이 커밋된다"): positions are handed
out at INSERT, not at COMMIT. When the lower position commits *after* the higher one,
:class:`NaivePositionPoller` ("position > last seen") skips an event forever (notebook 04 runs
that race for real: ``eslab.lessons.nb04_publishing_events.CommitOrderRace``). It is a
hazard of *polling*, as the seed says. The fixes: the ``published`` flag (the polling
publisher), a gap-aware position poller, serialising appends so position order equals
commit order (``EventStore`` does this for its own writes) — or reading the transaction
log, where changes come in commit order (:class:`eslab.log_tailing.WalTailer`).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from eslab.errors import BadInputError
from eslab.events import StoredEvent
from eslab.messaging import Message, MessageBroker, message_from_event
from eslab.store import EventStore, QuarantinedEvent

SELECT_UNPUBLISHED = "SELECT * FROM events WHERE published = false ORDER BY position LIMIT $n"
MARK_PUBLISHED = "UPDATE events SET published = true WHERE position IN ($positions)"
READ_AFTER = "SELECT * FROM events WHERE position > $checkpoint ORDER BY position"
"""The SQL each relay runs, as shown to learners (the store runs the parameterised form)."""


@dataclass(frozen=True)
class RelayAction:
    """One thing a relay (or a transaction in the race) did, for step-by-step display."""

    actor: str
    action: str
    detail: str
    sql: str | None = None
    positions: tuple[int, ...] = ()


class Relay:
    """What both relays share: a store to read, a broker to publish to, a log of actions.

    A subclass shapes the message it sends for a stored event by overriding
    :meth:`message_for` (``eslab.sagas.SagaMessageRelay`` does: saga commands and
    replies go to their own channels).
    """

    def __init__(self, store: EventStore, broker: MessageBroker, name: str) -> None:
        if not isinstance(store, EventStore):
            raise BadInputError(f"store must be an eslab.EventStore, got {store!r:.60}.")
        if not isinstance(broker, MessageBroker):
            raise BadInputError(f"broker must be an eslab MessageBroker, got {broker!r:.60}.")
        self.store, self.broker, self.name = store, broker, name
        self.published: list[Message] = []
        """Every message this relay sent, in order (a repeat means a duplicate)."""
        self.actions: list[RelayAction] = []
        self.quarantined: list[QuarantinedEvent] = []
        """Rows this relay could not decode and set aside (also in ``store.quarantined()``)."""
        self._crash_next = False

    def crash_next_poll(self) -> None:
        """Make the next poll crash after publishing, before recording it (then restart)."""
        self._crash_next = True

    def published_positions(self) -> list[int]:
        """Global positions of the events sent, in order, repeats included."""
        return [int(m.headers["position"]) for m in self.published if "position" in m.headers]

    def duplicates(self) -> list[int]:
        """Positions this relay sent more than once."""
        counts = Counter(self.published_positions())
        return sorted(p for p, n in counts.items() if n > 1)

    def poll(self) -> Any:
        """One round of reading the store and publishing (subclasses define it)."""
        raise NotImplementedError

    def missed(self) -> list[int]:
        """Committed positions this relay has not sent (yet); quarantined rows excluded."""
        sent = set(self.published_positions())
        rows = self.store.read_all(quarantine_as=self.name)
        return [e.position for e in rows if e.position not in sent]

    def _act(
        self, action: str, detail: str, sql: str | None = None, positions: Sequence[int] = ()
    ) -> RelayAction:
        entry = RelayAction(self.name, action, detail, sql, tuple(positions))
        self.actions.append(entry)
        return entry

    def _quarantine(self, found: Sequence[QuarantinedEvent]) -> None:
        """Note rows the read set aside (one QUARANTINE action each)."""
        for q in found:
            self.quarantined.append(q)
            self._act(
                "QUARANTINE",
                f"position {q.position} ({q.event_type} of {q.entity_type} {q.entity_id}) "
                f"cannot be read — {q.error}: {q.reason.splitlines()[0]} It was set aside "
                "(store.quarantined()); every other event goes on.",
                positions=[q.position],
            )

    def message_for(self, event: StoredEvent) -> Message:
        """The message this relay sends for one stored event (override to shape it).

        By default the event goes to its aggregate type's topic, with the event id as
        message id (:func:`eslab.messaging.message_from_event`).
        """
        return message_from_event(event)

    def _publish(self, event: StoredEvent) -> RelayAction:
        message = self.message_for(event)
        message = self.broker.publish(message.topic, message)
        self.published.append(message)
        return self._act(
            "PUBLISH",
            f"sent position {event.position} ({event.event_type} of "
            f"{event.entity_type} {event.entity_id}) to topic {message.topic!r}",
            positions=[event.position],
        )


@dataclass(frozen=True)
class PollResult:
    """What one poll did: positions found, sent, marked, whether it crashed, set aside."""

    selected: tuple[int, ...]
    published: tuple[int, ...]
    marked: int
    crashed: bool
    quarantined: tuple[int, ...] = ()


class PollingPublisher(Relay):
    """The polling relay: find unpublished events, publish them, mark them published.

    ``step()`` does one action (SELECT, one PUBLISH, UPDATE or CRASH); ``poll()`` does a
    whole round; ``run()`` polls until nothing is left. ``crash_rate`` (seeded) or
    :meth:`crash_next_poll` makes a poll die between publishing and marking.
    """

    def __init__(
        self,
        store: EventStore,
        broker: MessageBroker,
        *,
        batch_size: int = 100,
        crash_rate: float = 0.0,
        seed: int = 0,
        name: str = "polling publisher",
    ) -> None:
        super().__init__(store, broker, name)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise BadInputError(f"batch_size must be an int ≥ 1, got {batch_size!r}.")
        if not 0 <= crash_rate < 1:
            raise BadInputError(f"crash_rate must be in [0, 1), got {crash_rate!r}.")
        self.batch_size, self.crash_rate = batch_size, crash_rate
        self.crashes = 0
        self._random = random.Random(seed)
        self._batch: list[StoredEvent] | None = None
        self._sent = 0
        self._last: PollResult | None = None

    def step(self) -> RelayAction:
        """Do the next single action: SELECT, one PUBLISH, then UPDATE (or CRASH)."""
        if self._batch is None:
            return self._select()
        if self._sent < len(self._batch):
            self._sent += 1
            return self._publish(self._batch[self._sent - 1])
        sent = tuple(e.position for e in self._batch)
        assert self._last is not None
        selected, aside = self._last.selected, self._last.quarantined
        self._batch = None
        if self._crash_next or (self.crash_rate and self._random.random() < self.crash_rate):
            self._crash_next = False
            self.crashes += 1
            self._last = PollResult(selected, sent, 0, True, aside)
            return self._act(
                "CRASH",
                "crashed after publishing, before marking: after the "
                "restart these events are still unpublished and go out again",
                positions=sent,
            )
        marked = self.store.mark_published(list(sent))
        self._last = PollResult(selected, sent, marked, False, aside)
        return self._act("UPDATE", f"marked {marked} row(s) published", MARK_PUBLISHED, sent)

    def _select(self) -> RelayAction:
        batch = self.store.unpublished(self.batch_size, quarantine_as=self.name)
        aside = tuple(q.position for q in batch.quarantined)
        selected = tuple(batch.positions())
        self._batch, self._sent = (list(batch) or None), 0
        self._last = PollResult(selected, (), 0, False, aside)
        found = f"found {len(batch)} unpublished event(s)"
        if aside:
            found += f" and {len(aside)} unreadable row(s), set aside"
        action = self._act("SELECT", found, SELECT_UNPUBLISHED, selected)
        self._quarantine(batch.quarantined)
        return action

    @property
    def mid_poll(self) -> bool:
        """True between a poll's SELECT and its UPDATE (or CRASH)."""
        return self._batch is not None

    def poll(self) -> PollResult:
        """Finish the current poll (or do a whole new one); return what it did."""
        if not self.mid_poll:
            self.step()
        while self.mid_poll:
            self.step()
        assert self._last is not None
        return self._last

    def run(self, max_polls: int = 1000) -> list[PollResult]:
        """Poll until a poll finds nothing to publish; return every poll's result."""
        results = []
        for _ in range(max_polls):
            result = self.poll()
            results.append(result)
            if not result.selected:
                return results
        raise RuntimeError(f"{self.name} still found unpublished events after {max_polls} polls.")


class PositionPoller(Relay):
    """Polls committed events by global position, with a stored checkpoint (gap-aware).

    It publishes every committed event in position order and remembers how far it got
    under ``name`` in the store's ``checkpoints`` table. A new poller with the same name
    resumes there. It reads the table, not a transaction log: that is
    :class:`eslab.log_tailing.WalTailer` (PostgreSQL).

    Gap-aware: positions come from a sequence at INSERT time, so a missing position
    below the highest seen is either a transaction still running or an insert that
    failed. The poller keeps such *gaps* and publishes the event if it shows up; after
    ``gap_timeout`` seconds (``clock``) it gives up on a gap. The checkpoint it stores is
    the low-water mark (everything at or below it is done), so a restart may resend a
    few events. What it can lose: a transaction that commits more than ``gap_timeout``
    after its position was handed out — the gap was given up, and the event is skipped.
    (A real log tailer reads commits in commit order and has no such gap.)
    """

    def __init__(
        self,
        store: EventStore,
        broker: MessageBroker,
        name: str = "position-poller",
        *,
        batch_size: int = 1000,
        gap_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(store, broker, name)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise BadInputError(f"batch_size must be an int ≥ 1, got {batch_size!r}.")
        self.batch_size, self.gap_timeout, self.clock = batch_size, gap_timeout, clock
        self.checkpoint = store.checkpoint(name)
        """The stored position: everything at or below it has been published."""
        self.high = self.checkpoint
        """The highest position published so far."""
        self.gaps: dict[int, float] = {}
        """Missing positions below ``high`` → when they were first noticed."""

    def poll(self) -> list[Message]:
        """Publish every newly visible committed event; save the checkpoint; return them."""
        start = min(self.gaps, default=self.high + 1) - 1
        limit = self.batch_size + self.high - start  # rows already sent do not crowd out new ones
        rows = self.store.read_all(after_position=start, limit=limit, quarantine_as=self.name)
        fresh = [e for e in rows if self._is_new(e.position)]
        aside = [q for q in rows.quarantined if self._is_new(q.position)]
        self._act(
            "READ",
            f"read {len(fresh)} new event(s) after position {start}",
            READ_AFTER,
            [e.position for e in fresh],
        )
        self._quarantine(aside)
        for q in aside:
            self.gaps.pop(q.position, None)
        sent = []
        for event in fresh:
            self._publish(event)
            sent.append(self.published[-1])
            self.gaps.pop(event.position, None)
        self._note_gaps(rows.positions())
        if self._crash_next:
            self._crash_next = False
            self._act("CRASH", "crashed after publishing, before saving the checkpoint")
            return sent
        low = min(self.gaps, default=self.high + 1) - 1
        if low != self.checkpoint:
            self.store.save_checkpoint(self.name, low)
            self.checkpoint = low
        self._act(
            "CHECKPOINT",
            f"checkpoint {self.name!r} = {low}"
            + (f"; waiting for gap(s) {sorted(self.gaps)}" if self.gaps else ""),
            positions=[low],
        )
        return sent

    def _is_new(self, position: int) -> bool:
        return position > self.high or position in self.gaps

    def _note_gaps(self, seen: Sequence[int]) -> None:
        now = self.clock()
        top = max(seen, default=self.high)
        present = set(seen)
        for p in range(self.high + 1, top):
            if p not in present:
                self.gaps.setdefault(p, now)
        self.high = max(self.high, top)
        for p, since in list(self.gaps.items()):
            if now - since > self.gap_timeout:
                del self.gaps[p]
                self._act("GAP TIMEOUT", f"gave up waiting for position {p}", positions=[p])

    def restart(self) -> PositionPoller:
        """A new poller with the same name (what a process restart gives you)."""
        return type(self)(
            self.store,
            self.broker,
            self.name,
            batch_size=self.batch_size,
            gap_timeout=self.gap_timeout,
            clock=self.clock,
        )

    def run(self) -> list[Message]:
        """Poll until a poll finds nothing new; return everything sent."""
        sent: list[Message] = []
        while batch := self.poll():
            sent.extend(batch)
        return sent


class NaivePositionPoller(PositionPoller):
    """WRONG on purpose: "position > last seen", and never looks back.

    If a lower position commits after a higher one was read, this poller has already
    moved past it: the event is skipped forever. Use it only to see the race.
    """

    def __init__(
        self, store: EventStore, broker: MessageBroker, name: str = "naive-poller", **kwargs: Any
    ) -> None:
        super().__init__(store, broker, name, **kwargs)

    def _note_gaps(self, seen: Sequence[int]) -> None:
        self.high = max([self.high, *seen])


def actions_frame(actions: Sequence[RelayAction]) -> pd.DataFrame:
    """Actions as a table (actor, action, detail, positions, sql)."""
    return pd.DataFrame(
        [
            {
                "actor": a.actor,
                "action": a.action,
                "detail": a.detail,
                "positions": ", ".join(map(str, a.positions)),
                "sql": a.sql or "",
            }
            for a in actions
        ],
        columns=["actor", "action", "detail", "positions", "sql"],
    )
