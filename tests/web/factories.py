"""Small factories for back-office tests: each call builds fresh rows, nothing is shared."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib.auth.models import Permission, User
from django.test import Client

from tally.breaks.models import Break, DayResult, Plan
from tally.ingest.models import Bill, Source
from tally.web.models import Job

J = TypeVar("J", bound=Job)

PASSWORD = "correct horse battery"
_seq = itertools.count(1)

DAY = dt.date(2024, 5, 1)


def make_user(*perms: str, username: str | None = None) -> User:
    user = User.objects.create_user(username or f"user{next(_seq)}", password=PASSWORD)
    for perm in perms:
        app_label, codename = perm.split(".")
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        user.user_permissions.add(permission)
    return user


def make_viewer(username: str | None = None) -> User:
    return make_user("breaks.view_break", "ingest.view_bill", username=username)


def make_plan(name: str | None = None) -> Plan:
    return Plan.objects.create(name=name or f"plan-{next(_seq)}", spec={"ours": "shop", "theirs": "wechat"})


def make_day_result(plan: Plan, day: dt.date = DAY, **counts: int) -> DayResult:
    return DayResult.objects.create(plan=plan, day=day, **counts)


def make_record(source: str, **fields: Any) -> dict[str, Any]:
    """A normalized record as ``Break.ours``/``Break.theirs`` keep it (CONTRACT.md's columns)."""
    day = dt.date.fromisoformat(fields.get("business_day", DAY.isoformat()))
    record: dict[str, Any] = {
        "source": source, "business_day": day.isoformat(), "record_kind": "payment",
        "order_no": "ORD-1001", "refund_no": None, "channel_txn_id": "4200001",
        "amount_minor": 1234, "fee_minor": 7, "discount_minor": 0, "currency": "CNY",
        "occurred_at": f"{day.isoformat()}T02:03:04+00:00", "status": "SUCCESS",
        "bill_sha256": "ab" * 32, "line_no": 3, "bill_name": f"pay_{source}_{day:%Y%m%d}_01.csv",
    }
    record.update(fields)
    return record


def make_break(plan: Plan | None = None, **fields: Any) -> Break:
    plan = plan or make_plan()
    values: dict[str, Any] = {
        "identity": f"id-{next(_seq)}", "day": DAY, "detected_on": DAY, "kind": "mismatch",
        "status": "open", "record_kind": "payment", "order_no": "ORD-1001", "refund_no": "",
        "currency": "CNY", "ours_amount_minor": 1234, "theirs_amount_minor": 1200,
        "reason": "amount_mismatch",
    }
    values.update(fields)
    same = {"order_no": values["order_no"], "currency": values["currency"],
            "business_day": values["day"].isoformat(), "record_kind": values["record_kind"]}
    if "ours" not in values and values["ours_amount_minor"] is not None:
        values["ours"] = make_record("shop", amount_minor=values["ours_amount_minor"], **same)
    if "theirs" not in values and values["theirs_amount_minor"] is not None:
        values["theirs"] = make_record("wechat", amount_minor=values["theirs_amount_minor"],
                                       bill_sha256="cd" * 32, line_no=9, **same)
    return Break.objects.create(plan=plan, **values)


def make_source(name: str | None = None, kind: str = "wechatpay") -> Source:
    return Source.objects.create(name=name or f"source-{next(_seq)}", kind=kind)


def make_bill(source: Source | None = None, **fields: Any) -> Bill:
    values: dict[str, Any] = {
        "name": f"pay_wechat_20240501_{next(_seq):02d}.csv", "sha256": f"{next(_seq):064x}",
        "business_day": DAY, "status": "imported", "rows": 10,
    }
    values.update(fields)
    return Bill.objects.create(source=source or make_source(), **values)


def jobs_inline(monkeypatch: Any) -> list[tuple[Any, ...]]:
    """Back-office jobs started during the test run at once, inside the request that starts them,
    instead of on a thread (no worker beats in tests); returns the arguments of each. The job's
    own work only: a thread's ending closes its connection, which here is the test's."""
    from tally.web import jobs

    started: list[tuple[Any, ...]] = []

    class Inline:
        def __init__(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any], **_: Any) -> None:
            self.run = lambda: jobs.KINDS[kwargs["kind"]].execute(*args)
            started.append(args)

        def start(self) -> None:
            self.run()

    monkeypatch.setattr(jobs.threading, "Thread", Inline)
    return started


def export(client: Client, url: str, query: dict[str, Any] | None = None) -> tuple[Any, bytes]:
    """Export as the page's button does — POST to ``url``, the filters in its query string — then
    follow the redirect to the job's page and fetch the file; returns the download and its bytes.
    The job must end within the POST (``jobs_inline``)."""
    started = client.post(f"{url}?{urlencode(query or {}, doseq=True)}")
    assert started.status_code == 302, started.status_code
    page = started["Location"]
    assert re.fullmatch(r"/exports/\d+/", page), page
    html = client.get(page).content.decode()
    assert f'href="{page}download"' in html, html  # done: the page offers the file
    download = client.get(f"{page}download")
    assert download.status_code == 200
    return download, b"".join(download.streaming_content)


def wait_for(model: type[J], job_id: int, seconds: float = 120) -> J:
    """The job's row once it is done or failed (a thread or the worker runs it meanwhile)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = model._default_manager.get(pk=job_id)
        if job.status in (Job.Status.DONE, Job.Status.FAILED):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{model.__name__} {job_id} still {model._default_manager.get(pk=job_id).status}")
