"""Plans: list and detail for viewers, the editor for admins: validation through tally.config,
a dry run of one day that writes nothing, saving as a new version."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from tally.breaks.models import Break, DayResult, Plan, Run
from tally.services.plans import plan_toml
from tests.services.factories import import_csv, plan, table_source

from .office_factories import role_user

pytestmark = pytest.mark.django_db
DAY = date(2024, 5, 1)


def sample_plan() -> Plan:
    table_source("shop")
    table_source("bank")
    import_csv("shop", DAY, ("A1", "12.34"), ("A2", "5.00"))
    import_csv("bank", DAY, ("A1", "12.30"), ("A3", "7.00"))
    return plan("bank_vs_shop", "shop", "bank", carry_over_days=0)


def client_for(role: str | None) -> Client:
    client = Client()
    client.force_login(role_user(role))
    return client


def test_viewer_sees_the_list_and_the_plan_but_not_the_editor() -> None:
    p = sample_plan()
    client = client_for("viewer")
    listing = client.get(reverse("plan-list"))
    assert listing.status_code == 200
    assert reverse("plan-detail", args=[p.name]).encode() in listing.content
    detail = client.get(reverse("plan-detail", args=[p.name]))
    assert detail.status_code == 200
    assert b"[plans.bank_vs_shop]" in detail.content
    assert reverse("plan-edit", args=[p.name]).encode() not in detail.content
    assert b"Start run" not in detail.content
    assert client.get(reverse("plan-edit", args=[p.name])).status_code == 403
    assert client.post(reverse("plan-edit", args=[p.name]), {"text": "x", "action": "save"}).status_code == 403


def test_operator_sees_the_run_form() -> None:
    p = sample_plan()
    assert b"Start run" in client_for("operator").get(reverse("plan-detail", args=[p.name])).content


def test_check_reports_a_toml_error_with_its_line() -> None:
    p = sample_plan()
    text = '[plans.bank_vs_shop]\nours = "shop"\ntheirs = bank\n'
    response = client_for("admin").post(reverse("plan-edit", args=[p.name]), {"text": text, "action": "validate"})
    assert response.status_code == 400
    assert response.context["error"].code == "BAD_TOML"
    assert response.context["error"].where.line == 3


def test_check_reports_a_bad_field_and_an_unknown_source() -> None:
    p = sample_plan()
    client = client_for("admin")
    bad = client.post(reverse("plan-edit", args=[p.name]), {
        "text": '[plans.bank_vs_shop]\nours = "shop"\ntheirs = "bank"\ncolour = "red"\n', "action": "validate"})
    assert bad.context["error"].code == "UNKNOWN_FIELD"
    assert b"plans.bank_vs_shop.colour" in bad.content
    unknown = client.post(reverse("plan-edit", args=[p.name]), {
        "text": '[plans.bank_vs_shop]\nours = "shop"\ntheirs = "nowhere"\n', "action": "validate"})
    assert unknown.context["error"].code == "UNKNOWN_SOURCE"
    renamed = client.post(reverse("plan-edit", args=[p.name]), {
        "text": '[plans.other]\nours = "shop"\ntheirs = "bank"\n', "action": "validate"})
    assert renamed.context["error"].code == "BAD_CONFIG"
    assert Plan.objects.get().spec == p.spec


def test_dry_run_shows_the_day_and_writes_nothing() -> None:
    p = sample_plan()
    text = plan_toml(p).replace("carry_over_days = 0", "carry_over_days = 0\ntolerance_minor = 10")
    response = client_for("admin").post(reverse("plan-edit", args=[p.name]),
                                        {"text": text, "action": "dry_run", "day": DAY})
    assert response.status_code == 200, response.content
    outcome = response.context["outcome"]
    # With a tolerance of 0.10 the 12.34 / 12.30 pair matches: A2 short, A3 long.
    assert (outcome["matched"], outcome["short"], outcome["long"], outcome["mismatch"]) == (1, 1, 1, 0)
    assert b"nothing saved" in response.content
    assert not Break.objects.exists()
    assert not DayResult.objects.exists()
    assert not Run.objects.exists()
    p.refresh_from_db()
    assert "tolerance_minor" not in p.spec
    assert p.version == 1


def test_dry_run_needs_a_day() -> None:
    p = sample_plan()
    response = client_for("admin").post(reverse("plan-edit", args=[p.name]),
                                        {"text": plan_toml(p), "action": "dry_run", "day": ""})
    assert response.status_code == 400
    assert b"Choose the day to try" in response.content


def test_save_stores_a_new_version() -> None:
    p = sample_plan()
    text = plan_toml(p).replace("carry_over_days = 0", "carry_over_days = 2")
    response = client_for("admin").post(reverse("plan-edit", args=[p.name]), {"text": text, "action": "save"})
    assert response.status_code == 302
    p.refresh_from_db()
    assert p.spec["carry_over_days"] == 2
    assert p.version == 2
