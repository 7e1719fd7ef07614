"""JSON (de)serialisation of events and snapshots, directed by type hints.

Events are dataclasses. To store one we turn it into plain JSON; to read it back we
walk the dataclass's type hints, so a ``Decimal`` comes back as a ``Decimal`` and a
nested value object comes back as the same dataclass, not as a dict.

Supported: ``str int float bool None``, ``Decimal``, ``datetime``, ``date``, ``UUID``,
``Enum`` subclasses, dataclasses, ``list/tuple/set/frozenset/dict[str, X]``,
``X | None``, ``Literal[...]`` and ``Any``.

**One definition of valid.** Each supported hint has one :class:`Rule`: which Python
values it accepts, how they become JSON, and which JSON it reads back. The writer
(:func:`encode_as`, used for every appended event) and the reader (:func:`decode`) are
both built from these rules, so an event is refused *at append* exactly when a reader
could not give back an equal value of the declared type: ``member_id: str`` refuses
``123`` (:class:`FieldTypeError`), ``due: date`` refuses the text ``"2024-01-01"``.
Encoders and decoders are built once per type and cached, which keeps appends and the
replay of long streams cheap.
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
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from eslab.errors import FieldTypeError, SerializationError

_PRIMITIVES = (str, int, float, bool, type(None))


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

Encoder = Callable[[Any, str], Any]
"""``encoder(value, path)``: JSON data for ``value``, or :class:`FieldTypeError`."""
Decoder = Callable[[Any], Any]
"""``decoder(data)``: the value rebuilt from JSON data, or :class:`Mismatch`."""


def to_json(value: Any) -> str:
    """Encode ``value`` as compact JSON, walking the value itself (no type hints)."""
    return _JSON.encode(encode(value))


def to_typed_json(value: Any) -> str:
    """Encode a dataclass instance by its class's type hints (what an append stores).

    Every field must fit its hint by the rules :func:`decode` reads with; a field that
    does not raises :class:`FieldTypeError` naming the class, the field, the declared
    type and the value's type.
    """
    return _JSON.encode(encode_as(type(value), value, type(value).__qualname__))


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def from_json(hint: Any, text: str) -> Any:
    """Decode the JSON ``text`` into the type ``hint`` (e.g. an event class)."""
    return decode(hint, parse_json(text, f"Stored JSON for {_name(hint)}"))


def parse_json(text: str, what: str) -> Any:
    """``json.loads`` with eslab's error: ``what`` names the data (no upcaster hint)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"{what} is malformed ({exc}); the row was not written by eslab or was "
            "edited by hand — fix or delete that row."
        ) from exc


def encode(value: Any, path: str = "$") -> Any:
    """Turn ``value`` into JSON-compatible data (dict/list/str/number/bool/None).

    This walks the value as it is (for ``Any`` fields and snapshots); an event's own
    fields go through :func:`encode_as`, which also checks them against their hints.
    """
    if isinstance(value, _PRIMITIVES):
        if isinstance(value, float) and not math.isfinite(value):
            _refuse_non_finite(value, path)
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
            _check_key(k, path)
            out[k] = encode(v, f"{path}.{k}")
        return out
    raise SerializationError(
        f"{path} is a {type(value).__module__}.{type(value).__qualname__}, which eslab cannot "
        "store as JSON. Use str, int, Decimal, datetime, UUID, an Enum, a list/dict or a "
        "dataclass of those."
    )


def _refuse_non_finite(value: float, path: str) -> None:
    name = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    raise SerializationError(f"{path} is {name}, which JSON cannot store; use None.")


def _check_key(key: object, path: str) -> None:
    if not isinstance(key, str):
        raise SerializationError(
            f"{path} has a key of type {type(key).__name__} ({key!r}); JSON object keys "
            "must be str — convert the keys to strings."
        )


# -- the rules: one per supported hint ---------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """What one type hint accepts from Python, writes as JSON and reads back from JSON."""

    expected: str
    """How the type is named in messages."""
    accepts: Callable[[Any], bool]
    """Is this Python value storable under the hint (and read back equal)?"""
    to_json: Callable[[Any], Any]
    from_json: Callable[[Any], Any]
    """Raises :class:`Mismatch` (or ValueError) for JSON the hint cannot read."""


class Mismatch(TypeError):
    """Stored data does not fit a type hint; ``path`` says where (e.g. ``.items[0].sku``)."""

    def __init__(self, expected: str, data: Any, path: str = "", kind: str = "type") -> None:
        self.expected, self.data, self.path, self.kind = expected, data, path, kind
        super().__init__(self.describe())

    def within(self, step: str) -> Mismatch:
        """The same mismatch one level further out (``step`` is ``.field`` or ``[i]``)."""
        return Mismatch(self.expected, self.data, step + self.path, self.kind)

    def describe(self) -> str:
        where = f"field {self.path.lstrip('.')!r}" if self.path else "the data"
        if self.kind == "missing":
            return f"{where} is missing"
        if self.kind == "extra":
            return f"{where} is not a field of the class"
        return (
            f"{where} should be {self.expected}, but is {_type_name(self.data)} {self.data!r:.60}"
        )


def _type_name(value: Any) -> str:
    return {dict: "a JSON object", list: "a JSON array", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _exact(kind: type) -> Callable[[Any], bool]:
    return lambda v: type(v) is kind


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_date(v: Any) -> bool:
    return isinstance(v, date) and not isinstance(v, datetime)


def _reading(
    rule_name: str, accepts: Callable[[Any], bool], convert: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    def read(d: Any) -> Any:
        if not accepts(d):
            raise Mismatch(rule_name, d)
        return convert(d)

    return read


def _same(d: Any) -> Any:
    return d


def _decimal_from(d: Any) -> Decimal:
    try:
        return Decimal(str(d))
    except ArithmeticError:  # decimal.InvalidOperation: not a number
        raise Mismatch("a decimal string", d) from None


_SCALARS: dict[Any, Rule] = {
    str: Rule("str", lambda v: isinstance(v, str), _same, _reading("str", _exact(str), _same)),
    bool: Rule("bool", _exact(bool), _same, _reading("bool", _exact(bool), _same)),
    int: Rule("int", _is_int, _same, _reading("int", _is_int, _same)),
    float: Rule("float", _is_number, _same, _reading("a number", _is_number, float)),
    Decimal: Rule(
        "Decimal",
        lambda v: isinstance(v, Decimal),
        str,
        # numbers too: older data and other tools write amounts as JSON numbers
        _reading("a decimal string", lambda d: isinstance(d, str) or _is_number(d), _decimal_from),
    ),
    datetime: Rule(
        "datetime",
        lambda v: isinstance(v, datetime),
        datetime.isoformat,
        _reading("an ISO datetime string", _exact(str), datetime.fromisoformat),
    ),
    date: Rule(
        "date",
        _is_date,
        date.isoformat,
        _reading("an ISO date string", _exact(str), date.fromisoformat),
    ),
    uuid.UUID: Rule(
        "UUID",
        lambda v: isinstance(v, uuid.UUID),
        str,
        _reading("a UUID string", _exact(str), uuid.UUID),
    ),
    type(None): Rule(
        "None", lambda v: v is None, _same, _reading("null", lambda d: d is None, _same)
    ),
}

_CONTAINERS: dict[Any, tuple[type | tuple[type, ...], str]] = {
    list: (list, "list"),
    tuple: (tuple, "tuple"),
    set: ((set, frozenset), "set"),
    frozenset: ((set, frozenset), "frozenset"),
    dict: (dict, "dict"),
}


def type_label(hint: Any) -> str:
    """A type hint as a learner writes it: ``str``, ``list[LineItem]``, ``date | None``."""
    if hint is type(None):
        return "None"
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__qualname__ if hint.__module__ != "builtins" else hint.__name__
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_label(a) for a in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(map(repr, args))}]"
    if origin is not None and args:
        inner = ", ".join("..." if a is Ellipsis else type_label(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return str(hint).replace("typing.", "")


def _name(hint: Any) -> str:
    return getattr(hint, "__qualname__", None) or repr(hint)


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:
        raise SerializationError(
            f"eslab cannot resolve the type hints of {cls.__qualname__} ({type(exc).__name__}: "
            f"{exc}), so it could not read such an event back. Define the class, and the "
            "types its fields name, at module level (not inside a function)."
        ) from exc


def _unsupported(hint: Any) -> SerializationError:
    return SerializationError(
        f"eslab cannot store or read the type hint {type_label(hint)}; use str, int, float, "
        "bool, Decimal, datetime, date, UUID, an Enum, a dataclass, list/tuple/set/dict[str, "
        "...] of those, X | None, Literal[...] or Any."
    )


def kind_of(hint: Any) -> str:
    """Which family of rules a hint belongs to (the one dispatch writer and reader share):
    ``any``, ``scalar``, ``enum``, ``dataclass``, ``union``, ``literal`` or ``container``."""
    if hint is Any or hint is object:
        return "any"
    if hint in _SCALARS:
        return "scalar"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "enum"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return "dataclass"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return "union"
    if origin is typing.Literal:
        return "literal"
    if hint in _CONTAINERS or origin in _CONTAINERS:
        return "container"
    raise _unsupported(hint)


def _container_parts(hint: Any) -> tuple[type, tuple[Any, ...]]:
    return typing.get_origin(hint) or hint, typing.get_args(hint)


# -- writing: check every value against its hint while encoding it ------------------------


def encode_as(hint: Any, value: Any, path: str = "$") -> Any:
    """JSON data for ``value`` stored under ``hint``, refusing values that do not fit it."""
    return encoder_for(hint)(value, path)


@functools.cache
def encoder_for(hint: Any) -> Encoder:
    """Build (once) the checking encoder of ``hint`` (the writing half of its rule)."""
    return _ENCODERS[kind_of(hint)](hint)


def _refuse(hint: Any, value: Any, path: str) -> FieldTypeError:
    return FieldTypeError(path, type_label(hint), value)


def _scalar_encoder(hint: Any) -> Encoder:
    rule = _SCALARS[hint]
    accepts, to_json = rule.accepts, rule.to_json
    if hint is float:

        def enc_float(value: Any, path: str) -> Any:
            if not accepts(value):
                raise _refuse(hint, value, path)
            if isinstance(value, float) and not math.isfinite(value):
                _refuse_non_finite(value, path)
            return value

        return enc_float

    def enc(value: Any, path: str) -> Any:
        if accepts(value):
            return to_json(value)
        raise _refuse(hint, value, path)

    return enc


def _enum_encoder(hint: type[enum.Enum]) -> Encoder:
    def enc(value: Any, path: str) -> Any:
        if not isinstance(value, hint):
            raise _refuse(hint, value, path)
        return encode(value.value, path)

    return enc


class _Never:
    """A type no value has: marks fields without a fast path."""


def _dataclass_encoder(cls: type) -> Encoder:
    hints = _hints(cls)
    plan: list[tuple[str, type, Encoder]] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue  # derived in __post_init__: the reader rebuilds it the same way
        hint = hints.get(f.name, Any)
        # str/int/bool values of exactly that type need no call (the common case)
        fast = hint if hint in (str, int, bool) else _Never
        plan.append((f.name, fast, encoder_for(hint)))

    def enc(value: Any, path: str) -> Any:
        if type(value) is not cls:
            raise _refuse(cls, value, path)
        out: dict[str, Any] = {}
        for name, fast, encoder in plan:
            item = getattr(value, name)
            out[name] = item if type(item) is fast else encoder(item, f"{path}.{name}")
        return out

    return enc


def _union_encoder(hint: Any) -> Encoder:
    args = typing.get_args(hint)
    nullable = type(None) in args
    options = [(_shape_of(a), encoder_for(a)) for a in args if a is not type(None)]

    def enc(value: Any, path: str) -> Any:
        if value is None and nullable:
            return None
        for fits, option in options:
            if fits(value):  # the first option of the value's shape encodes (and checks) it
                return option(value, path)
        raise _refuse(hint, value, path)

    return enc


def _shape_of(hint: Any) -> Callable[[Any], bool]:
    """A cheap test of a value's outer type against ``hint`` (for choosing a union option)."""
    kind = kind_of(hint)
    if kind == "any":
        return lambda v: True
    if kind == "scalar":
        return _SCALARS[hint].accepts
    if kind == "union":
        shapes = [_shape_of(a) for a in typing.get_args(hint)]
        return lambda v: any(fits(v) for fits in shapes)
    if kind == "literal":
        args = typing.get_args(hint)
        return lambda v: any(v == a and type(v) is type(a) for a in args)
    if kind == "container":
        kinds = _CONTAINERS[_container_parts(hint)[0]][0]
        return lambda v: isinstance(v, kinds)
    if kind == "dataclass":
        return lambda v: type(v) is hint
    return lambda v: isinstance(v, hint)  # an Enum


def _literal_encoder(hint: Any) -> Encoder:
    fits = _shape_of(hint)

    def enc(value: Any, path: str) -> Any:
        if not fits(value):
            raise _refuse(hint, value, path)
        return encode(value, path)

    return enc


def _container_encoder(hint: Any) -> Encoder:
    origin, args = _container_parts(hint)
    kinds: Any = _CONTAINERS[origin][0]  # a type or a tuple of types, for isinstance
    if origin is dict:
        val = encoder_for(args[1]) if len(args) == 2 else encode
        if args and args[0] not in (str, Any):
            raise SerializationError(
                f"{type_label(hint)}: JSON object keys are text, so eslab stores dicts with "
                "str keys only — use dict[str, ...]."
            )

        def enc_dict(value: Any, path: str) -> Any:
            if not isinstance(value, kinds):
                raise _refuse(hint, value, path)
            out = {}
            for k, v in value.items():
                _check_key(k, path)
                out[k] = val(v, f"{path}.{k}")
            return out

        return enc_dict
    fixed = origin is tuple and args and args[-1:] != (Ellipsis,)
    if fixed:
        items = [encoder_for(a) for a in args]

        def enc_tuple(value: Any, path: str) -> Any:
            if not isinstance(value, tuple) or len(value) != len(items):
                raise _refuse(hint, value, path)
            return [f(v, f"{path}[{i}]") for i, (f, v) in enumerate(zip(items, value, strict=True))]

        return enc_tuple
    item = encoder_for(args[0]) if args else encode
    unordered = origin in (set, frozenset)

    def enc_items(value: Any, path: str) -> Any:
        if not isinstance(value, kinds):
            raise _refuse(hint, value, path)
        ordered = sorted(value, key=repr) if unordered else value
        return [item(v, f"{path}[{i}]") for i, v in enumerate(ordered)]

    return enc_items


# -- reading: rebuild values from JSON by the same rules ----------------------------------


def decode(hint: Any, data: Any) -> Any:
    """Rebuild a value of type ``hint`` from JSON data made by :func:`encode_as`.

    Data that does not fit raises :class:`SerializationError` saying which field is
    missing, extra or of the wrong type (``exc.__cause__`` is the :class:`Mismatch`).
    """
    try:
        return decoder_for(hint)(data)
    except SerializationError:
        raise
    except Mismatch as exc:
        raise SerializationError(f"Cannot read the stored data as {_name(hint)}: {exc}.") from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SerializationError(
            f"Cannot read {data!r:.200} as {_name(hint)}: {exc}."
        ) from Mismatch(type_label(hint), data)


@functools.cache
def decoder_for(hint: Any) -> Decoder:
    """Build (once) a function that decodes JSON data into ``hint`` (the reading half)."""
    return _DECODERS[kind_of(hint)](hint)


def _literal_decoder(hint: Any) -> Decoder:
    args, label = typing.get_args(hint), type_label(hint)

    def literal(d: Any) -> Any:
        if d not in args:
            raise Mismatch(label, d)
        return d

    return literal


def _container_decoder(hint: Any) -> Decoder:
    origin, args = _container_parts(hint)
    label = type_label(hint)
    if origin is dict:
        val = decoder_for(args[1]) if len(args) == 2 else _same

        def dec_dict(d: Any) -> Any:
            if type(d) is not dict:
                raise Mismatch(label, d)
            try:
                return {k: val(v) for k, v in d.items()}
            except Mismatch as exc:
                raise exc.within(f".{next(k for k, v in d.items() if _fails(val, v))}") from None

        return dec_dict
    if origin is tuple and args and args[-1:] != (Ellipsis,):
        items = [decoder_for(a) for a in args]

        def dec_tuple(d: Any) -> Any:
            if type(d) is not list or len(d) != len(items):
                raise Mismatch(label, d)
            return tuple(f(v) for f, v in zip(items, d, strict=True))

        return dec_tuple
    item = decoder_for(args[0]) if args else _same

    def dec_items(d: Any) -> Any:
        if type(d) is not list:
            raise Mismatch(label, d)
        try:
            return origin(item(v) for v in d)
        except Mismatch as exc:
            raise exc.within(f"[{next(i for i, v in enumerate(d) if _fails(item, v))}]") from None

    return dec_items


def _fails(decoder: Decoder, data: Any) -> bool:
    try:
        decoder(data)
    except (Mismatch, TypeError, ValueError):
        return True
    return False


def _union_decoder(hint: Any) -> Decoder:
    args = typing.get_args(hint)
    options = [decoder_for(a) for a in args if a is not type(None)]
    nullable = type(None) in args
    label = type_label(hint)

    def dec(d: Any) -> Any:
        if d is None and nullable:
            return None
        for option in options:
            try:
                return option(d)
            except (TypeError, ValueError, KeyError, SerializationError):
                continue
        raise Mismatch(label, d)

    return dec


def _dataclass_decoder(cls: type) -> Decoder:
    hints = _hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    label = cls.__qualname__
    if all(hints.get(f.name, Any) is Any for f in fields):
        decoders: dict[str, Decoder] | None = None
    else:
        decoders = {f.name: decoder_for(hints.get(f.name, Any)) for f in fields}

    def dec(d: Any) -> Any:
        if type(d) is not dict:
            raise Mismatch(f"a JSON object ({label})", d)
        try:
            if decoders is None:
                return cls(**d)
            return cls(**{k: decoders[k](v) for k, v in d.items()})
        except (KeyError, TypeError, ValueError) as exc:
            raise _explain(cls, fields, decoders, d, exc) from None

    return dec


def _explain(
    cls: type,
    fields: list[dataclasses.Field[Any]],
    decoders: dict[str, Decoder] | None,
    d: dict[str, Any],
    exc: Exception,
) -> Exception:
    """Say which field of ``d`` does not fit ``cls`` (only runs when decoding failed)."""
    names = {f.name for f in fields}
    extra = [k for k in d if k not in names]
    if extra:
        return Mismatch("", None, f".{extra[0]}", "extra")
    required = [
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [n for n in required if n not in d]
    if missing:
        return Mismatch("", None, f".{missing[0]}", "missing")
    if isinstance(exc, Mismatch):
        return exc.within(f".{_failing_field(decoders, d)}")
    for name, value in d.items():
        if decoders is not None and _fails(decoders[name], value):
            return Mismatch(type_label(typing.get_type_hints(cls)[name]), value, f".{name}")
    return exc  # the class itself refused the values (e.g. its __post_init__)


def _failing_field(decoders: dict[str, Decoder] | None, d: dict[str, Any]) -> str:
    for name, value in d.items():
        if decoders is not None and _fails(decoders[name], value):
            return name
    return "?"


_ENCODERS: dict[str, Callable[[Any], Encoder]] = {
    "any": lambda hint: encode,
    "scalar": _scalar_encoder,
    "enum": _enum_encoder,
    "dataclass": _dataclass_encoder,
    "union": _union_encoder,
    "literal": _literal_encoder,
    "container": _container_encoder,
}
_DECODERS: dict[str, Callable[[Any], Decoder]] = {
    "any": lambda hint: _same,
    "scalar": lambda hint: _SCALARS[hint].from_json,
    "enum": lambda hint: hint,
    "dataclass": _dataclass_decoder,
    "union": _union_decoder,
    "literal": _literal_decoder,
    "container": _container_decoder,
}
