"""Display names of the workflow's codes (action kinds and states, audit events) and the
translated text of the errors a person meets on the workflow pages, in one place.

The services raise errors with stable codes and English messages; the pages show the translated
sentence for a known code, and the service's own message otherwise.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tally.errors import TallyError

ACTION_KINDS: dict[str, Promise] = {
    "supplement": pgettext_lazy("action kind", "supplement (补单)"),
    "sync_status": pgettext_lazy("action kind", "sync status"),
    "adjust": pgettext_lazy("action kind", "adjustment (调账)"),
    "write_off": pgettext_lazy("action kind", "write-off (核销)"),
    "manual_match": pgettext_lazy("action kind", "manual match"),
    "unmatch": pgettext_lazy("action kind", "unmatch"),
    "suspend": pgettext_lazy("action kind", "suspend (挂起)"),
    "reopen": pgettext_lazy("action kind", "reopen"),
    "resolve": pgettext_lazy("action kind", "resolve"),
    "undo": pgettext_lazy("action kind", "undo"),
}

ACTION_STATES: dict[str, Promise] = {
    "proposed": pgettext_lazy("action state", "waiting for approval"),
    "approved": pgettext_lazy("action state", "approved"),
    "rejected": pgettext_lazy("action state", "rejected"),
    "applied": pgettext_lazy("action state", "applied"),
    "undone": pgettext_lazy("action state", "undone"),
}

# What an audit event's ``action`` says happened.
EVENTS: dict[str, Promise] = {
    "propose": pgettext_lazy("audit event", "proposed"),
    "await_approval": pgettext_lazy("audit event", "waits for approval"),
    "approve": pgettext_lazy("audit event", "approved"),
    "reject": pgettext_lazy("audit event", "rejected"),
    "rejected": pgettext_lazy("audit event", "back after rejection"),
    "apply": pgettext_lazy("audit event", "applied"),
    "undone": pgettext_lazy("audit event", "undone"),
    "assign": pgettext_lazy("audit event", "assigned"),
    "comment": pgettext_lazy("audit event", "commented"),
    "attach": pgettext_lazy("audit event", "attached a file"),
    **{kind: label for kind, label in ACTION_KINDS.items()},
}

ERRORS: dict[str, Promise] = {
    "SELF_APPROVAL": _("You proposed this action; another person must approve or reject it."),
    "FORBIDDEN": _("You do not have permission to do this."),
    "UNKNOWN_BREAK": _("There is no such break, or you may not see it."),
    "UNKNOWN_ACTION": _("There is no such action, or you may not see it."),
    "BAD_STATE": _("The break's status does not allow this action now."),
    "NOT_PROPOSED": _("This action was already decided."),
    "REASON_REQUIRED": _("Give a reason."),
    "DATE_REQUIRED": _("Give a review date."),
    "DATE_NOT_FUTURE": _("The review date must be after today."),
    "AMOUNT_REQUIRED": _("Give a non-zero amount."),
    "BAD_AMOUNT": _("The amount is not a number like 12.34."),
    "AMOUNT_PRECISION": _("The amount has more decimals than its currency allows."),
    "BAD_REASON_CODE": _("Choose a reason code."),
    "MATCH_SUMS_DIFFER": _("The two sides do not add up; give the reason that explains the difference."),
    "BAD_MATCH": _("A manual match pairs breaks of our side only with breaks of their side (1:1, N:1 or 1:N)."),
    "CURRENCY_DIFFERS": _("The breaks are in different currencies."),
    "PLANS_DIFFER": _("The breaks belong to different plans."),
    "NOT_LONG": _("补单 is for long breaks (a payment only the channel has)."),
    "NOT_MISMATCH": _("A status sync needs a break with both records."),
    "STATUS_REQUIRED": _("Give the status to write back."),
    "NO_MERCHANT_WEBHOOK": _("No merchant webhook is configured for this plan."),
    "NO_MERCHANT_WEBHOOK_SECRET": _("The merchant webhook has no signing secret (TALLY_MERCHANT_WEBHOOK_SECRET)."),
    "WEBHOOK_FAILED": _("The merchant's system did not accept the call; nothing was applied. Try again later."),
    "NOT_UNDOABLE": _("This action cannot be undone."),
    "NOT_A_MATCH": _("This action is not a manual match."),
    "CHANGED_SINCE": _("The break changed since this action; it cannot be undone."),
    "BAD_ASSIGNEE": _("That person cannot work on breaks of this plan."),
    "EMPTY_COMMENT": _("The comment is empty."),
    "EVIDENCE_TYPE": _("This file type is not accepted as evidence (PDF, images, xlsx, CSV, text)."),
    "EVIDENCE_TOO_LARGE": _("The file is too large."),
    "BAD_IDS": _("Break ids are numbers separated by commas."),
    "ONE_BREAK": _("This action takes one break at a time."),
    "TOO_MANY": _("Too many breaks for one bulk action; narrow the filter."),
    "NO_BREAKS": _("Select at least one break."),
}


def error_text(exc: TallyError) -> str:
    known = ERRORS.get(exc.code)
    return str(known) if known is not None else f"{exc.code}: {exc.message}"
