"""Admin pages for API tokens: creating one shows the token once; only its hash is kept."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from tally.web.api.auth import TOKEN_PREFIX, digest
from tally.web.models import ApiToken, Profile


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "expires_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("user__username", "name", "prefix")
    fields = ("user", "name", "expires_at", "revoked")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("user",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            obj.prefix = secrets.token_hex(4)
            token = f"{TOKEN_PREFIX}{obj.prefix}_{secrets.token_urlsafe(32)}"
            obj.digest = digest(token)
            messages.warning(request, f"API token for {obj.user}: {token} — copy it now, it is not shown again.")
        super().save_model(request, obj, form, change)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "language", "time_zone")
