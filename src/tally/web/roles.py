"""The four roles of the back office as Django groups.

- ``viewer``: sees everything (every ``view_*`` permission of Tally's apps), changes nothing.
- ``operator`` (maker): a viewer who proposes actions on breaks, uploads bills and adds or
  changes sources (a new channel's mapping).
- ``approver`` (checker): a viewer who approves or rejects proposed actions. Deliberately not an
  operator too: maker-checker means the person who approves is not the one who proposed, and
  keeping the two permissions in different roles makes that the default, not a discipline.
- ``admin``: every permission of Tally's apps.

``ensure_roles()`` is idempotent and declarative: each group ends up with exactly the
permissions listed here (a permission added to a group by hand is removed on the next call).
Permissions are created by ``migrate``; call this after it.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

VIEWER = "viewer"
OPERATOR = "operator"
APPROVER = "approver"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, APPROVER, ADMIN)

# Operators add channels themselves: a new table source, or a changed mapping (a new version).
OPERATOR_EXTRA = ("breaks.act_on_break", "ingest.add_bill", "ingest.add_source", "ingest.change_source",
                  "breaks.add_run")  # operators start runs (and re-runs from a day) in the back office
APPROVER_EXTRA = ("breaks.approve_break",)


def tally_app_labels() -> list[str]:
    """Labels of the installed Django apps that are part of Tally (``tally.*``)."""
    return sorted(config.label for config in apps.get_app_configs() if config.name.startswith("tally."))


def _named(perms: tuple[str, ...]) -> list[Permission]:
    found = []
    for perm in perms:
        app_label, codename = perm.split(".", 1)
        try:
            found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        except Permission.DoesNotExist as exc:
            raise LookupError(f"permission {perm} does not exist; run `migrate` first") from exc
    return found


@transaction.atomic
def ensure_roles() -> dict[str, Group]:
    """Create or update the four role groups; returns them by name."""
    tally_perms = Permission.objects.filter(content_type__app_label__in=tally_app_labels())
    view = list(tally_perms.filter(Q(codename__startswith="view_")))
    wanted: dict[str, list[Permission]] = {
        VIEWER: view,
        OPERATOR: view + _named(OPERATOR_EXTRA),
        APPROVER: view + _named(APPROVER_EXTRA),
        ADMIN: list(tally_perms),
    }
    groups = {}
    for name in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(wanted[name])
        groups[name] = group
    return groups
