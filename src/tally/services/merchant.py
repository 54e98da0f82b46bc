"""Calls to the merchant's own system: a 补单's new record, a status written back.

The URL is the plan's ``merchant_webhook_url`` or, for every plan, ``TALLY_MERCHANT_WEBHOOK_URL``.
The body is JSON; its raw bytes are signed with HMAC-SHA256 under ``TALLY_MERCHANT_WEBHOOK_SECRET``
(hex, ``X-Tally-Signature: sha256=…``, the same scheme as the alert webhook), and the event name
is in ``X-Tally-Event``. An unsigned call that changes a merchant's books is never sent: without a
secret the action is refused. A non-2xx answer fails the action (nothing is applied), so it can
be approved again once the merchant's side is fixed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from django.conf import settings

from tally.breaks.models import Plan
from tally.errors import ConfigError, OperationFailed
from tally.services.alerts import SIGNATURE_HEADER, signature
from tally.transports.client import check_base_url, shown

log = logging.getLogger("tally.merchant")
EVENT_HEADER = "X-Tally-Event"
TIMEOUT_S = 10.0


def webhook_url(plan: Plan) -> str:
    return str((plan.spec or {}).get("merchant_webhook_url") or getattr(settings, "TALLY_MERCHANT_WEBHOOK_URL", ""))


def configured(plan: Plan) -> bool:
    return bool(webhook_url(plan))


def check(plan: Plan) -> str:
    """The URL to call, or ConfigError saying what is missing."""
    url = webhook_url(plan)
    if not url:
        raise ConfigError("NO_MERCHANT_WEBHOOK", f"plan {plan.name} has no merchant webhook",
                          hint="set merchant_webhook_url in [plans.NAME] or TALLY_MERCHANT_WEBHOOK_URL")
    if not getattr(settings, "TALLY_MERCHANT_WEBHOOK_SECRET", ""):
        raise ConfigError("NO_MERCHANT_WEBHOOK_SECRET", "the merchant webhook has no signing secret",
                          hint="set TALLY_MERCHANT_WEBHOOK_SECRET")
    check_base_url(url)
    return url


def send(plan: Plan, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST ``payload`` signed; the answer's status (and a short body) for the action's result."""
    url = check(plan)
    body = json.dumps({"event": event, "plan": plan.name, **payload}, ensure_ascii=False, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "tally-workflow", EVENT_HEADER: event,
               SIGNATURE_HEADER: signature(str(settings.TALLY_MERCHANT_WEBHOOK_SECRET), body)}
    try:
        reply = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        log.error("merchant webhook %s failed: %s", shown(url), type(exc).__name__)
        raise OperationFailed("WEBHOOK_FAILED", f"the merchant webhook could not be reached ({type(exc).__name__})",
                              hint="nothing was applied; try again later") from None
    if not reply.is_success:
        log.error("merchant webhook %s answered %s", shown(url), reply.status_code)
        raise OperationFailed("WEBHOOK_FAILED", f"the merchant webhook answered {reply.status_code}",
                              hint="nothing was applied; fix the merchant's side and try again")
    return {"event": event, "status": reply.status_code, "answer": reply.text[:500]}
