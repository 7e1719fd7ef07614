"""Deleting data from an event store: crypto-shredding (seed §9, 데이터 삭제가 어렵다).

Events are never changed or deleted — that is what makes them a trustworthy history. But
a customer may ask to be forgotten (GDPR), and their name and address sit in events,
in copies of events (brokers, backups) and in every read model built from them.

Crypto-shredding: never store personal data in plaintext. Each personal field of an
event is encrypted with a key of its own **data subject** (the customer); the keys live
in a table of their own (``subject_keys``). To forget a customer, delete their key. The
events stay, replay still works, but the personal fields can never be read again: they
come back as :data:`FORGOTTEN`. A ``PersonalDataForgotten`` event tells the projections to
drop their plaintext copies.

An event class opts in with two class attributes (as Axon's ``@PersonalData`` and
``@DataSubjectId`` annotations do)::

    @dataclass(frozen=True)
    class CustomerRegistered(Event):
        personal_fields = ("name", "email", "street")   # encrypted, str fields
        data_subject = "customer_id"                    # whose key encrypts them
        customer_id: str
        name: str
        ...

The encryption is the ``cryptography`` package's Fernet (AES-128-CBC + HMAC-SHA256 with a
random IV): a well-kept library, no hand-written crypto. In production the keys belong in
a separate key store (a KMS or vault), so a backup of the events never holds the keys.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
from cryptography.fernet import Fernet, InvalidToken

from eslab.errors import BadInputError, EslabError
from eslab.events import Event, EventMetadata, StoredEvent
from eslab.store import EventStore, UnitOfWork

E = TypeVar("E", bound=Event)

FORGOTTEN = "‹forgotten›"
"""What a personal field reads as once its subject's key is deleted."""

ENCRYPTED_PREFIX = "enc:"
"""Stored personal fields start with this, followed by the Fernet token."""

KEYS_TABLE = "subject_keys"
DATA_SUBJECT = "DataSubject"
"""The entity type of the streams that record ``PersonalDataForgotten``."""

_KEYS_DDL = f"""
CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (
    subject_id   VARCHAR   PRIMARY KEY,
    key          VARCHAR,              -- NULL once the subject is forgotten
    created_at   TIMESTAMP NOT NULL,
    forgotten_at TIMESTAMP
)"""


class ShreddingError(EslabError):
    """Personal data cannot be encrypted or decrypted as asked."""


class SubjectForgottenError(ShreddingError):
    """New personal data for a subject whose key was deleted."""


@dataclass(frozen=True)
class PersonalDataForgotten(Event):
    """The subject's key was deleted; read models must drop their copies of the data."""

    subject_id: str


@dataclass(frozen=True)
class ForgetResult:
    """What :meth:`CryptoShredder.forget` did."""

    subject_id: str
    key_deleted: bool
    snapshots_deleted: int
    already_forgotten: bool = False

    def __str__(self) -> str:
        if self.already_forgotten:
            return f"{self.subject_id} was already forgotten: nothing to do."
        return (
            f"forgot {self.subject_id}: key deleted, PersonalDataForgotten appended, "
            f"{self.snapshots_deleted} snapshot(s) deleted"
        )


def personal_fields(event: Event) -> tuple[str, ...]:
    """The names of an event's personal (encrypted) fields; () for ordinary events."""
    return tuple(getattr(type(event), "personal_fields", ()))


def subject_of(event: Event) -> str:
    """The data subject whose key protects the event's personal fields."""
    name = getattr(type(event), "data_subject", None)
    if not name:
        raise ShreddingError(
            f"{type(event).__name__} has personal_fields but no `data_subject`: name the "
            "field that holds the subject's id, e.g. data_subject = 'customer_id'."
        )
    subject = getattr(event, name)
    if not isinstance(subject, str) or not subject:
        raise ShreddingError(
            f"{type(event).__name__}.{name} must be a non-empty str "
            f"(the subject id), got {subject!r}."
        )
    return subject


class CryptoShredder:
    """Encrypts personal fields with a key per data subject; ``forget`` deletes the key."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        store.cursor().execute(_KEYS_DDL)

    # -- keys --------------------------------------------------------------------------

    def _keys(self, subjects: Iterable[str]) -> dict[str, str | None]:
        """{subject: key text, or None when forgotten}; subjects without a row are absent."""
        wanted = sorted(set(subjects))
        if not wanted:
            return {}
        rows = (
            self.store.cursor()
            .execute(
                f"SELECT subject_id, key FROM {KEYS_TABLE} WHERE subject_id IN (SELECT unnest($s))",
                {"s": wanted},
            )
            .fetchall()
        )
        return dict(rows)

    def _new_key(self, subject: str) -> str:
        key = Fernet.generate_key().decode()
        self.store.cursor().execute(
            f"INSERT INTO {KEYS_TABLE} VALUES ($s, $k, $t, NULL)",
            {"s": subject, "k": key, "t": self.store.clock()},
        )
        return key

    def is_forgotten(self, subject_id: str) -> bool:
        """Was ``subject_id`` forgotten (its key deleted)?"""
        keys = self._keys([subject_id])
        return subject_id in keys and keys[subject_id] is None

    def subjects(self) -> pd.DataFrame:
        """Every subject with whether it still has a key (the keys themselves are not shown)."""
        return self.store.sql(
            f"SELECT subject_id, key IS NOT NULL AS has_key, created_at, forgotten_at "
            f"FROM {KEYS_TABLE} ORDER BY subject_id"
        )

    # -- encrypt / decrypt ---------------------------------------------------------------

    def encrypt(self, event: E) -> E:
        """A copy of ``event`` with its personal fields encrypted by its subject's key."""
        fields = personal_fields(event)
        if not fields:
            return event
        subject = subject_of(event)
        key = self._keys([subject]).get(subject, "")
        if key is None:
            raise SubjectForgottenError(
                f"{subject} was forgotten (their key is deleted), so no new personal data may "
                "be stored for them. Register the person again under a new subject id."
            )
        fernet = Fernet((key or self._new_key(subject)).encode())
        changes = {}
        for name in fields:
            value = getattr(event, name)
            if value is None or (isinstance(value, str) and value.startswith(ENCRYPTED_PREFIX)):
                continue
            if not isinstance(value, str):
                raise ShreddingError(
                    f"{type(event).__name__}.{name} is a {type(value).__name__}; personal "
                    "fields must be str (encrypt a value object's text form instead)."
                )
            changes[name] = ENCRYPTED_PREFIX + fernet.encrypt(value.encode()).decode()
        return dataclasses.replace(event, **changes)  # type: ignore[type-var]  # events are dataclasses

    def decrypt_all(self, events: Sequence[E]) -> list[E]:
        """Copies of ``events`` with personal fields in plaintext, or :data:`FORGOTTEN`."""
        protected = [e for e in events if personal_fields(e)]
        keys = self._keys(subject_of(e) for e in protected)
        return [self._decrypt(e, keys) if personal_fields(e) else e for e in events]

    def decrypt(self, event: E) -> E:
        """One event's personal fields in plaintext, or :data:`FORGOTTEN`."""
        return self.decrypt_all([event])[0]

    def _decrypt(self, event: E, keys: dict[str, str | None]) -> E:
        key = keys.get(subject_of(event))
        fernet = Fernet(key.encode()) if key else None
        changes = {}
        for name in personal_fields(event):
            value = getattr(event, name)
            if not (isinstance(value, str) and value.startswith(ENCRYPTED_PREFIX)):
                continue
            if fernet is None:
                changes[name] = FORGOTTEN
                continue
            try:
                changes[name] = fernet.decrypt(value[len(ENCRYPTED_PREFIX) :].encode()).decode()
            except InvalidToken as exc:
                raise ShreddingError(
                    f"{type(event).__name__}.{name} of {subject_of(event)} does not decrypt with "
                    "that subject's key: the value was encrypted for someone else or edited."
                ) from exc
        return dataclasses.replace(event, **changes)  # type: ignore[type-var]  # events are dataclasses

    # -- the store, with encryption -------------------------------------------------------

    def append(
        self,
        target: EventStore | UnitOfWork,
        entity_type: str,
        entity_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        metadata: EventMetadata | None = None,
    ) -> int:
        """``target.append(...)`` with every personal field encrypted first."""
        if isinstance(events, Event):
            events = [events]
        return target.append(
            entity_type,
            entity_id,
            [self.encrypt(e) for e in events],
            expected_version,
            metadata=metadata,
        )

    def load(self, entity_type: str, entity_id: str) -> list[StoredEvent]:
        """A stream's events, decrypted (forgotten fields read :data:`FORGOTTEN`)."""
        return self._reveal(self.store.load(entity_type, entity_id))

    def read_all(self, after_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """The whole log in order, decrypted."""
        return self._reveal(self.store.read_all(after_position, limit))

    def _reveal(self, stored: list[StoredEvent]) -> list[StoredEvent]:
        plain = self.decrypt_all([s.event for s in stored])
        return [dataclasses.replace(s, event=e) for s, e in zip(stored, plain, strict=True)]

    # -- forgetting ------------------------------------------------------------------------

    def forget(self, subject_id: str) -> ForgetResult:
        """Delete the subject's key, append ``PersonalDataForgotten`` and delete snapshots of
        the subject's own stream — all in one transaction."""
        if not isinstance(subject_id, str) or not subject_id:
            raise BadInputError(f"subject_id must be a non-empty str, got {subject_id!r}.")
        keys = self._keys([subject_id])
        if subject_id in keys and keys[subject_id] is None:
            return ForgetResult(subject_id, False, 0, already_forgotten=True)
        snapshots = int(
            self.store.cursor()
            .execute("SELECT count(*) FROM snapshots WHERE entity_id = $s", {"s": subject_id})
            .fetchall()[0][0]
        )
        now = self.store.clock()
        with self.store.unit_of_work() as uow:
            uow.execute(
                f"INSERT INTO {KEYS_TABLE} VALUES ($s, NULL, $t, $t) ON CONFLICT (subject_id) "
                "DO UPDATE SET key = NULL, forgotten_at = excluded.forgotten_at",
                {"s": subject_id, "t": now},
            )
            uow.execute("DELETE FROM snapshots WHERE entity_id = $s", {"s": subject_id})
            uow.append(
                DATA_SUBJECT,
                subject_id,
                [PersonalDataForgotten(subject_id)],
                self.store.head(DATA_SUBJECT, subject_id),
            )
        return ForgetResult(subject_id, subject_id in keys, snapshots)


# -- proof: is any plaintext left? ------------------------------------------------------------


def find_plaintext(store: EventStore, needles: Iterable[str]) -> pd.DataFrame:
    """Search every column of every table in the store's database for the ``needles``.

    Returns one row per (table, column, needle) that still contains it (case-insensitive),
    with the number of rows; an empty DataFrame means nothing is left. Table and column
    names come from DuckDB's catalog, never from the caller.
    """
    wanted = sorted({n for n in needles if isinstance(n, str) and n})
    if not wanted or any(len(n) < 3 for n in wanted):
        raise BadInputError(f"Give texts of 3 characters or more to look for, got {wanted!r}.")
    columns = (
        store.cursor()
        .execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            "WHERE t.table_type = 'BASE TABLE' AND c.table_schema = 'main' "
            "ORDER BY c.table_name, c.ordinal_position"
        )
        .fetchall()
    )
    found = []
    for table, column in columns:
        sql = (
            f"SELECT n.needle, count(*) FROM {_quote(table)}, "
            "(SELECT unnest($needles) AS needle) n "
            f"WHERE contains(lower(CAST({_quote(column)} AS VARCHAR)), lower(n.needle)) "
            "GROUP BY n.needle"
        )
        for needle, rows in store.cursor().execute(sql, {"needles": wanted}).fetchall():
            found.append((table, column, needle, rows))
    return pd.DataFrame(found, columns=["table", "column", "text", "rows"])


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def stored_payload(store: EventStore, entity_type: str, entity_id: str) -> list[dict[str, Any]]:
    """The stream's ``event_data`` exactly as stored (what a database dump would show)."""
    frame = store.sql(
        "SELECT event_type, event_data FROM events WHERE entity_type = $t AND "
        "entity_id = $i ORDER BY entity_version",
        {"t": entity_type, "i": entity_id},
    )
    return [{"event_type": t, **json.loads(d)} for t, d in frame.itertuples(index=False)]
