"""Creating users from the command line (``tally createuser``): a user in one of the four roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from tally.errors import ConfigError
from tally.web.roles import ROLES, ensure_roles


@transaction.atomic
def create_user(username: str, password: str, role: str, *, email: str = "", staff: bool = False) -> Any:
    """A new active user in ``role``; ConfigError if the name is taken, the role unknown or the
    password too weak (Django's validators, as in the admin pages)."""
    if role not in ROLES:
        raise ConfigError("UNKNOWN_ROLE", f"{role!r} is not a role", field="role", hint=f"one of {', '.join(ROLES)}")
    users = get_user_model()
    if users.objects.filter(username=username).exists():
        raise ConfigError("USER_EXISTS", f"a user named {username!r} already exists", field="username",
                          hint="change their roles in the back office (Users), or pick another name")
    try:
        validate_password(password, users(username=username, email=email))
    except ValidationError as exc:
        raise ConfigError("WEAK_PASSWORD", " ".join(exc.messages), field="password") from None
    user = users.objects.create_user(username=username, email=email, password=password,
                                     is_staff=staff or role == "admin")
    user.groups.add(ensure_roles()[role])
    return user
