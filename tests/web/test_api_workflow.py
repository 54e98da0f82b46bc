"""The break workflow over the JSON API with tokens: the same permissions and refusals as the service."""

from __future__ import annotations

import pytest
from django.test import Client

from tally.breaks.models import Action, Break
from tally.services import resolution
from tests.services import workflow_factories as f
from tests.web.api_client import Api

pytestmark = pytest.mark.django_db


def test_openapi_lists_the_workflow_endpoints() -> None:
    paths = Client().get("/api/openapi.json").json()["paths"]
    for path in ("/api/breaks/", "/api/breaks/{break_id}", "/api/breaks/{break_id}/actions", "/api/breaks/bulk",
                 "/api/approvals/", "/api/approvals/{action_id}/approve", "/api/approvals/{action_id}/reject",
                 "/api/actions/{action_id}/undo"):
        assert path in paths


def test_maker_proposes_checker_approves_over_the_api() -> None:
    maker, checker = Api(f.user("operator")), Api(f.user("approver"))
    brk = f.brk(kind="long", theirs=900)
    proposed = maker.post(f"/breaks/{brk.pk}/actions", {"kind": "supplement", "reason": "order lost in our DB"})
    assert proposed.status_code == 201, proposed.content
    action = proposed.json()
    assert (action["state"], action["amount_minor"], action["breaks"]) == ("proposed", 900, [brk.pk])
    assert [a["id"] for a in checker.get("/approvals/").json()] == [action["id"]]

    own = maker.post(f"/approvals/{action['id']}/approve")
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "SELF_APPROVAL"
    assert maker.post(f"/approvals/{action['id']}/reject", {"reason": "x"}).json()["error"]["code"] == "SELF_APPROVAL"

    approved = checker.post(f"/approvals/{action['id']}/approve")
    assert approved.status_code == 200
    assert approved.json()["state"] == "applied"
    detail = checker.get(f"/breaks/{brk.pk}").json()
    assert (detail["status"], detail["resolution"]) == ("resolved", "supplement")
    assert [e["action"] for e in detail["history"]] == ["propose", "await_approval", "approve", "apply", "supplement"]
    assert {e["actor"] for e in detail["history"]} == {maker_name(maker), checker_name(checker)}


def maker_name(api: Api) -> str:
    return api.get("/me").json()["username"]


checker_name = maker_name


def test_an_admin_maker_is_refused_too() -> None:
    admin = f.user("admin")
    api = Api(admin)
    brk = f.brk()
    action = api.post(f"/breaks/{brk.pk}/actions", {"kind": "write_off", "reason_code": "small_difference"}).json()
    answer = api.post(f"/approvals/{action['id']}/approve")
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "SELF_APPROVAL")
    assert Action.objects.get(pk=action["id"]).state == "proposed"


def test_reject_needs_a_reason_and_restores_the_break() -> None:
    maker, checker = Api(f.user("operator")), Api(f.user("approver"))
    brk = f.brk()
    action = maker.post(f"/breaks/{brk.pk}/actions", {"kind": "adjust", "amount_minor": 34, "reason": "fx"}).json()
    assert checker.post(f"/approvals/{action['id']}/reject", {"reason": " "}).status_code == 400
    rejected = checker.post(f"/approvals/{action['id']}/reject", {"reason": "the rate was right"})
    assert rejected.json()["rejection_reason"] == "the rate was right"
    assert Break.objects.get(pk=brk.pk).status == "open"


def test_roles_viewer_cannot_act_operator_cannot_approve() -> None:
    viewer, operator = Api(f.user("viewer")), Api(f.user("operator"))
    brk = f.brk()
    assert viewer.get(f"/breaks/{brk.pk}").status_code == 200
    refused = viewer.post(f"/breaks/{brk.pk}/actions", {"kind": "resolve", "reason": "x"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")
    other = Api(f.user("operator"))
    action = other.post(f"/breaks/{brk.pk}/actions", {"kind": "resolve", "reason": "explained"}).json()
    answer = operator.post(f"/approvals/{action['id']}/approve")
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert viewer.post(f"/breaks/{brk.pk}/comments", {"body": "hi"}).status_code == 403


def test_a_user_limited_to_plan_a_gets_404_for_plan_b_by_id() -> None:
    plan_a, plan_b = f.plan(), f.plan()
    a, b = f.brk(plan_a), f.brk(plan_b)
    limited = Api(f.user("admin", plans=(plan_a,)))
    assert limited.get(f"/breaks/{a.pk}").status_code == 200
    assert limited.get(f"/breaks/{b.pk}").status_code == 404
    assert limited.get(f"/breaks/{b.pk + 1000}").status_code == 404
    assert limited.post(f"/breaks/{b.pk}/actions", {"kind": "resolve", "reason": "x"}).status_code == 404
    assert limited.post(f"/breaks/{b.pk}/comments", {"body": "x"}).status_code == 404
    assert [x["id"] for x in limited.get("/breaks/").json()["items"]] == [a.pk]
    action = resolution.propose([b.pk], "write_off", f.user("operator"), reason_code="small_difference")
    assert limited.get("/approvals/").json() == []
    assert limited.post(f"/approvals/{action.pk}/approve").status_code == 404
    assert limited.get(f"/actions/{action.pk}").status_code == 404


def test_list_filters_and_bulk_on_all_matching() -> None:
    plan = f.plan()
    small = [f.brk(plan, ours=100, theirs=100, order_no=f"S{n}") for n in range(3)]
    other = f.brk(plan, kind="long", theirs=5)
    api = Api(f.user("operator"))
    page = api.get(f"/breaks/?plan={plan.name}&kind=mismatch").json()
    assert page["count"] == 3
    assert api.get(f"/breaks/?plan={plan.name}&day={f.DAY}&kind=long").json()["count"] == 1
    assert api.get("/breaks/?day=not-a-day").status_code == 422
    done = api.post("/breaks/bulk", {"operation": "resolve", "plan": plan.name, "kind": "mismatch",
                                     "reason": "status only, explained"}).json()
    assert sorted(done["done"]) == sorted(b.pk for b in small)
    assert done["failed"] == []
    assert set(Break.objects.filter(pk__in=[b.pk for b in small]).values_list("status", flat=True)) == {"resolved"}
    assert Break.objects.get(pk=other.pk).status == "open"
    failed = api.post("/breaks/bulk", {"operation": "suspend", "break_ids": [other.pk], "reason": "x"}).json()
    assert failed["failed"][0]["code"] == "DATE_REQUIRED"


def test_paging_out_of_bounds_is_422_never_a_server_error() -> None:
    plan = f.plan()
    for n in range(3):
        f.brk(plan, order_no=f"P{n}")
    api = Api(f.user("operator"))
    second = api.get(f"/breaks/?plan={plan.name}&limit=2&offset=2").json()
    assert (second["count"], len(second["items"])) == (3, 1)
    # Found by schemathesis: an offset past 64 bits overflowed the database driver (a 500).
    for query in ("offset=421452821145763769745408", "offset=-1", "limit=-34", "limit=0", "limit=1001"):
        for path in ("/breaks/", "/bills/", "/runs/"):
            answer = api.get(f"{path}?{query}")
            assert answer.status_code == 422, (path, query, answer.status_code)


def test_manual_match_undo_and_comments_over_the_api() -> None:
    plan = f.plan()
    short, long_ = f.brk(plan, "short", ours=500), f.brk(plan, "long", theirs=500)
    api = Api(f.user("operator"))
    match = api.post("/actions/", {"kind": "manual_match", "break_ids": [short.pk, long_.pk]})
    assert match.json()["state"] == "applied", match.content
    assert api.post(f"/actions/{match.json()['id']}/unmatch", {"reason": "wrong pair"}).status_code == 201
    assert Break.objects.get(pk=short.pk).status == "open"
    assert api.post(f"/breaks/{short.pk}/comments", {"body": "checking again"}).status_code == 201
    assert api.post(f"/breaks/{short.pk}/assign", {"assignee": api.get("/me").json()["username"]}).status_code == 200
    detail = api.get(f"/breaks/{short.pk}").json()
    assert detail["comments"][0]["body"] == "checking again"
    assert detail["assignee"] is not None


def test_attachment_upload_and_download() -> None:
    brk = f.brk()
    user = f.user("operator")
    api = Api(user)
    pdf = b"%PDF-1.4\n%evidence\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("receipt.pdf", pdf, content_type="application/pdf")
    answer = api.client.post(f"/api/breaks/{brk.pk}/attachments", {"file": upload}, **api.headers)
    assert answer.status_code == 201, answer.content
    got = api.get(f"/breaks/attachments/{answer.json()['id']}")
    assert b"".join(got.streaming_content) == pdf
    fake = SimpleUploadedFile("receipt.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    refused = api.client.post(f"/api/breaks/{brk.pk}/attachments", {"file": fake}, **api.headers)
    assert refused.json()["error"]["code"] == "EVIDENCE_TYPE"
