"""Who may reach which plan.

Roles (viewer, operator, approver, admin: ``tally.web.roles``) say what a user may do; a
``PlanAccess`` row narrows where. A user with no row (for themself or any of their groups) sees
every plan; a user with rows sees only the plans named in them. Superusers see everything.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PlanAccess(models.Model):
    plan = models.ForeignKey("breaks.Plan", on_delete=models.CASCADE, related_name="access")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="plan_access")
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="plan_access")

    class Meta:
        verbose_name_plural = "plan access"
        constraints = (
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, group__isnull=True)
                           | models.Q(user__isnull=True, group__isnull=False)),
                name="plan_access_user_xor_group"),
            models.UniqueConstraint(fields=["plan", "user"], name="one_plan_access_per_user"),
            models.UniqueConstraint(fields=["plan", "group"], name="one_plan_access_per_group"),
        )

    def __str__(self) -> str:
        who = self.user.get_username() if self.user else f"group {self.group}"
        return f"{who} → {self.plan}"

