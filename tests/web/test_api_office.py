"""The API's sources, bills, plans, runs and data browser: what they answer, and to whom."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tally.breaks.models import PlanAccess, Run
from tally.services.running import run_plan
from tally.web.api.auth import create_token
from tally.web.models import RunJob
from tests.services.factories import import_csv, plan, table_source

from .office_factories import DAY, lake_bill, role_user

pytestmark = pytest.mark.django_db


def api(role: str | None, user: Any = None) -> tuple[Client, dict[str, str]]:
    user = user or role_user(role)
    _, token = create_token(user.username)
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def reconciled() -> str:
    table_source("shop")
    table_source("bank")
    import_csv("shop", DAY, ("A1", "12.34"), ("A2", "5.00"))
    import_csv("bank", DAY, ("A1", "12.34"), ("A3", "7.00"))
    plan("bank_vs_shop", "shop", "bank", carry_over_days=0)
    run_plan("bank_vs_shop", DAY, DAY)
    return "bank_vs_shop"


def test_bills_list_detail_and_raw_bytes() -> None:
    reconciled()
    client, auth = api("viewer")
    page = client.get("/api/bills/", {"source": "bank"}, **auth).json()
    assert page["count"] == 1
    bill = page["items"][0]
    assert (bill["source"], bill["status"], bill["rows"], bill["business_day"]) == ("bank", "imported", 2, "2024-05-01")
    assert client.get(f"/api/bills/{bill['id']}", **auth).json()["sha256"] == bill["sha256"]
    raw = client.get(f"/api/bills/{bill['id']}/raw", **auth)
    assert raw.status_code == 200
    assert b"".join(raw.streaming_content).startswith(b"order_no,amount,paid_at")
    assert client.get("/api/bills/999999", **auth).status_code == 404


def test_plans_days_and_validate() -> None:
    name = reconciled()
    client, auth = api("viewer")
    assert [p["name"] for p in client.get("/api/plans/", **auth).json()] == [name]
    detail = client.get(f"/api/plans/{name}", **auth).json()
    assert (detail["ours"], detail["theirs"], detail["version"]) == (["shop"], ["bank"], 1)
    assert "[plans.bank_vs_shop]" in detail["toml"]
    days = client.get(f"/api/plans/{name}/days", **auth).json()
    assert [(d["day"], d["matched"], d["short"], d["long"]) for d in days] == [("2024-05-01", 1, 1, 1)]
    assert len(days[0]["manifest"]["bills"]) == 2
    # Validating a new text is for those who may change plans.
    assert client.post(f"/api/plans/{name}/validate", {"toml": detail["toml"]}, content_type="application/json",
                       **auth).status_code == 403
    admin, admin_auth = api("admin")
    ok = admin.post(f"/api/plans/{name}/validate", {"toml": detail["toml"]}, content_type="application/json",
                    **admin_auth).json()
    assert ok == {"valid": True, "error": None}
    bad = admin.post(f"/api/plans/{name}/validate", {"toml": '[plans.bank_vs_shop]\nours = "shop"\ntheirs = "x"\n'},
                     content_type="application/json", **admin_auth).json()
    assert bad["valid"] is False
    assert bad["error"]["code"] == "UNKNOWN_SOURCE"


def test_runs_history_detail_and_start(monkeypatch: pytest.MonkeyPatch) -> None:
    name = reconciled()
    run = Run.objects.get()
    viewer, viewer_auth = api("viewer")
    runs = viewer.get("/api/runs/", **viewer_auth).json()
    assert [r["id"] for r in runs["items"]] == [run.pk]
    detail = viewer.get(f"/api/runs/{run.pk}", **viewer_auth).json()
    assert detail["status"] == "done"
    assert detail["days"][0]["manifest"]["engine"] == "duckdb"
    body = {"plan": name, "first": "2024-05-01"}
    assert viewer.post("/api/runs/", body, content_type="application/json", **viewer_auth).status_code == 403
    from tally.web import jobs

    monkeypatch.setattr(jobs, "_in_thread", jobs.execute)  # run it here, now
    monkeypatch.setattr(jobs.threading, "Thread", lambda target, args, **kw: type(
        "T", (), {"start": lambda self: target(*args)})())
    operator, operator_auth = api("operator")
    started = operator.post("/api/runs/", body, content_type="application/json", **operator_auth)
    assert started.status_code == 202
    job = started.json()
    assert (job["plan"], job["days_total"]) == (name, 1)
    progress = operator.get(f"/api/runs/jobs/{job['id']}", **operator_auth).json()
    assert (progress["status"], progress["days_done"]) == ("done", 1)
    assert progress["run_id"] == Run.objects.latest("pk").pk
    backwards = operator.post("/api/runs/", {"plan": name, "first": "2024-05-02", "last": "2024-05-01"},
                              content_type="application/json", **operator_auth)
    assert backwards.status_code == 400
    assert backwards.json()["error"]["code"] == "BAD_RANGE"


def test_plans_and_runs_outside_ones_plan_access_are_not_found() -> None:
    name = reconciled()
    other = plan("other", "shop", "bank")
    run = Run.objects.get()
    user = role_user("operator")
    PlanAccess.objects.create(plan=other, user=user)
    client, auth = api(None, user)
    assert [p["name"] for p in client.get("/api/plans/", **auth).json()] == ["other"]
    assert client.get(f"/api/plans/{name}", **auth).status_code == 404
    assert client.get(f"/api/plans/{name}/days", **auth).status_code == 404
    assert client.get(f"/api/runs/{run.pk}", **auth).status_code == 404
    assert client.get("/api/runs/", **auth).json()["count"] == 0
    started = client.post("/api/runs/", {"plan": name, "first": "2024-05-01"}, content_type="application/json", **auth)
    assert started.status_code == 404
    assert not RunJob.objects.exists()


def test_browse_pages_search_and_count() -> None:
    bill = lake_bill(n=130)
    client, auth = api("viewer")
    params = {"source": bill.source.name, "first": DAY.isoformat(), "limit": 50}
    first = client.get("/api/browse/", params, **auth).json()
    assert [r["line_no"] for r in first["records"]][:3] == [2, 3, 4]
    assert first["next_after"] == ["51"]
    second = client.get("/api/browse/", {**params, "after": first["next_after"]}, **auth).json()
    assert second["records"][0]["line_no"] == 52
    found = client.get("/api/browse/", {**params, "q": "ORD-0501-00099"}, **auth).json()
    assert [r["line_no"] for r in found["records"]] == [101]
    assert client.get("/api/browse/count", {**params, "record_kind": "refund"}, **auth).json() == {"count": 26}
    assert client.get("/api/browse/", {**params, "source": "nope"}, **auth).status_code == 404
    assert client.get("/api/browse/", {**params, "sort": "colour"}, **auth).status_code == 422
    nobody, nobody_auth = api(None)
    assert nobody.get("/api/browse/", params, **nobody_auth).status_code == 403


def test_an_unknown_api_url_answers_json() -> None:
    client, auth = api("viewer")
    response = client.get("/api/nowhere/-1", **auth)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert client.get("/api/runs/-1", **auth).json()["error"]["code"] == "UNKNOWN_RUN"
