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


class StoreLockedError(EslabError):
    """Another process holds the DuckDB file open for writing."""


class ReadOnlyStoreError(EslabError):
    """A write was attempted on a store opened read-only."""


class StorageFullError(EslabError):
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
