"""A day typed far out of range (year 1 or 9999) is a form error on every page that takes a day,
never a server error: the day after 9999-12-31 does not exist."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_pages_taking_a_day_refuse_one_out_of_range(day: str) -> None:
    plan = f.plan()
    f.brk(plan)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=f.user("admin").username, password=f.PASSWORD)
    message = "Choose a day from 1900-01-01 to 2999-12-31."
    # The report falls back to the plan's latest day; the others say why the filter was refused.
    assert client.get(f"/reports/{plan.name}/?day={day}").status_code == 200
    for url in (f"/breaks/?day={day}", f"/rates/?day={day}", f"/browse/?source=x&first={day}&last={day}"):
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        assert message in answer.content.decode(), url
    dry_run = client.post(f"/plans/{plan.name}/run/", {"first": day, "last": day})
    assert dry_run.status_code in (200, 400), dry_run.status_code
    assert message in dry_run.content.decode()
