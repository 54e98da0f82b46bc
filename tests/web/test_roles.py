"""The role groups the demo and real deployments start from."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from tally.web.roles import ensure_roles

pytestmark = pytest.mark.django_db


def perms_of(group: Group) -> set[str]:
    perms = group.permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


def test_roles_have_the_permissions_of_their_job() -> None:
    groups = ensure_roles()
    assert list(groups) == ["viewer", "operator", "approver", "admin"]
    viewer, operator, approver, admin = (perms_of(groups[name]) for name in groups)
    assert {"breaks.view_break", "ingest.view_bill", "breaks.view_dayresult", "breaks.view_plan"} <= viewer
    assert all(p.split(".")[1].startswith("view_") for p in viewer)
    assert operator == viewer | {"breaks.act_on_break", "ingest.add_bill", "ingest.add_source", "ingest.change_source",
                                 "breaks.add_run"}
    assert approver == viewer | {"breaks.approve_break"}
    assert "breaks.act_on_break" not in approver  # maker-checker: the checker is not a maker
    assert viewer | operator | approver <= admin
    assert {"breaks.delete_break", "ingest.change_source"} <= admin
    assert not any(p.startswith(("auth.", "admin.", "sessions.")) for p in admin)


def test_ensure_roles_is_idempotent_and_declarative() -> None:
    first = ensure_roles()
    stray = first["viewer"].permissions.model.objects.get(codename="delete_break")
    first["viewer"].permissions.add(stray)
    second = ensure_roles()
    assert {g.pk for g in first.values()} == {g.pk for g in second.values()}
    assert Group.objects.filter(name__in=list(second)).count() == 4
    assert "breaks.delete_break" not in perms_of(second["viewer"])


def test_a_viewer_sees_the_back_office() -> None:
    groups = ensure_roles()
    user = User.objects.create_user("vera", password="x" * 12)
    user.groups.add(groups["viewer"])
    client = Client()
    client.force_login(user)
    for name in ("dashboard", "break-list", "bill-list"):
        assert client.get(reverse(name)).status_code == 200, name
