"""JSON (de)serialisation of events and snapshots, directed by type hints.

Events are dataclasses. To store one we turn it into plain JSON; to read it back we
walk the dataclass's type hints, so a ``Decimal`` comes back as a ``Decimal`` and a
nested value object comes back as the same dataclass, not as a dict.

Supported: ``str int float bool None``, ``Decimal``, ``datetime``, ``date``, ``UUID``,
``Enum`` subclasses, dataclasses, ``list/tuple/set/frozenset/dict[str, X]``,
``X | None`` and ``Any``. Anything else raises :class:`SerializationError` naming the
value's type and where it sits. Decoders are built once per type and cached, which
keeps replay of long streams cheap.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import math
import types
import typing
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from eslab.errors import SerializationError

_PRIMITIVES = (str, int, float, bool, type(None))


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def to_json(value: Any) -> str:
    """Encode ``value`` (usually an event dataclass) as a compact JSON string."""
    return _JSON.encode(encode(value))


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def from_json(hint: Any, text: str) -> Any:
    """Decode the JSON ``text`` into the type ``hint`` (e.g. an event class)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"Stored JSON for {_name(hint)} is malformed ({exc}); the row was not written "
            "by eslab or was edited by hand — fix or delete that row."
        ) from exc
    return decode(hint, data)


def encode(value: Any, path: str = "$") -> Any:
    """Turn ``value`` into JSON-compatible data (dict/list/str/number/bool/None)."""
    if isinstance(value, _PRIMITIVES):
        if isinstance(value, float) and not math.isfinite(value):
            name = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
            raise SerializationError(f"{path} is {name}, which JSON cannot store; use None.")
        return value
    if isinstance(value, enum.Enum):
        return encode(value.value, path)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for name in _field_names(type(value)):
            item = getattr(value, name)
            plain = type(item) in (str, int, bool, type(None))  # the common case, no walk
            out[name] = item if plain else encode(item, f"{path}.{name}")
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [encode(v, f"{path}[{i}]") for i, v in enumerate(items)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SerializationError(
                    f"{path} has a key of type {type(k).__name__} ({k!r}); JSON object keys "
                    "must be str — convert the keys to strings."
                )
            out[k] = encode(v, f"{path}.{k}")
        return out
    raise SerializationError(
        f"{path} is a {type(value).__module__}.{type(value).__qualname__}, which eslab cannot "
        "store as JSON. Use str, int, Decimal, datetime, UUID, an Enum, a list/dict or a "
        "dataclass of those."
    )


def decode(hint: Any, data: Any) -> Any:
    """Rebuild a value of type ``hint`` from JSON data made by :func:`encode`."""
    try:
        return decoder_for(hint)(data)
    except SerializationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SerializationError(
            f"Cannot read {data!r:.200} as {_name(hint)}: {exc}. The stored data does not "
            "match the class — did the class change without an upcaster?"
        ) from exc


def _name(hint: Any) -> str:
    return getattr(hint, "__qualname__", None) or repr(hint)


@functools.cache
def decoder_for(hint: Any) -> Callable[[Any], Any]:
    """Build (once) a function that decodes JSON data into ``hint``."""
    if hint is Any or hint is object:
        return _identity
    if hint is type(None):
        return _identity
    if hint in (str, bool):
        return _exactly(hint)
    if hint is int:
        return _to_int
    if hint is float:
        return _to_float
    if hint is Decimal:
        return lambda d: Decimal(str(d))
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    if hint is uuid.UUID:
        return uuid.UUID
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(args)
    if origin in (list, set, frozenset) or (origin is tuple and args[-1:] == (Ellipsis,)):
        item = decoder_for(args[0]) if args else _identity
        return lambda d: origin(item(v) for v in d)
    if origin is tuple:
        items = [decoder_for(a) for a in args]
        return lambda d: tuple(f(v) for f, v in zip(items, d, strict=True))
    if origin is dict:
        val = decoder_for(args[1]) if args else _identity
        return lambda d: {k: val(v) for k, v in d.items()}
    if origin is typing.Literal:
        return _identity
    if hint in (list, dict, tuple, set, frozenset):
        return cast(Callable[[Any], Any], hint)
    raise SerializationError(f"eslab cannot decode the type {hint!r}; use a supported type.")


def _identity(d: Any) -> Any:
    return d


def _to_int(d: Any) -> int:
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"expected an int, got {type(d).__name__}")
    return d


def _to_float(d: Any) -> float:
    if isinstance(d, bool) or not isinstance(d, int | float):
        raise TypeError(f"expected a number, got {type(d).__name__}")
    return float(d)


def _exactly(kind: type) -> Callable[[Any], Any]:
    def check(d: Any) -> Any:
        if type(d) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(d).__name__}")
        return d

    return check


def _union_decoder(args: tuple[Any, ...]) -> Callable[[Any], Any]:
    options = [decoder_for(a) for a in args if a is not type(None)]
    nullable = type(None) in args

    def dec(d: Any) -> Any:
        if d is None and nullable:
            return None
        errors = []
        for option in options:
            try:
                return option(d)
            except (TypeError, ValueError, KeyError, SerializationError) as exc:
                errors.append(exc)
        raise TypeError(f"no type of the union fits: {errors}")

    return dec


def _dataclass_decoder(cls: type) -> Callable[[Any], Any]:
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    plain = all(hints[f.name] is Any for f in fields)
    if plain:
        return lambda d: cls(**d)
    decoders = {f.name: decoder_for(hints[f.name]) for f in fields}

    def dec(d: dict[str, Any]) -> Any:
        return cls(**{k: decoders[k](v) if k in decoders else v for k, v in d.items()})

    return dec
