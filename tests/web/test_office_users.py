"""Users and roles (admins only), preferences (language and time zone per user), settings page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tally.web.models import Profile

from .office_factories import DAY, lake_bill, role_user

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_only_admins_see_users_and_settings() -> None:
    for role in ("viewer", "operator", "approver", None):
        client = client_for(role_user(role))
        assert client.get(reverse("user-list")).status_code == 403
        assert client.get(reverse("site-settings")).status_code == 403
    admin = client_for(role_user("admin"))
    assert admin.get(reverse("user-list")).status_code == 200
    assert admin.get(reverse("site-settings")).status_code == 200


def test_admin_sets_roles_and_deactivates_a_user() -> None:
    admin = role_user("admin")
    subject = role_user("viewer")
    subject.groups.add(Group.objects.create(name="finance-east"))
    client = client_for(admin)
    listing = client.get(reverse("user-list"))
    assert subject.username.encode() in listing.content
    response = client.post(reverse("user-detail", args=[subject.pk]), {"roles": ["operator", "approver"]})
    assert response.status_code == 302
    subject.refresh_from_db()
    assert sorted(g.name for g in subject.groups.all()) == ["approver", "finance-east", "operator"]
    assert subject.is_active is False
    assert subject.has_perm("breaks.add_run") is False  # inactive users hold no permission


def test_admin_cannot_lock_themself_out() -> None:
    admin = role_user("admin")
    client = client_for(admin)
    response = client.post(reverse("user-detail", args=[admin.pk]), {"roles": ["viewer"], "is_active": "on"})
    assert response.status_code == 400
    assert b"your own admin role" in response.content
    admin.refresh_from_db()
    assert [g.name for g in admin.groups.all()] == ["admin"]
    assert admin.is_active


def test_settings_show_no_secret(settings) -> None:
    settings.TALLY_REDIS_URL = "redis://:hunter2pass@redis.internal:6379/0"
    settings.TALLY_ALERT_WEBHOOK_SECRET = "whsec-very-secret"
    settings.EMAIL_HOST_PASSWORD = "smtp-secret"
    page = client_for(role_user("admin")).get(reverse("site-settings"))
    assert b"redis://redis.internal:6379/0" in page.content
    for secret in (b"hunter2pass", b"whsec-very-secret", b"smtp-secret", settings.SECRET_KEY.encode()):
        assert secret not in page.content


def test_preferences_set_the_language_and_time_zone_used_everywhere() -> None:
    user = role_user("viewer")
    client = client_for(user)
    response = client.post(reverse("preferences"), {"language": "zh-hans", "time_zone": "America/New_York"})
    assert response.status_code == 302
    assert Profile.objects.get(user=user).time_zone == "America/New_York"
    bill = lake_bill(n=1)  # occurred_at 2024-05-01 01:02:03 UTC
    page = client.get(reverse("browser"), {"source": bill.source.name, "first": DAY})
    assert "数据".encode() in page.content  # the nav in Chinese
    assert b"2024-04-30 21:02:03" in page.content  # 01:02:03 UTC in New York (EDT)
    Profile.objects.filter(user=user).update(time_zone="Asia/Shanghai", language="en")
    page = client.get(reverse("browser"), {"source": bill.source.name, "first": DAY})
    assert b"2024-05-01 09:02:03" in page.content
    assert b">Data<" in page.content


def test_switching_language_in_the_header_is_remembered_for_the_user() -> None:
    user = role_user("viewer")
    client = client_for(user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert Profile.objects.get(user=user).language == "zh-hans"
    fresh = Client()  # another browser, no language cookie
    fresh.force_login(user)
    assert b'<html lang="zh-hans">' in fresh.get(reverse("dashboard")).content


def test_break_detail_shows_occurred_at_in_the_users_zone() -> None:
    from tests.web.factories import make_break

    brk = make_break()  # records occurred at 2024-05-01T02:03:04+00:00
    user = role_user("viewer")
    Profile.objects.create(user=user, time_zone="Asia/Shanghai")
    page = client_for(user).get(reverse("break-detail", args=[brk.pk]))
    assert b"2024-05-01 10:03:04" in page.content
    assert dt.date(2024, 5, 1)


def test_settings_show_the_workers_periods(settings) -> None:
    settings.TALLY_APPROVAL_REMIND_HOURS = 36
    settings.TALLY_EXPORT_KEEP_DAYS = 11
    page = client_for(role_user("admin")).get(reverse("site-settings")).content.decode()
    assert re.search(r"TALLY_APPROVAL_REMIND_HOURS</\w+>\s*<\w+[^>]*>36<", page)
    assert re.search(r"TALLY_EXPORT_KEEP_DAYS</\w+>\s*<\w+[^>]*>11<", page)
