"""Small pieces of markup that pages repeat, built in Python: a form's choices (``<option>`` lists and check
boxes, remembered), a field's error attributes and message, and the case status badge.

A case page carries the municipality's agencies as choices in five forms (about 40 each in 高知市), the consent
purposes, the items and the meeting kinds: thousands of tags that a Jinja loop built anew on every page, about a
fifth of the page's rendering (docs/benchmarks.md, issue 23). The same choices with the same selection always make
the same markup, so it is remembered by exactly those values: the key is the choices themselves, never a version
number that could go stale, and a renamed agency is a new key.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from core.wareki import jdate

_NOTHING = object()  # a selection that cannot be remembered (a list, a dict): it matches no code, as in Jinja


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return _NOTHING
    return value


@functools.lru_cache(maxsize=1024)
def _options(choices: tuple[tuple[Any, Any], ...], selected: Any) -> Markup:
    return Markup("".join(
        f'<option value="{escape(code)}"{" selected" if selected == code else ""}>{escape(text)}</option>\n'
        for code, text in choices))


def option_tags(choices: Mapping[Any, Any], selected: Any = None) -> Markup:
    """``<option>`` for each code → label of ``choices``; the one equal to ``selected`` is selected."""
    return _options(tuple(choices.items()), _hashable(selected))


@functools.lru_cache(maxsize=1024)
def _checks(name: str, choices: tuple[tuple[Any, Any], ...], chosen: frozenset[Any]) -> Markup:
    field = escape(name)
    return Markup("".join(
        f'<label class="check"><input type="checkbox" name="{field}" value="{escape(code)}"'
        f'{" checked" if code in chosen else ""}> {escape(text)}</label>\n'
        for code, text in choices))


def checkbox_tags(name: str, choices: Mapping[Any, Any], chosen: Iterable[Any] | None = None) -> Markup:
    """A check box named ``name`` for each code → label of ``choices``; those in ``chosen`` are checked."""
    if isinstance(chosen, str):  # one value arrived where a list was expected: `code in "abc"` would match letters
        chosen = [chosen]
    return _checks(name, tuple(choices.items()), frozenset(c for c in (chosen or ()) if _hashable(c) is not _NOTHING))


@functools.lru_cache(maxsize=256)
def _status_badge(status: str, label: str) -> Markup:
    return Markup(f'<span class="status status--{escape(status)}">{escape(label)}</span>')


def status_badge(status: str, labels: Mapping[str, str]) -> Markup:
    """A case's status as a badge (one per row of the case list: a Jinja macro call each cost more than the row).
    A status without a label shows its code, never an error page."""
    return _status_badge(status, labels.get(status, status))


def field_names(codes: Iterable[str], labels: Mapping[str, str]) -> str:
    """分野 codes as their names, 「高齢・障害」 (an unknown code as it is); escaped by the template like any text."""
    return "・".join(labels.get(code, code) for code in codes)


def case_rows(rows: Iterable[Any], status_labels: Mapping[str, str], field_labels: Mapping[str, str]) -> Markup:
    """The case list's table rows (``core.cases.search.CaseRow``), the page and its search partial alike.

    Fifty rows of nine cells were about a third of the list's CPU as a Jinja loop (an attribute lookup through the
    environment and an escape for every value: docs/benchmarks.md, issue 23); the markup is the loop's, byte for
    byte, whitespace included. Every value from the data is escaped; the badge is markup of its own.
    """
    parts = []
    for row in rows:
        case, person = row.case, row.person
        tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in case.tags)
        review = jdate(case.review_on) if case.review_on else "—"
        parts.append(
            f'      <tr>\n        <td><a href="/cases/{escape(case.id)}">{escape(case.case_number)}</a></td>\n'
            f'        <td>{escape(jdate(case.received_on))}</td>\n'
            f'        <td>{escape(person.name)}<br><span class="muted">{escape(person.kana)}</span></td>\n'
            f'        <td>{escape(row.household.label)}</td>\n'
            f'        <td>{status_badge(case.status, status_labels)}</td>\n'
            f'        <td>{escape(field_names(case.fields, field_labels))}</td>\n'
            f'        <td>{tags}</td>\n'
            f'        <td>{"、".join(map(escape, row.assignees))}</td>\n'
            f'        <td>{escape(review)}</td>\n      </tr>')
    return Markup("\n".join(parts))  # the template's line ends the last row


def _field_of(error: Any) -> Any:
    return error.get("field") if isinstance(error, Mapping) else getattr(error, "field", None)


def field_invalid(errors: Iterable[Any], key: str, hint_id: str | None = None, prefix: str = "") -> Markup:
    """The attributes of a form control: ``aria-invalid`` when a message is about ``key``, and ``aria-describedby``
    naming its hint and its message. Called for every field of every form on a page (a case page has about sixty),
    where a Jinja macro with its own loop cost more than the field; with no errors it is nothing or the hint."""
    bad = any(_field_of(e) == key for e in errors) if errors else False
    if not bad and not hint_id:
        return Markup("")
    described = " ".join(part for part in (hint_id or "", f"error-{prefix}{key}" if bad else "") if part)
    return Markup('{} aria-describedby="{}"').format(Markup(' aria-invalid="true"') if bad else "", described)


def field_error(errors: Iterable[Any], key: str, prefix: str = "") -> Markup:
    """The message about ``key`` beside its field (none: nothing), ``id`` as ``field_invalid`` names it."""
    if not errors:
        return Markup("")
    return Markup("").join(
        Markup('<span class="field-error" id="error-{}{}">{}</span>').format(
            prefix, key, e.get("message") if isinstance(e, Mapping) else getattr(e, "message", ""))
        for e in errors if _field_of(e) == key)


# The form fields of the 相談支援 pages (cases/_macros.html exports these under the names input, textarea, select,
# checkboxes and csrf). A case page has about sixty of them; as Jinja macros each call cost more than the markup it
# made (a context, a frame, escaping every piece: a third of the page's rendering, docs/benchmarks.md, issue 23).
# The markup is the macros' byte for byte, whitespace included.
_REQUIRED = ' <span class="required">必須</span>'
# Markup.format escapes through string.Formatter, in Python: slower than the macro it would replace. Each piece is
# escaped here by hand instead (names and codes come from templates, values and labels from users and data).


def _form_field(prefix: str, name: str, label: Any, required: bool, hint: Any, control: str, message: str) -> Markup:
    """The frame every labelled field shares: its label, the control, the hint and the message."""
    p, n = escape(prefix), escape(name)
    return Markup(f'<div class="form-field">\n  <label for="f-{p}{n}">{escape(label)}{_REQUIRED if required else ""}'
                  f'</label>\n  {control}\n'
                  f'{f"""<span class="hint" id="hint-{p}{n}">{escape(hint)}</span>""" if hint else ""}  {message}\n'
                  f'</div>\n')


def _described(errors: Iterable[Any], key: str, prefix: str, name: str, hint: Any) -> Markup:
    """The control's aria attributes (``field_invalid``), naming its hint when it has one."""
    return field_invalid(errors, key, f"hint-{prefix}{name}" if hint else None, prefix)


def text_input(name: str, label: Any, values: Mapping[str, Any] | None = None, errors: Iterable[Any] = (),
               type: str = "text", required: bool = False, hint: Any = None, key: str | None = None, attrs: str = "",
               prefix: str = "") -> Markup:
    """A labelled ``<input>`` with its value kept, its hint and its message (``attrs`` is trusted markup)."""
    key = key or name
    control = (f'<input id="f-{escape(prefix)}{escape(name)}" name="{escape(name)}" type="{escape(type)}" '
               f'value="{escape((values or {}).get(name, ""))}" {attrs}{_described(errors, key, prefix, name, hint)}>')
    return _form_field(prefix, name, label, required, hint, control, field_error(errors, key, prefix))


def text_area(name: str, label: Any, values: Mapping[str, Any] | None = None, errors: Iterable[Any] = (),
              required: bool = False, rows: int = 4, hint: Any = None, key: str | None = None,
              prefix: str = "") -> Markup:
    """A labelled ``<textarea>`` with its text kept, its hint and its message."""
    key = key or name
    control = (f'<textarea id="f-{escape(prefix)}{escape(name)}" name="{escape(name)}" rows="{escape(rows)}"'
               f'{_described(errors, key, prefix, name, hint)}>{escape((values or {}).get(name, ""))}</textarea>')
    return _form_field(prefix, name, label, required, hint, control, field_error(errors, key, prefix))


def choice_select(name: str, label: Any, options: Mapping[Any, Any], values: Mapping[str, Any] | None = None,
                  errors: Iterable[Any] = (), required: bool = False, blank: Any = "選んでください",
                  key: str | None = None, prefix: str = "") -> Markup:
    """A labelled ``<select>`` of ``options`` (code → label), the kept value selected, ``blank`` first unless None."""
    key = key or name
    first = f'<option value="">{escape(blank)}</option>' if blank is not None else ""
    control = (f'<select id="f-{escape(prefix)}{escape(name)}" name="{escape(name)}"'
               f'{field_invalid(errors, key, None, prefix)}>\n{first}    '
               f'{option_tags(options, (values or {}).get(name))}\n  </select>')
    return _form_field(prefix, name, label, required, None, control, field_error(errors, key, prefix))


def check_boxes(name: str, label: Any, options: Mapping[Any, Any], values: Mapping[str, Any] | None = None,
                errors: Iterable[Any] = ()) -> Markup:
    """A ``<fieldset>`` of check boxes named ``name``, those kept in ``values`` checked, with its message."""
    return Markup(f'<fieldset class="checks" id="f-{escape(name)}">\n  <legend>{escape(label)}</legend>\n  '
                  f'{checkbox_tags(name, options, (values or {}).get(name) or [])}\n  {field_error(errors, name)}\n'
                  f'</fieldset>\n')


def csrf_field(token: Any) -> Markup:
    """The hidden CSRF token of a form."""
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(token)}">')
