"""Display names of the workflow's codes: action kinds and states, audit events.

The errors a person meets on the workflow pages are translated with every other error's, in
tally.web.error_labels.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

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
