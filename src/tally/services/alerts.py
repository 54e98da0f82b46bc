"""Alerts: a source's bill is not in by its deadline. Raised once per source and business day.

Sent through ``tally.services.notify`` (email and the HMAC-signed webhook, both optional, both set
in the environment: docs/deploy.md, "The worker"), the one module every alert goes out through.

"Once" is a unique row (source, day) in the Alert table, inserted before anything is sent: two
workers that both see the deadline pass raise one alert between them.
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import IntegrityError, transaction

from tally.ingest.models import Alert, Source
from tally.services import notify
from tally.services.notify import SIGNATURE_HEADER, signature

__all__ = ["SIGNATURE_HEADER", "raise_late", "signature"]

log = logging.getLogger("tally.alerts")


def raise_late(source: Source, day: date, reason: str) -> Alert | None:
    """Record and send the alert for ``source``'s bill of ``day``; None when it was raised before."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(source=source, business_day=day, reason=reason[:2000])
    except IntegrityError:
        return None
    data = {"source": source.name, "kind": source.kind, "business_day": day.isoformat(), "reason": reason,
            "raised_at": alert.raised_at.isoformat()}
    subject = f"{source.name}: no bill for {day.isoformat()} yet"
    body = (f"The {source.kind} bill of source {source.name} for business day {day.isoformat()} "
            f"was not in by its deadline.\n\nLast known reason: {reason or '-'}\n\n"
            f"Tally keeps trying; the calendar in the back office shows the state, and a bill can be uploaded "
            f"there by hand.\n")
    delivery = notify.send("bill.late", subject, body, data)
    alert.emailed_to = delivery.emailed_to
    alert.webhook_status = delivery.webhook_status
    alert.save(update_fields=["emailed_to", "webhook_status"])
    log.warning("bill late: %s %s (%s)", source.name, day, reason)
    return alert
