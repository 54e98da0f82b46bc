"""Template filters of the back office pages: role names, and record times in the user's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import pgettext_lazy

register = template.Library()

ROLES = {
    "viewer": pgettext_lazy("role", "viewer"),
    "operator": pgettext_lazy("role", "operator"),
    "approver": pgettext_lazy("role", "approver"),
    "admin": pgettext_lazy("role", "admin"),
}
ROLE_HELP = {
    "viewer": pgettext_lazy("role help", "sees everything, changes nothing"),
    "operator": pgettext_lazy("role help", "proposes actions, uploads bills, starts runs"),
    "approver": pgettext_lazy("role help", "approves or rejects others' proposals"),
    "admin": pgettext_lazy("role help", "everything, including plans, users and settings"),
}


@register.filter
def role_label(code: str) -> str:
    return str(ROLES.get(code, code))


@register.filter
def role_help(code: str) -> str:
    return str(ROLE_HELP.get(code, ""))


@register.filter
def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> Any:
    """An ISO timestamp as stored in JSON (UTC) shown in the current (the user's) time zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).strftime(fmt)
    return value
