"""Notifications: one way out for every alert Tally raises (late bills, new breaks, approvals waiting).

``send(event, subject, body, data)`` delivers one event through both channels, each optional and
set in the environment (docs/deploy.md, "The worker"; docs/reports.md, "Notifications"):

- email through Django's mail (``TALLY_ALERT_EMAILS``, comma-separated; the console backend
  unless ``TALLY_EMAIL_BACKEND`` and ``TALLY_EMAIL_HOST`` … say otherwise): ``subject`` and ``body``;
- a webhook (``TALLY_ALERT_WEBHOOK_URL``): a JSON POST of ``{"event": event, **data}`` whose raw
  body is signed with HMAC-SHA256 under ``TALLY_ALERT_WEBHOOK_SECRET``, hex, in
  ``X-Tally-Signature: sha256=…`` (receivers compute the same over the bytes they got and compare
  in constant time); the event name is also in ``X-Tally-Event``.

Sending never raises: a mail server or receiver that is down is logged and reported in the
returned :class:`Delivery`, so an alert never stops the work that raised it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail

from tally.errors import ConfigError
from tally.transports.client import check_base_url, shown

log = logging.getLogger("tally.notify")
SIGNATURE_HEADER = "X-Tally-Signature"
EVENT_HEADER = "X-Tally-Event"
WEBHOOK_TRIES = 3


@dataclass(frozen=True)
class Delivery:
    emailed_to: list[str] = field(default_factory=list)
    webhook_status: str = ""  # "" not configured; an HTTP status; "failed: …" / "not sent: …"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(event: str, subject: str, body: str, data: dict[str, Any]) -> Delivery:
    """Email ``subject``/``body`` to the alert recipients and POST ``{"event": event, **data}``."""
    return Delivery(_email(subject, body), _webhook({"event": event, **data}))


def _email(subject: str, body: str) -> list[str]:
    recipients = list(settings.TALLY_ALERT_EMAILS)
    if not recipients:
        return []
    try:
        send_mail(f"[Tally] {subject}", body, None, recipients)
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
    headers = {"Content-Type": "application/json", "User-Agent": "tally-alerts", EVENT_HEADER: str(payload["event"])}
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
