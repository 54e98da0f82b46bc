"""Admin pages for what admins set by hand: approval policies and plan access. Actions and the
audit log are shown read-only (they change only through the workflow services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tally.breaks.models import Action, ApprovalPolicy, AuditEvent, PlanAccess


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    list_display = ("kind", "requires_approval", "threshold_minor", "updated_at")
    list_editable = ("requires_approval", "threshold_minor")


@admin.register(PlanAccess)
class PlanAccessAdmin(admin.ModelAdmin):
    list_display = ("plan", "user", "group")
    list_filter = ("plan",)
    search_fields = ("user__username", "group__name", "plan__name")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Action)
class ActionAdmin(ReadOnly):
    list_display = ("id", "kind", "state", "plan", "amount_minor", "currency", "maker", "checker", "rule",
                    "created_at")
    list_filter = ("kind", "state", "plan")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    list_display = ("seq", "at", "actor", "action", "object_type", "object_id", "hash")
    list_filter = ("object_type", "action")
    search_fields = ("actor", "object_id", "hash")
