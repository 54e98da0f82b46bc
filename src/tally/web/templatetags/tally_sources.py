"""Small filters for the source pages: a form field by name, a dict entry, a delimiter's name."""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def split(text: str) -> list[str]:
    return text.split()


@register.filter
def field(form: forms.Form, name: str) -> forms.BoundField:
    return form[name]


@register.filter
def lookup(table: dict[str, Any] | None, key: Any) -> Any:
    return (table or {}).get(str(key) if key is not None else "", [])


@register.filter
def delimiter_name(delimiter: str) -> str:
    names = {"\t": _("tab"), ",": ",", ";": ";", "|": "|"}
    return str(names.get(delimiter, delimiter))
