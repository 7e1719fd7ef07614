"""A shared classroom store: one PostgreSQL cluster the whole workshop appends to.

The instructor runs ``python -m eslab classroom start --dir FOLDER [--host ADDRESS]``;
it starts a :class:`~eslab.pgcluster.PgCluster` in ``FOLDER``, creates the event store's
tables and a ``learner`` role, and prints the connection string learners paste::

    ESLAB_STORE=postgresql://learner:PASSWORD@HOST:PORT/eslab

The learner role can read and append, never drop or rewrite: ``SELECT, INSERT`` on every
table, ``UPDATE`` only where the store's relays need it (the ``published`` column of
``events``, checkpoints, snapshots, processed messages, the quarantine), no ``DELETE`` or
``UPDATE`` of an event, no DDL. It may create replication slots (notebook 04 tails the
WAL); ``status`` lists them and ``reset`` drops them, because a forgotten slot keeps WAL
on disk. The password is generated, kept in ``FOLDER/classroom.json`` (mode 600) and
printed; it never goes into a notebook.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from eslab.errors import EslabError
from eslab.pgcluster import DATABASE, PgCluster

LEARNER = "learner"
STATE_FILE = "classroom.json"
CREATE_LEARNER = "CREATE ROLE learner LOGIN REPLICATION"
SET_PASSWORD = "ALTER ROLE learner PASSWORD %s"
GRANTS = """
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO learner;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO learner;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO learner;
GRANT UPDATE (published) ON events TO learner;
GRANT UPDATE, DELETE ON checkpoints, snapshots, processed_messages, quarantine TO learner;
"""
"""What the learner role may do: read and append; update only the flags readers keep."""
RESET = "TRUNCATE events, snapshots, processed_messages, checkpoints, quarantine RESTART IDENTITY"
LOCAL = ("127.0.0.1", "localhost")
SETTINGS = {"max_replication_slots": "64", "max_wal_senders": "64", "max_connections": "200"}


class ClassroomError(EslabError):
    """The classroom store could not be started, found or changed; the message says why."""


@dataclass
class Classroom:
    """The classroom cluster in ``directory`` and its learner role."""

    directory: Path
    host: str | None = None
    port: int = 0

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()
        state = self._state()
        self.host = self.host or state.get("host") or "127.0.0.1"
        self.port = self.port or int(state.get("port", 0))
        self.password: str = state.get("password") or secrets.token_urlsafe(12)

    @property
    def cluster(self) -> PgCluster:
        """The PostgreSQL cluster under the classroom folder."""
        settings = dict(SETTINGS)
        if self.host not in LOCAL:  # the instructor's tools keep using 127.0.0.1
            settings["listen_addresses"] = f"127.0.0.1,{self.host}"
        return PgCluster(self.directory / "cluster", port=self.port, settings=settings)

    def start(self) -> str:
        """Start (creating on first use) the cluster, schema and learner role; return the URL."""
        cluster = self.cluster.start()
        self.port = cluster.port
        if self.host not in LOCAL:
            _allow_lan_learners(cluster)
        self._create_schema(cluster.url())
        self._grant_learner(cluster.url())
        self._save_state()
        return self.url()

    def stop(self) -> None:
        """Stop the server (the data stays; ``start`` brings it back)."""
        self.cluster.stop()

    def running(self) -> bool:
        """Is the classroom server up?"""
        return self._state() != {} and self.cluster.running()

    def url(self) -> str:
        """The connection string learners paste (``ESLAB_STORE=…``)."""
        if not self._state():
            raise ClassroomError(
                f"No classroom in {self.directory}: run `python -m eslab classroom start "
                f"--dir {self.directory}` first."
            )
        return f"postgresql://{LEARNER}:{self.password}@{self.host}:{self.port}/{DATABASE}"

    def status(self) -> dict[str, Any]:
        """Running or not, the learner URL, events stored, replication slots and their WAL."""
        info: dict[str, Any] = {"folder": str(self.directory), "running": self.running()}
        if not info["running"]:
            return info
        info["url"] = self.url()
        with psycopg.connect(self.cluster.url(), autocommit=True) as connection:
            info["events"] = connection.execute("SELECT count(*) FROM events").fetchall()[0][0]
            info["slots"] = connection.execute(
                "SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
                "FROM pg_replication_slots ORDER BY slot_name"
            ).fetchall()
        return info

    def reset(self) -> None:
        """Empty every table and drop every replication slot (a fresh start for the class)."""
        with psycopg.connect(self.cluster.url(), autocommit=True) as connection:
            for (slot,) in connection.execute("SELECT slot_name FROM pg_replication_slots"):
                connection.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            connection.execute(RESET)

    # -- internals ---------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        path = self.directory / STATE_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_state(self) -> None:
        path = self.directory / STATE_FILE
        path.write_text(
            json.dumps({"host": self.host, "port": self.port, "password": self.password})
        )
        os.chmod(path, 0o600)

    @staticmethod
    def _create_schema(url: str) -> None:
        from eslab.store import EventStore

        EventStore(url).close()

    def _grant_learner(self, url: str) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (LEARNER,)
            ).fetchone()
            if not exists:
                connection.execute(CREATE_LEARNER)
            # A role's password cannot be a server-side parameter: psycopg's client-side
            # cursor quotes it as a literal.
            psycopg.ClientCursor(connection).execute(SET_PASSWORD, (self.password,))
            connection.execute(GRANTS)


def _allow_lan_learners(cluster: PgCluster) -> None:
    """Let the learner role connect from other machines, with its password."""
    hba = cluster.data_dir / "pg_hba.conf"
    line = f"host {DATABASE} {LEARNER} all scram-sha-256\n"
    text = hba.read_text()
    if line not in text:
        hba.write_text(text + line)
        cluster._pg_ctl("reload")
