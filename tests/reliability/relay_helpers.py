"""Child-process workers for the relay and projection kill tests.

Kept apart from ``reliability_helpers`` because they import ``eslab.publishing`` and
``eslab.projections``: if those modules are missing or broken, only these tests skip.
The broker lives in the child's memory, so what it received is also appended to a side
file (``sent <position>``), one ``os.write`` per message: that file is the durable
record of what left the relay before the kill.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from reliability_helpers import CrashTestEvent, ack, stream_ids

from eslab import EventStore
from eslab.events import StoredEvent
from eslab.messaging import Message, MessageBroker
from eslab.projections import Projection, Projector, Upsert
from eslab.publishing import PollingPublisher, PositionPoller

SEND_SECONDS = 0.001
"""Time to hand one message to the broker, so the relay is busy when it is killed."""

PROJECTION_TABLE = "crash_positions"


class CrashProjection(Projection):
    """A read model with one row per CrashTestEvent: its position, stream and version."""

    name = "crash_positions"
    tables = {
        PROJECTION_TABLE: "position BIGINT PRIMARY KEY, entity_id VARCHAR NOT NULL, "
        "entity_version BIGINT NOT NULL"
    }

    def on_crash(self, event: CrashTestEvent, stored: StoredEvent) -> Upsert:
        return Upsert(
            PROJECTION_TABLE,
            {"position": stored.position},
            {"entity_id": stored.entity_id, "entity_version": stored.entity_version},
        )


def _writer(store: EventStore, seed: int, stop: threading.Event) -> None:
    rng = random.Random(seed)
    names = stream_ids(3)
    heads = {s: store.head("Relay", s) for s in names}
    n = 0
    while not stop.is_set():
        s = rng.choice(names)
        k = rng.randint(1, 3)
        store.append(
            "Relay", s, [CrashTestEvent(f"r{seed}-c{n}", 1, i, k) for i in range(k)], heads[s]
        )
        heads[s] += k
        n += 1


class RecordingBroker(MessageBroker):
    """The in-memory broker, plus a durable record of each event message it accepted."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def publish(self, topic: str, message: Any, headers: dict[str, str] | None = None) -> Message:
        time.sleep(SEND_SECONDS)
        sent = super().publish(topic, message, headers)
        if "position" in sent.headers:
            ack(self.fd, f"sent {sent.headers['position']}")
        return sent


def run_relay(path: str, out_path: str, kind: str, seed: int, write: bool) -> None:
    """Run a relay (``poller``/``tailer``) or the projector while a writer thread appends.

    With ``write=False`` it drains the log and writes ``done``.
    """
    fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    store = EventStore(path)
    rng = random.Random(seed)
    broker = RecordingBroker(fd)
    step: Callable[[], Any]
    if kind == "poller":
        relay = PollingPublisher(store, broker, batch_size=rng.randint(1, 20))
        step = lambda: relay.poll().selected  # noqa: E731
    elif kind == "tailer":
        tailer = PositionPoller(store, broker, batch_size=rng.randint(1, 20), gap_timeout=0.2)
        step = lambda: tailer.poll() or tailer.gaps  # noqa: E731
    else:
        projector = Projector(store, CrashProjection(), batch_size=rng.randint(1, 20))
        step = lambda: projector.catch_up(max_events=rng.randint(1, 30)).events  # noqa: E731
    ack(fd, "start")
    stop = threading.Event()
    thread = threading.Thread(target=_writer, args=(store, seed, stop), daemon=True)
    if write:
        thread.start()
    while True:
        if step():
            continue
        if not write:
            break
        time.sleep(0.001)
    ack(fd, "done")
    store.close()
