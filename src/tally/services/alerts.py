"""Alerts: a source's bill is not in by its deadline. Raised once per source and business day.

Two ways out, both optional, both set in the environment (docs/deploy.md, "The worker"):

- email through Django's mail (``TALLY_ALERT_EMAILS``, comma-separated; the console backend
  unless ``TALLY_EMAIL_BACKEND`` and ``TALLY_EMAIL_HOST`` … say otherwise);
- a webhook (``TALLY_ALERT_WEBHOOK_URL``): a JSON POST whose raw body is signed with
  HMAC-SHA256 under ``TALLY_ALERT_WEBHOOK_SECRET``, hex, in ``X-Tally-Signature: sha256=…``
  (receivers compute the same over the bytes they got and compare in constant time).

"Once" is a unique row (source, day) in the Alert table, inserted before anything is sent: two
workers that both see the deadline pass raise one alert between them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import date
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from tally.errors import ConfigError
from tally.ingest.models import Alert, Source
from tally.transports.client import check_base_url, shown

log = logging.getLogger("tally.alerts")
SIGNATURE_HEADER = "X-Tally-Signature"
WEBHOOK_TRIES = 3


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def raise_late(source: Source, day: date, reason: str) -> Alert | None:
    """Record and send the alert for ``source``'s bill of ``day``; None when it was raised before."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(source=source, business_day=day, reason=reason[:2000])
    except IntegrityError:
        return None
    payload = {"event": "bill.late", "source": source.name, "kind": source.kind, "business_day": day.isoformat(),
               "reason": reason, "raised_at": alert.raised_at.isoformat()}
    alert.emailed_to = _email(payload)
    alert.webhook_status = _webhook(payload)
    alert.save(update_fields=["emailed_to", "webhook_status"])
    log.warning("bill late: %s %s (%s)", source.name, day, reason)
    return alert


def _email(payload: dict[str, Any]) -> list[str]:
    recipients = list(settings.TALLY_ALERT_EMAILS)
    if not recipients:
        return []
    subject = f"[Tally] {payload['source']}: no bill for {payload['business_day']} yet"
    body = (f"The {payload['kind']} bill of source {payload['source']} for business day {payload['business_day']} "
            f"was not in by its deadline.\n\nLast known reason: {payload['reason'] or '-'}\n\n"
            f"Tally keeps trying; the calendar in the back office shows the state, and a bill can be uploaded "
            f"there by hand.\n")
    try:
        send_mail(subject, body, None, recipients)
    except OSError as exc:  # SMTP down: the webhook may still get through, the log says why
        log.error("alert email to %s failed: %s", ", ".join(recipients), exc)
        return []
    return recipients


def _webhook(payload: dict[str, Any]) -> str:
    url = settings.TALLY_ALERT_WEBHOOK_URL
    if not url:
        return ""
    try:
        check_base_url(url)
    except ConfigError as exc:
        log.error("alert webhook not sent: %s", exc.message)
        return f"not sent: {exc.message}"
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "tally-alerts"}
    if secret := settings.TALLY_ALERT_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    status = ""
    for n in range(WEBHOOK_TRIES):
        try:
            reply = httpx.post(url, content=body, headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            status = f"{type(exc).__name__}"
        else:
            status = str(reply.status_code)
            if reply.is_success:
                return status
            if reply.status_code < 500:
                break  # the receiver refused it: trying again would not help
        if n + 1 < WEBHOOK_TRIES:
            time.sleep(2**n)
    log.error("alert webhook %s failed: %s", shown(url), status)
    return f"failed: {status}"
