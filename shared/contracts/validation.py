"""Readable validation errors that name the field and the reason, never the (possibly personal) value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def describe(exc: ValidationError, limit: int = 5) -> str:
    """E.g. 'person.civicNo.value: check digit does not match; tenant: String should match…'."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "message"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def load_document(path: Path, model: type[M], setting: str) -> M:
    """A JSON configuration document read into `model`, or a ValueError that names the setting,
    the field and the problem (never a value from the file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{setting}: cannot read {path} ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{setting}: {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{setting}: {describe(exc)}") from None


# What each text type accepts, as a pattern pydantic-core checks in Rust: the characters
# `shared.contracts.text` refuses, by the name of its check. A lone surrogate cannot reach a
# pattern (the JSON parser refuses it, and a Rust string cannot hold one).
_SEPARATORS_AND_NONCHARACTERS = r"\x{2028}\x{2029}\x{FFFE}\x{FFFF}"
_ACCEPTS = {
    ("shared.contracts.text", "_line"): rf"^[^\x00-\x1F\x7F-\x9F{_SEPARATORS_AND_NONCHARACTERS}]*$",
    ("shared.contracts.text", "_free"): (
        rf"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F{_SEPARATORS_AND_NONCHARACTERS}]*$"
    ),
    ("shared.contracts.text", "_storable"): r"^[^\x00]*$",
}
_LENGTHS = {"min_length_validator": "min_length", "max_length_validator": "max_length"}
_PLAIN_STR = frozenset({"type", "pattern", "min_length", "max_length"})
_CONSTRAINT_WRAPPER = "._apply_constraint_with_incompatibility_info"


def _name(function: object) -> tuple[str, str]:
    return getattr(function, "__module__", ""), getattr(function, "__qualname__", "")


def _native(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `str` schema that accepts exactly what `schema` accepts, unchanged, with its Python
    checks done in Rust; None when `schema` is not one of the forms below."""
    kind, inner = schema.get("type"), schema.get("schema")
    function = schema.get("function")
    call = function.get("function") if isinstance(function, Mapping) else None
    base = _native_or_str(inner) if isinstance(inner, Mapping) else None
    if kind == "function-after" and base is not None:
        pattern = _ACCEPTS.get(_name(call))
        if pattern is not None and "pattern" not in base:
            return {**base, "pattern": pattern}
        length = _LENGTHS.get(getattr(getattr(call, "func", None), "__name__", ""))
        if length is not None and length not in base:
            return {**base, length: call.keywords[length]}  # type: ignore[union-attr]
    if (
        kind == "function-wrap"
        and base is not None
        and _name(call)[1].endswith(_CONSTRAINT_WRAPPER)
    ):
        return base  # pydantic's wrapper only turns a type error into a TypeError
    if kind == "chain":
        steps = [_native_or_str(step) for step in schema["steps"]]
        merged: dict[str, Any] = {}
        for step in steps:
            if step is None or merged.keys() & step.keys() - {"type"}:
                return None
            merged.update(step)
        return merged
    return None


def _native_or_str(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    if schema.get("type") == "str" and set(schema) <= _PLAIN_STR:
        return dict(schema)
    return _native(schema)


def _stricter(schema: Any) -> Any:
    """A copy of a core schema whose text checks run in Rust (see `_native`); each replaced
    schema's reference (`ref`) and metadata stay."""
    if isinstance(schema, list):
        return [_stricter(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    native = _native(schema)
    if native is not None:
        keep = {key: schema[key] for key in ("ref", "metadata") if key in schema}
        return {**native, **keep}
    return {key: _stricter(value) for key, value in schema.items()}


def _model_classes(schema: Any, found: set[type]) -> set[type]:
    if isinstance(schema, list):
        for item in schema:
            _model_classes(item, found)
    elif isinstance(schema, Mapping):
        if schema.get("type") == "model":
            found.add(schema["cls"])
        for value in schema.values():
            _model_classes(value, found)
    return found


def _own_validator(schema: Any) -> SchemaValidator:
    """A validator built from `schema` itself. pydantic-core takes a complete model's own
    validator wherever the schema names the model (`__pydantic_complete__` in the class's
    `__dict__`), which would undo every change: the flag is off while this one is built."""
    classes = [c for c in _model_classes(schema, set()) if c.__dict__.get("__pydantic_complete__")]
    for cls in classes:
        cls.__pydantic_complete__ = False  # type: ignore[attr-defined]
    try:
        return SchemaValidator(schema)
    finally:
        for cls in classes:
            cls.__pydantic_complete__ = True  # type: ignore[attr-defined]


class FastJson(Generic[T]):
    """`adapter.validate_json` with the text types' checks and pydantic's length checks of
    constrained text (a Python call for every string) done as `str` constraints in Rust: an
    integration event 4.8 -> 3.5 us (one process, back to back); used by the event parsers
    (`shared.messaging.parsing`) and the register's archive (a feed record would gain 3-7 %).

    The fast validator accepts what the adapter accepts and gives the same value. Its refusals
    would read otherwise (a pattern where the adapter says "holds a NUL character"), so a document
    it refuses is validated again by the adapter, whose error (or value) is the answer: the same
    field named, the same reason. Refusals are rare and pay twice. Build one at start-up (not while
    other threads build validators of the same models)."""

    def __init__(self, adapter: TypeAdapter[T]) -> None:
        self.adapter = adapter
        self._fast = _own_validator(_stricter(adapter.core_schema))

    def validate_json(self, data: str | bytes | bytearray) -> T:
        try:
            return self._fast.validate_json(data)  # type: ignore[no-any-return]
        except ValidationError:
            return self.adapter.validate_json(data)
