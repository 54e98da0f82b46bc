"""The form renderer: Django's, with the commonest widgets written out in Python.

Every list page carries a filter form, and Django renders a widget through templates: an
``<input>`` through two includes, a ``<select>`` through two includes *per option*. On the break
queue that cost more than the page's queries (5–7 ms of a page). Inputs and single
selects are written here with exactly the markup of Django's templates (tests/web/test_renderer.py
holds the two side by side); any other widget, or a value this does not know how to print the
way the template would, goes through Django's templates as before.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
# Django's templates that are nothing but {% include "django/forms/widgets/input.html" %}.
INPUTS = frozenset(f"{WIDGETS}{name}.html" for name in (
    "input", "text", "search", "date", "datetime", "time", "number", "email", "url", "tel", "password",
    "hidden", "color",
))
SELECT = f"{WIDGETS}select.html"
OPTION = f"{WIDGETS}select_option.html"


class FormRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        widget = context.get("widget")
        if isinstance(widget, dict) and len(context) == 1:
            html = None
            if template_name in INPUTS:
                html = _input(widget)
            elif template_name == SELECT:
                html = _select(widget)
            if html is not None:
                return html
        return super().render(template_name, context, request)


class _Unprintable(Exception):
    """A value the template would print through localization or a filter this does not copy."""


def _text(value: Any) -> str:
    """``{{ value }}`` for text: escaped unless already safe."""
    if isinstance(value, SafeData):
        return str(value)
    if isinstance(value, str | Promise):
        return escape(value)
    raise _Unprintable


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: ``"%s" % value``, escaped unless the value was safe."""
    if isinstance(value, tuple | list | dict):
        raise _Unprintable  # "%s" % a tuple is not str(tuple); leave those to the template
    text = "%s" % (value,)  # noqa: UP031 (exactly what stringformat does)
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html: ``name`` for True, nothing for False, ``name="value"`` else."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"')
    return "".join(out)


def _input(widget: dict[str, Any]) -> str | None:
    try:
        value = "" if widget["value"] is None else f' value="{_formatted(widget["value"])}"'
        return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'
    except (_Unprintable, KeyError):
        return None


def _select(widget: dict[str, Any]) -> str | None:
    try:
        parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{_text(group_name)}">')
            for option in options:
                if option["template_name"] != OPTION:
                    return None
                parts.append(f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                             f'{_text(option["label"])}</option>\n')
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return "".join(parts)
    except (_Unprintable, KeyError):
        return None
