"""A plugin's settings as a typed form: one field per setting the plugin declares (``kyosei_plugin_settings_defaults``).

The declared default's type decides the field and how the posted text is read back:

=========  ==========================  ===========================================
default    field                       read back as
=========  ==========================  ===========================================
bool       checkbox                    ``True`` when ticked
int        number                      an integer (refused otherwise)
float      number (any step)           a number
str        text                        the text as typed
list       textarea, one item a line   a list of the non-empty lines
other      textarea (JSON)             the JSON value (dicts and the like)
=========  ==========================  ===========================================

Settings a tenant stored that the plugin no longer declares are kept as they are (and shown typed by their value).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

FIELD_PREFIX = "setting."


@dataclass(frozen=True)
class SettingField:
    key: str
    kind: str  # boolean | integer | number | text | lines | json
    value: Any

    @property
    def form_name(self) -> str:
        return FIELD_PREFIX + self.key

    @property
    def shown(self) -> str:
        """The value as the field shows it."""
        if self.kind == "lines":
            return "\n".join(str(item) for item in self.value or [])
        if self.kind == "json":
            return json.dumps(self.value, ensure_ascii=False, indent=2)
        if self.value is None:
            return ""
        return str(self.value)


def _kind(example: Any) -> str:
    if isinstance(example, bool):
        return "boolean"
    if isinstance(example, int):
        return "integer"
    if isinstance(example, float):
        return "number"
    if isinstance(example, str) or example is None:
        return "text"
    if isinstance(example, (list, tuple)) and all(isinstance(item, str) for item in example):
        return "lines"
    return "json"


def setting_fields(defaults: dict[str, Any], stored: dict[str, Any]) -> list[SettingField]:
    keys = list(defaults) + [k for k in stored if k not in defaults]
    return [SettingField(k, _kind(defaults[k] if k in defaults else stored[k]), stored.get(k, defaults.get(k)))
            for k in keys]


def _finite(text: str) -> float:
    """A number the settings column can hold: PostgreSQL's jsonb has no NaN or Infinity, and ``float()`` reads
    "nan", "inf" and "1e999" (which would have failed the save with a server error)."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {text!r}")
    return number


def _not_a_number(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def read_settings(fields: list[SettingField], posted: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The settings the form posted, typed, and the Japanese messages of what could not be read."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in fields:
        raw = posted.get(f.form_name, "")
        text = raw.strip()
        if f.kind == "boolean":
            values[f.key] = raw in ("on", "true", "1")
        elif f.kind == "integer":
            try:
                values[f.key] = int(text.replace(",", ""))
            except ValueError:
                problems.append(f"「{f.key}」には整数を入力してください。")
        elif f.kind == "number":
            try:
                values[f.key] = _finite(text.replace(",", ""))
            except ValueError:
                problems.append(f"「{f.key}」には数値を入力してください。")
        elif f.kind == "lines":
            values[f.key] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "json":
            try:
                values[f.key] = json.loads(text, parse_float=_finite, parse_constant=_not_a_number) if text else None
            except (ValueError, RecursionError):  # RecursionError: brackets nested thousands deep
                problems.append(f"「{f.key}」の値を読み取れません（JSON の形式で入力してください）。")
        else:
            values[f.key] = raw
    return values, problems
