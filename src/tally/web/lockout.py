"""Login lockout: five failed logins for a username within 15 minutes lock it for 15 minutes.

Failures are rows (``LoginFailure``), so the lock holds across web processes and hosts. The
login form says plainly that the account is locked and for how long; the authentication backend
refuses a locked account everywhere else too (the admin's login), even with the right password.
A successful login clears the account's failures.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext

from tally.web.models import LoginFailure

FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)


def locked_until(username: str, now: datetime | None = None) -> datetime | None:
    """When the lock of ``username`` ends, or None if it is not locked."""
    now = now or timezone.now()
    recent = list(LoginFailure.objects.filter(username=username, at__gte=now - WINDOW - LOCK)
                  .order_by("-at").values_list("at", flat=True)[: FAILURES * 4])
    # Locked when FAILURES failures fall within WINDOW of each other, until LOCK after the last of them.
    for n in range(len(recent) - FAILURES + 1):
        newest, oldest = recent[n], recent[n + FAILURES - 1]
        if newest - oldest <= WINDOW and newest + LOCK > now:
            return newest + LOCK
    return None


def _ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


@receiver(user_login_failed)
def _record_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                    **kwargs: Any) -> None:
    username = str(credentials.get("username") or "")[:150]
    if username and locked_until(username) is None:  # tries during a lock do not lengthen it
        LoginFailure.objects.create(username=username, ip=_ip(request))


@receiver(user_logged_in)
def _clear_failures(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    LoginFailure.objects.filter(username=user.get_username()).delete()


class LockoutBackend(ModelBackend):
    """Django's own backend, refusing a locked account outright."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if username and locked_until(username) is not None:
            raise PermissionDenied("account locked")
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username:
            until = locked_until(username)
            if until is not None:
                minutes = max(1, int((until - timezone.now()).total_seconds() // 60) + 1)
                raise ValidationError(ngettext(
                    "Too many failed logins: this account is locked for %(minutes)d more minute. "
                    "Try again later, or ask an administrator.",
                    "Too many failed logins: this account is locked for %(minutes)d more minutes. "
                    "Try again later, or ask an administrator.", minutes) % {"minutes": minutes}, code="locked")
        return super().clean()

