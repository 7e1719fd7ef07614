"""Every error eslab raises, each saying what happened and what to do next.

Names follow the book and the Eventuate client where one exists
(``OptimisticLockingException`` → :class:`ConcurrencyError`,
``EntityNotFoundException`` → :class:`EntityNotFoundError`,
``DuplicateTriggeringEventException`` → :class:`DuplicateMessageError`).
"""

from __future__ import annotations


class EslabError(Exception):
    """Base class of every error eslab raises on purpose."""


class ConcurrencyError(EslabError):
    """Optimistic locking failed: the stream moved on since it was read."""

    def __init__(self, entity_type: str, entity_id: str, expected: int, actual: int | None):
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.expected_version = expected
        self.actual_version = actual
        now = "an unknown version" if actual is None else f"version {actual}"
        super().__init__(
            f"{entity_type} {entity_id!r} is at {now}, you expected {expected} — "
            "someone else changed it first. Reload it and retry the command."
        )


class StreamExistsError(EslabError):
    """A create (expected version 0) hit a stream that already has events."""

    def __init__(self, entity_type: str, entity_id: str, actual: int):
        self.entity_type, self.entity_id, self.actual_version = entity_type, entity_id, actual
        super().__init__(
            f"{entity_type} {entity_id!r} already exists (version {actual}). "
            "Use update() / an expected version of "
            f"{actual} to add events, or choose a new id."
        )


class EntityNotFoundError(EslabError):
    """Loading or appending to a stream that has no events."""

    def __init__(self, entity_type: str, entity_id: str, hint: str = ""):
        self.entity_type, self.entity_id = entity_type, entity_id
        super().__init__(
            f"No {entity_type} with id {entity_id!r} in this store. "
            + (hint or "Create it first (save() / expected_version=0) or check the id.")
        )


class BadInputError(EslabError, ValueError):
    """An argument is of the wrong kind or out of range; nothing was written."""


class WrongExpectedVersionError(BadInputError):
    """The expected version is not a version the stream could be at."""


class InvalidIdError(BadInputError):
    """An entity type/id, consumer id or message id is empty or not a str."""


class InvalidEventsError(BadInputError):
    """What was passed as events is not a non-empty list of Event instances."""


class UnknownEventTypeError(EslabError):
    """A stored event names a type that no Event class registers."""


class SerializationError(BadInputError):
    """A value in an event or snapshot cannot be stored as JSON (or read back)."""


class FieldTypeError(SerializationError):
    """An event's field holds a value of another type than its type hint declares.

    Refused at append, before anything is written: the reader decodes by the same hints,
    so the value would come back different (a str where a ``date`` is declared) or not
    at all (an int where a ``str`` is declared).
    """

    def __init__(self, path: str, expected: str, value: object) -> None:
        self.path, self.expected, self.value = path, expected, value
        self.actual = type(value).__name__
        owner, _, field = path.partition(".")
        self.event_class = owner
        self.field = field or path
        shown = f"{value!r:.60}"
        if value is None:
            super().__init__(
                f"{path} is declared `{expected}`, but the value is None. eslab refuses it, so "
                f"nothing was written. Pass a {expected}, or declare the field "
                f"`{expected} | None` if it may be empty."
            )
            return
        super().__init__(
            f"{path} is declared `{expected}`, but the value is {_article(self.actual)} "
            f"({shown}). eslab refuses it, so nothing was written: the store reads events "
            f"back by their type hints and would not give you this value back. "
            f"{_conversion_hint(expected, value, shown)}, or change the type hint of {path} "
            f"if {self.actual} is what you mean."
        )


def _article(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def _conversion_hint(expected: str, value: object, shown: str) -> str:
    """How to turn the value into the declared type, for the common mix-ups."""
    if isinstance(value, str):
        for kind in ("datetime", "date"):
            if expected.startswith(kind):
                return f"Pass a {kind}, e.g. {kind}.fromisoformat({shown})"
        if expected.startswith(("int", "float", "Decimal")):
            kind = expected.split(" ")[0]
            return f"Pass a {kind}, e.g. {kind}({shown})"
    if expected.startswith("str") and isinstance(value, int | float):
        return f"Pass a str, e.g. str({shown})"
    if expected.startswith("Decimal") and isinstance(value, int | float):
        return f"Pass a Decimal, e.g. Decimal('{value}')"
    return f"Pass a value of type {expected}"


class UpcastError(EslabError):
    """An old event cannot be brought to the current schema (missing upcaster step)."""


class SnapshotError(EslabError):
    """A snapshot cannot be used (unknown class version, bad data)."""


class CommandRejectedError(EslabError):
    """The aggregate refuses a command in its current state (a domain rule)."""


class UnknownCommandError(EslabError):
    """The aggregate has no process_* method for this command type."""


class DuplicateMessageError(EslabError):
    """A consumer already processed this message id (redelivery)."""


class StoreError(EslabError):
    """The store's database failed; the message says what to do (``__cause__`` is the driver's)."""


class StoreLockedError(StoreError):
    """The DuckDB file is held open (for writing, or with other settings) elsewhere."""


class StoreClosedError(StoreError):
    """The store was closed (``store.close()`` or a ``with`` block ended)."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """A store file that must exist (to open read-only) does not."""


class NotAStoreError(StoreError):
    """The file exists but is not a DuckDB database eslab can open."""


class StoreUnavailableError(StoreError):
    """The database server cannot be reached, or dropped the connection (PostgreSQL).

    The store opens a new connection on the next call; nothing is retried for you.
    """


class StoreAccessError(StoreError):
    """The database server refused the login (wrong user or password)."""


class ReadOnlyStoreError(EslabError):
    """A write was attempted on a store opened read-only."""


class StorageFullError(StoreError):
    """The disk (or file-size limit) is full: the write was rolled back."""


# -- aggregates, snapshots and consumers (issue 14, "mechanisms") ---------------------------


class InvalidVersionError(BadInputError):
    """A version asked for is not an int ≥ 1 (``find(id, version=…)``)."""


class VersionOutOfRangeError(InvalidVersionError):
    """A version asked for is beyond the stream's head: that state never existed."""

    def __init__(self, entity_type: str, entity_id: str, requested: int, head: int):
        self.entity_type, self.entity_id = entity_type, entity_id
        self.requested_version, self.head_version = requested, head
        super().__init__(
            f"{entity_type} {entity_id!r} is at version {head}; version {requested} does not "
            f"exist (yet). Ask for a version from 1 to {head}, or leave version out for the "
            "newest state."
        )


class InvalidAsOfError(BadInputError):
    """``as_of`` is not a datetime (``find(id, as_of=…)``)."""


class AggregateDefinitionError(EslabError, TypeError):
    """An aggregate class cannot be used as written (constructor, handlers, annotations)."""


class StaleSnapshotWarning(UserWarning):
    """A snapshot's fields no longer match its aggregate class: it was replayed instead."""
