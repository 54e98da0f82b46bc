"""The JSON API against its own OpenAPI document (schemathesis on the live server, with a token):
no 5xx, every answer's status, content type and body as the document says."""

from __future__ import annotations

import datetime as dt
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tally.services.running import run_plan
from tally.web.api.auth import create_token
from tests.services.factories import import_csv, plan, table_source

from .office_factories import role_user

DAY = dt.date(2024, 5, 1)
EXAMPLES = 40
# No 5xx, and each answer (status, content type, headers, body) as the document says. Not whether
# every schema-valid input is accepted: a query text the schema types as a string may still be
# refused with a documented 400 naming the field.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


def test_the_api_answers_as_its_schema_says(live_server: Any, transactional_db: Any) -> None:
    # Something real behind the ids: sources, bills, a plan, a run with its days.
    table_source("shop")
    table_source("bank")
    for n in range(2):
        import_csv("shop", DAY + dt.timedelta(days=n), ("A1", "12.34"), ("A2", "5.00"))
        import_csv("bank", DAY + dt.timedelta(days=n), ("A1", "12.34"), ("A3", "7.00"))
    plan("bank_vs_shop", "shop", "bank", carry_over_days=0)
    run_plan("bank_vs_shop", DAY, DAY + dt.timedelta(days=1))
    _, token = create_token(role_user("admin").username)
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    checked = []
    # Each operation in turn, as schemathesis' pytest plugin would (it does not run on pytest 9 yet).
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
        checked.append(operation.label)
    assert "GET /api/browse/" in checked
    assert "POST /api/runs/" in checked
    assert len(checked) >= 30
