"""A fast yes/no schema check (jsonschema-rs) in front of the jsonschema validators.

jsonschema walks an event in Python (~0.2 ms for a small RunEvent); jsonschema-rs answers "is it
valid?" in a few microseconds. Almost every event is valid, so `EventValidator` asks here first and
runs jsonschema only when the answer is "no", to name the problems exactly as before. The answer
may only err on the strict side: anything this check cannot decide (a value it cannot convert, a
reference to a schema that is not vendored, a format callback that raises) counts as "not valid",
which only sends the event down the slow path. Formats are checked by the same functions jsonschema
uses (`formats`), so both agree on what a date-time or UUID is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jsonschema_rs  # compiled (Rust): cheap to import

FormatCheck = Callable[[str], bool]


def _missing(_uri: str) -> bool:
    """A schema that is not vendored resolves to `false` (nothing valid): the slow path decides."""
    return False


class FastSchemas:
    """jsonschema-rs twins of `{"$ref": ref}` validators over one registry, compiled on first use."""

    def __init__(self, resources: Iterable[tuple[str, Mapping[str, Any]]], formats: Mapping[str, FormatCheck]) -> None:
        self._registry = jsonschema_rs.Registry(list(resources), retriever=_missing)
        self._formats = {name: _never_raising(check) for name, check in formats.items()}
        self._validators: dict[str, Any] = {}

    def is_valid(self, ref: str, instance: object) -> bool:
        """True only when the instance is certainly valid against `ref`."""
        validator = self._validators.get(ref)
        if validator is None:
            validator = self._validators[ref] = self._compile(ref)
        if validator is False:
            return False
        try:
            return bool(validator.is_valid(instance))
        except Exception:  # noqa: BLE001 - e.g. a non-str key or a type it cannot convert: the slow path decides
            return False

    def _compile(self, ref: str) -> Any:
        try:
            return jsonschema_rs.Draft202012Validator(
                {"$ref": ref}, registry=self._registry, formats=self._formats, validate_formats=True,
                ignore_unknown_formats=True,
            )
        except Exception:  # noqa: BLE001 - a schema it cannot compile: always the slow path for this ref
            return False


def _never_raising(check: FormatCheck) -> FormatCheck:
    def checked(value: str) -> bool:
        try:
            return bool(check(value))
        except Exception:  # noqa: BLE001 - jsonschema would report (or raise) this: let it
            return False

    return checked
