"""补单 and status sync through the merchant's webhook (signed), and evidence files."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tally.breaks.models import Action, Attachment, Break
from tally.errors import ConfigError, InputRejected, NotAllowed, OperationFailed
from tally.services import resolution
from tally.services.evidence import path_of
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db
SECRET = "merchant-secret"


@pytest.fixture
def merchant(settings: Any) -> Iterator[dict[str, Any]]:
    """A merchant system on 127.0.0.1 that records what it got and answers ``state['status']``."""
    state: dict[str, Any] = {"status": 200, "got": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["got"].append({"body": body, "headers": dict(self.headers)})
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/tally"
    settings.TALLY_MERCHANT_WEBHOOK_URL = state["url"]
    settings.TALLY_MERCHANT_WEBHOOK_SECRET = SECRET
    yield state
    server.shutdown()
    server.server_close()


def signed_json(call: dict[str, Any]) -> dict[str, Any]:
    expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Tally-Signature"] == expected
    return json.loads(call["body"])


def test_supplement_creates_our_record_and_notifies_the_merchant_signed(merchant: dict[str, Any]) -> None:
    maker, checker = f.user("operator"), f.user("approver")
    brk = f.brk(kind="long", theirs=1999, order_no="ORD-77")
    action = resolution.propose([brk.pk], "supplement", maker, notify=True)
    assert merchant["got"] == []  # nothing leaves before approval
    resolution.approve(action.pk, checker)
    [call] = merchant["got"]
    body = signed_json(call)
    assert call["headers"]["X-Tally-Event"] == "supplement"
    assert (body["event"], body["record"]["order_no"], body["record"]["amount_minor"]) == ("supplement", "ORD-77", 1999)
    assert body["record"]["source"] == "shop"  # our side
    action.refresh_from_db()
    assert action.result["webhook"]["status"] == 200
    assert action.adjustments.get().record["origin"] == "supplement"


def test_a_failing_webhook_applies_nothing_and_the_action_can_be_approved_later(merchant: dict[str, Any]) -> None:
    maker, checker = f.user("operator"), f.user("approver")
    brk = f.brk(kind="long", theirs=500)
    action = resolution.propose([brk.pk], "supplement", maker, notify=True)
    merchant["status"] = 500
    with pytest.raises(OperationFailed) as exc:
        resolution.approve(action.pk, checker)
    assert exc.value.code == "WEBHOOK_FAILED"
    action.refresh_from_db()
    assert (action.state, Break.objects.get(pk=brk.pk).status) == ("proposed", "pending_approval")
    assert not action.adjustments.exists()
    merchant["status"] = 204
    resolution.approve(action.pk, checker)
    assert Break.objects.get(pk=brk.pk).status == "resolved"


def test_sync_status_writes_the_channel_status_back(merchant: dict[str, Any]) -> None:
    maker, checker = f.user("operator"), f.user("approver")
    brk = f.brk(ours=1000, theirs=1000, reason="status_mismatch")  # channel says REFUND, we say SUCCESS
    action = resolution.propose([brk.pk], "sync_status", maker)
    assert action.payload == {"status": "REFUND", "was": "SUCCESS"}
    resolution.approve(action.pk, checker)
    body = signed_json(merchant["got"][0])
    assert (body["event"], body["order_no"], body["status"], body["was"]) == ("sync_status", brk.order_no,
                                                                              "REFUND", "SUCCESS")


def test_undo_of_a_notified_supplement_tells_the_merchant(merchant: dict[str, Any]) -> None:
    maker = f.user("operator")
    from tally.services import policy

    policy.set_policy("supplement", requires_approval=False)
    action = resolution.propose([f.brk(kind="long", theirs=5).pk], "supplement", maker, notify=True)
    resolution.undo(action.pk, maker, "duplicate of ORD-9")
    assert [signed_json(c)["event"] for c in merchant["got"]] == ["supplement", "undo"]


def test_a_plan_webhook_overrides_the_setting_and_no_secret_means_no_call(merchant: dict[str, Any],
                                                                           settings: Any) -> None:
    maker = f.user("operator")
    settings.TALLY_MERCHANT_WEBHOOK_URL = ""
    plain = f.brk(kind="long")
    with pytest.raises(ConfigError) as exc:
        resolution.propose([plain.pk], "supplement", maker, notify=True)
    assert exc.value.code == "NO_MERCHANT_WEBHOOK"
    assert resolution.propose([plain.pk], "supplement", maker).state == "proposed"  # without notify: fine
    plan = f.plan(merchant_webhook_url=merchant["url"])
    settings.TALLY_MERCHANT_WEBHOOK_SECRET = ""
    with pytest.raises(ConfigError) as exc:
        resolution.propose([f.brk(plan, kind="long").pk], "supplement", maker, notify=True)
    assert exc.value.code == "NO_MERCHANT_WEBHOOK_SECRET"
    plan.spec["merchant_webhook_url"] = "http://example.com/hook"  # plain http off the machine
    plan.save()
    settings.TALLY_MERCHANT_WEBHOOK_SECRET = SECRET
    with pytest.raises(ConfigError) as exc:
        resolution.propose([f.brk(plan, kind="long").pk], "supplement", maker, notify=True)
    assert exc.value.code == "INSECURE_URL"
    assert Action.objects.count() == 1


def test_evidence_is_stored_by_hash_under_tally_home(tally_home: Path) -> None:
    maker = f.user("operator")
    brk = f.brk()
    row = resolution.attach(brk, maker, "../../etc/receipt.pdf", b"%PDF-1.7\nbody", "application/pdf")
    assert (row.name, row.content_type, row.size) == ("receipt.pdf", "application/pdf", 13)
    assert path_of(row.sha256) == tally_home / "evidence" / row.sha256[:2] / row.sha256
    assert path_of(row.sha256).read_bytes() == b"%PDF-1.7\nbody"
    csv = resolution.attach(brk, maker, "bank.csv", "日期,金额\n2024-05-01,12.34\n".encode("gb18030"),
                            "application/vnd.ms-excel")
    assert csv.content_type == "text/csv"


@pytest.mark.parametrize(("name", "data", "claimed"), [
    ("invoice.pdf", b"MZ\x90\x00\x03", "application/pdf"),  # an executable named .pdf
    ("photo.png", b"%PDF-1.4\n", "image/png"),  # a PDF that claims to be an image
    ("notes.html", b"<script>alert(1)</script>", "text/html"),
    ("data.csv", b"a,b\x00\x01", "text/csv"),
    ("empty.txt", b"", "text/plain"),
])
def test_evidence_of_a_wrong_type_is_refused_and_not_kept(name: str, data: bytes, claimed: str,
                                                          tally_home: Path) -> None:
    with pytest.raises(InputRejected) as exc:
        resolution.attach(f.brk(), f.user("operator"), name, data, claimed)
    assert exc.value.code == "EVIDENCE_TYPE"
    assert not Attachment.objects.exists()
    assert [p for p in (tally_home / "evidence").rglob("*") if p.is_file()] == []


def test_evidence_over_the_size_limit_is_refused(settings: Any, tally_home: Path) -> None:
    settings.TALLY_EVIDENCE_MAX_BYTES = 100
    maker, brk = f.user("operator"), f.brk()
    resolution.attach(brk, maker, "ok.txt", b"x" * 100)
    with pytest.raises(InputRejected) as exc:
        resolution.attach(brk, maker, "big.txt", b"x" * 101)
    assert exc.value.code == "EVIDENCE_TOO_LARGE"
    assert Attachment.objects.count() == 1


def test_viewers_cannot_attach() -> None:
    with pytest.raises(NotAllowed):
        resolution.attach(f.brk(), f.user("viewer"), "a.txt", b"hello")
