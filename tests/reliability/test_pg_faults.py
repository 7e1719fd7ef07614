"""Faults on the PostgreSQL server: crashes mid-append, dropped connections, bad URLs.

The crash suite stops a cluster of its own hard (``pg_ctl stop -m immediate``: no
checkpoint, no goodbye to the clients) while several clients append, then starts it
again. After every restart: each acknowledged append is there, none is half-written,
versions are gap-free per stream; while the server is down each client gets an eslab
error (never a raw psycopg one), and its next calls work again once the server is back
(the store reconnects on the next call; it retries nothing by itself).
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from eslab import ConcurrencyError, EslabError, EventStore, StreamExistsError
from eslab.domain.bank import MoneyDeposited
from eslab.errors import StoreAccessError, StoreNotFoundError, StoreUnavailableError
from eslab.pgcluster import PgCluster, free_port

pytestmark = pytest.mark.slow

TRIALS = 20
CLIENTS = 3
TRIAL_SECONDS = 30.0
"""A trial that is not over by then fails (a client hung instead of raising)."""


@pytest.fixture(scope="module")
def own_cluster(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    """A cluster these tests may crash (``pg_cluster`` only proves the binaries are there).

    Not under pytest's tmp_path: another pytest run on the machine resets
    ``/tmp/pytest-of-<user>`` to mode 0700, and the server (user ``postgres``) could then
    no longer reach its folder when it restarts.
    """
    with tempfile.TemporaryDirectory(prefix="eslab-pg-faults-") as folder:
        cluster = PgCluster(Path(folder) / "cluster").start()
        try:
            yield cluster
        finally:
            cluster.destroy()


@dataclass
class Client:
    """One appender: its own EventStore (own connections), its own stream + a shared one."""

    number: int
    store: EventStore
    rng: random.Random
    acked: dict[tuple[str, int], int] = field(default_factory=dict)
    """(stream, append number) → how many events, for appends that returned."""
    unsure: dict[tuple[str, int], int] = field(default_factory=dict)
    """Appends that raised StoreUnavailableError: written or not, never half."""
    outages: int = 0
    acked_after_restart: int = 0
    foreign: list[BaseException] = field(default_factory=list)

    def run(self, prefix: str, stop: threading.Event, restarted: threading.Event) -> None:
        seq = 0
        own = f"{prefix}-c{self.number}"
        while not stop.is_set():
            stream = own if self.rng.random() < 0.7 else f"{prefix}-shared"
            n = self.rng.randint(1, 3)
            base = (self.number * 100_000 + seq) * 10
            events = [MoneyDeposited(base + k) for k in range(n)]
            try:
                version = self.store.head("BankAccount", stream)
                self.store.append("BankAccount", stream, events, version)
                self.acked[(stream, base)] = n
                if restarted.is_set():
                    self.acked_after_restart += 1
            except (ConcurrencyError, StreamExistsError):
                pass  # another client took that version of the shared stream: fine
            except StoreUnavailableError:
                self.unsure[(stream, base)] = n
                self.outages += 1
                time.sleep(0.02)
            except BaseException as exc:  # anything else is a failure of the store
                self.foreign.append(exc)
                return
            seq += 1


def check_streams(url: str, clients: list[Client]) -> None:
    """Every acknowledged append is there in full; nothing half; versions gap-free."""
    with EventStore(url) as store:
        streams = {stream for c in clients for stream, _ in [*c.acked, *c.unsure]}
        for stream in streams:
            loaded = store.load("BankAccount", stream)
            assert [e.entity_version for e in loaded] == list(range(1, len(loaded) + 1))
            found: dict[int, int] = {}
            for e in loaded:
                base = e.event.amount - e.event.amount % 10
                found[base] = found.get(base, 0) + 1
            for c in clients:
                for (s, base), n in c.acked.items():
                    if s == stream:
                        assert found.get(base) == n, f"acknowledged {stream}@{base} lost"
                for (s, base), n in c.unsure.items():
                    if s == stream:
                        assert found.get(base, 0) in (0, n), f"{stream}@{base} half-written"
            maybe = {b for c in clients for (s, b) in [*c.acked, *c.unsure] if s == stream}
            assert set(found) <= maybe, "an event nobody appended"


@pytest.mark.parametrize("trial", range(TRIALS))
def test_immediate_stop_mid_append_loses_no_acknowledged_append(
    own_cluster: PgCluster, trial: int
) -> None:
    rng = random.Random(1500 + trial)
    url = own_cluster.url()
    clients = [Client(i, EventStore(url), random.Random(rng.random())) for i in range(CLIENTS)]
    stop, restarted = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=c.run, args=(f"t{trial}", stop, restarted), daemon=True)
        for c in clients
    ]
    started = time.monotonic()
    try:
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.4))  # let them append for a while
        own_cluster.stop(mode="immediate")  # a crash: mid-statement for someone
        time.sleep(rng.uniform(0.05, 0.3))  # down for a moment: calls must raise, not hang
        own_cluster.start()
        restarted.set()
        while any(c.acked_after_restart < 2 and not c.foreign for c in clients):
            assert time.monotonic() - started < TRIAL_SECONDS, "a client never recovered"
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=TRIAL_SECONDS)
        for c in clients:
            c.store.close()
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert [c.foreign for c in clients] == [[]] * CLIENTS, "a raw driver error escaped"
    assert sum(c.outages for c in clients) > 0, "the server went down under no one"
    check_streams(url, clients)


def test_a_dropped_connection_raises_once_then_the_store_reconnects(pg_url: str) -> None:
    store = EventStore(pg_url)
    store.append("BankAccount", "a", [MoneyDeposited(1)], 0)
    pid = store.cursor().connection.info.backend_pid
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(StoreUnavailableError, match="reconnects on the next call"):
        store.append("BankAccount", "a", [MoneyDeposited(2)], 1)
    assert store.head("BankAccount", "a") == 1  # the next call works, on a new connection
    assert store.append("BankAccount", "a", [MoneyDeposited(2)], 1) == 2
    store.close()


def test_a_refused_connection_says_to_start_the_server() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot be reached") as raised:
        EventStore(f"postgresql://eslab@127.0.0.1:{free_port()}/eslab")
    assert isinstance(raised.value.__cause__, psycopg.OperationalError)


def test_a_missing_database_and_an_unknown_user_say_what_to_fix(pg_cluster: PgCluster) -> None:
    with pytest.raises(StoreNotFoundError, match="no such database"):
        EventStore(pg_cluster.url(dbname="no_such_db"))
    with pytest.raises(StoreAccessError, match="refused the login"):
        EventStore(pg_cluster.url(user="nobody_here"))


def test_the_store_errors_say_where_and_never_show_a_password(pg_cluster: PgCluster) -> None:
    url = pg_cluster.url(user="nobody_here", password="s3cret")
    with pytest.raises(EslabError) as raised:
        EventStore(url)
    assert "s3cret" not in str(raised.value)
    assert f"127.0.0.1:{pg_cluster.port}" in str(raised.value)
