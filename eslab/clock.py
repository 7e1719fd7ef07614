"""Clocks and id factories: real ones by default, fixed ones for repeatable pictures."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def utc_now() -> datetime:
    """The current time in UTC, without tzinfo (what the TIMESTAMP columns hold)."""
    return datetime.now(UTC).replace(tzinfo=None)


_ids = random.Random()  # seeded from the OS at import; ids need uniqueness, not secrecy


def new_id() -> str:
    """A random version-4 UUID as text (the default event id; ~4× cheaper than uuid4())."""
    return str(uuid.UUID(int=_ids.getrandbits(128), version=4))


class FixedClock:
    """A clock that starts at ``start`` and moves ``step`` on every call.

    >>> clock = FixedClock(datetime(2024, 1, 1, 12, 0), step=timedelta(minutes=1))
    >>> clock(), clock()
    (datetime.datetime(2024, 1, 1, 12, 0), datetime.datetime(2024, 1, 1, 12, 1))
    """

    def __init__(
        self,
        start: datetime = datetime(2024, 1, 1, 12, 0),
        step: timedelta = timedelta(seconds=1),
    ) -> None:
        self.now, self.step = start, step
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            now, self.now = self.now, self.now + self.step
        return now

    def advance(self, delta: timedelta) -> None:
        """Jump forward (e.g. 'the next day')."""
        with self._lock:
            self.now += delta


class SeededIds:
    """Repeatable UUIDs from a seed: same seed, same ids."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))
