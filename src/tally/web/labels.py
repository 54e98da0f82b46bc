"""Display names of stored codes (break kinds, statuses, record kinds), translated.

The database keeps the stable English codes of CONTRACT.md; only the screen shows words,
in the vocabulary of DESIGN.md (短款, 长款, 错账, 差错未处理 …). Unknown codes show as stored.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

BREAK_KINDS: dict[str, Promise] = {
    "short": pgettext_lazy("break kind", "short"),
    "long": pgettext_lazy("break kind", "long"),
    "mismatch": pgettext_lazy("break kind", "mismatch"),
}

BREAK_STATUSES: dict[str, Promise] = {
    "open": pgettext_lazy("break status", "open"),
    "pending_approval": pgettext_lazy("break status", "pending approval"),
    "resolved": pgettext_lazy("break status", "resolved"),
    "suspended": pgettext_lazy("break status", "suspended"),
}

# Mirrors tally.records.RECORD_KINDS (a test keeps the two equal); not imported from there so
# that loading the URL conf does not pull in pyarrow.
RECORD_KINDS: dict[str, Promise] = {
    "payment": pgettext_lazy("record kind", "payment"),
    "refund": pgettext_lazy("record kind", "refund"),
    "fee": pgettext_lazy("record kind", "fee"),
    "payout": pgettext_lazy("record kind", "payout"),
    "adjustment": pgettext_lazy("record kind", "adjustment"),
    "other": pgettext_lazy("record kind", "other"),
}

BILL_STATUSES: dict[str, Promise] = {
    "imported": pgettext_lazy("bill status", "imported"),
    "rejected": pgettext_lazy("bill status", "rejected"),
}

# The normalized record's columns as the break detail shows them, in CONTRACT.md's order.
RECORD_FIELDS: dict[str, Promise] = {
    "source": pgettext_lazy("record field", "source"),
    "business_day": pgettext_lazy("record field", "business day"),
    "record_kind": pgettext_lazy("record field", "record kind"),
    "order_no": pgettext_lazy("record field", "order no."),
    "refund_no": pgettext_lazy("record field", "refund no."),
    "channel_txn_id": pgettext_lazy("record field", "channel transaction id"),
    "amount_minor": pgettext_lazy("record field", "amount"),
    "fee_minor": pgettext_lazy("record field", "fee"),
    "discount_minor": pgettext_lazy("record field", "discount"),
    "currency": pgettext_lazy("record field", "currency"),
    "occurred_at": pgettext_lazy("record field", "occurred at"),
    "status": pgettext_lazy("record field", "source status"),
    "item": pgettext_lazy("record field", "item"),
    "quantity": pgettext_lazy("record field", "quantity"),
}

MONEY_FIELDS = ("amount_minor", "fee_minor", "discount_minor")

# Break reasons as the engine writes them (tally.engine.compile); an unknown one shows as stored.
REASONS: dict[str, Promise] = {
    "only_ours": pgettext_lazy("break reason", "only in our records"),
    "only_theirs": pgettext_lazy("break reason", "only in their bill"),
    "duplicate": pgettext_lazy("break reason", "duplicate key"),
    "amount_mismatch": pgettext_lazy("break reason", "amount differs"),
    "currency_mismatch": pgettext_lazy("break reason", "currency differs"),
    "status_mismatch": pgettext_lazy("break reason", "status differs"),
    "fee_mismatch": pgettext_lazy("break reason", "fee differs"),
    "discount_mismatch": pgettext_lazy("break reason", "discount differs"),
    "quantity_mismatch": pgettext_lazy("break reason", "quantity differs"),
    "kind_mismatch": pgettext_lazy("break reason", "record kind differs"),
}

# The calendar's states (tally.services.schedule.State) and a fetch's outcomes (FetchAttempt).
FETCH_STATES: dict[str, Promise] = {
    "arrived": pgettext_lazy("bill state", "arrived"),
    "no_bill": pgettext_lazy("bill state", "no bill"),
    "rejected": pgettext_lazy("bill state", "rejected"),
    "failed": pgettext_lazy("bill state", "failed"),
    "late": pgettext_lazy("bill state", "late"),
    "missing": pgettext_lazy("bill state", "missing"),
    "not_ready": pgettext_lazy("bill state", "not ready"),
}

FETCH_OUTCOMES: dict[str, Promise] = {
    "imported": pgettext_lazy("fetch outcome", "imported"),
    "already": pgettext_lazy("fetch outcome", "already imported"),
    "no_bill": pgettext_lazy("fetch outcome", "no bill that day"),
    "not_ready": pgettext_lazy("fetch outcome", "not ready yet"),
    "rejected": pgettext_lazy("fetch outcome", "rejected"),
    "refused": pgettext_lazy("fetch outcome", "refused"),
    "failed": pgettext_lazy("fetch outcome", "failed"),
}
