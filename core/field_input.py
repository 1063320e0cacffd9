"""Reading what a person typed or a client sent: one field reader and one JSON body rule for every domain.

A reader walks one mapping (a form or a JSON object), collects a Japanese message per bad field rather than stopping
at the first, and ``done()`` raises them all at once, so a form comes back with every problem marked and nothing
has been written. Domains subclass :class:`FieldReader` for their own kinds of value (kana, yen, fiscal months …)
and :class:`InputInvalid` so their exception handlers can tell whose rule refused; the mechanics live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from core.text_rules import text_problem


class InputInvalid(Exception):
    """Bad input: ``errors`` is ``[{field, message}]`` in Japanese. Nothing has been written."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors

    @property
    def malformed(self) -> bool:
        """The body itself could not be read (400), as opposed to fields with bad values (422)."""
        return any(e["field"] == "body" for e in self.errors)


class FieldReader:
    """Reads one mapping, collecting every error. ``prefix`` names nested fields in messages (``members[1].``)."""

    invalid: ClassVar[type[InputInvalid]] = InputInvalid

    def __init__(self, data: Mapping[str, Any], prefix: str = "", errors: list[dict[str, str]] | None = None):
        self.data = data if isinstance(data, Mapping) else {}
        self.prefix = prefix
        self.errors: list[dict[str, str]] = errors if errors is not None else []

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, message: str) -> None:
        self.errors.append({"field": self.key(name), "message": message})

    def done(self) -> None:
        if self.errors:
            raise self.invalid(self.errors)

    def raw(self, name: str) -> Any:
        """The value as sent; text is stripped and an empty text is ``None`` (not given)."""
        value = self.data.get(name)
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        return value

    def present(self, name: str) -> bool:
        return self.raw(name) not in (None, [], {})

    def text(self, name: str, label: str, max_length: int, *, required: bool = False, multiline: bool = False,
             allow_emoji: bool = True) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"{label}を入力してください。")
            return None
        problem = text_problem(value, label, max_length, multiline=multiline, allow_emoji=allow_emoji)
        if problem:
            self.fail(name, problem)
            return None
        return value.replace("\r\n", "\n") if multiline else value

    def choice(self, name: str, label: str, choices: Mapping[str, str], *, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"{label}を選んでください。")
            return None
        if not isinstance(value, str) or value not in choices:
            allowed = "、".join(f"{code}（{text}）" for code, text in choices.items())
            self.fail(name, f"{label}の値が正しくありません。次のいずれかを指定してください: {allowed}")
            return None
        return value


def parse_json_object(raw: bytes, invalid: type[InputInvalid] = InputInvalid) -> dict[str, Any]:
    """A request body as a JSON object (empty body: ``{}``), or ``invalid`` on field ``body`` in Japanese."""
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError):
        raise invalid([{"field": "body", "message": "JSONの形式が正しくありません。"}]) from None
    if not isinstance(data, dict):
        raise invalid([{"field": "body", "message": "JSONはオブジェクト（{…}）で送ってください。"}])
    return data
