"""Forms of the break workflow pages: they read what was typed; the services decide what is allowed.

Amounts are typed in major units (12.34) and become minor units through ``tally.money`` with the
break's currency, exactly; a value with too many decimals is an error, never rounded.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tally.errors import TallyError
from tally.money import to_minor
from tally.services.kinds import WRITE_OFF_CODES
from tally.web.fields import BusinessDayField

# 核销 reason codes as the screen shows them (the stored code stays English).
WRITE_OFF_LABELS: dict[str, Any] = {
    "small_difference": pgettext_lazy("write-off reason", "small difference"),
    "fee_rounding": pgettext_lazy("write-off reason", "fee rounding"),
    "customer_compensation": pgettext_lazy("write-off reason", "customer compensation"),
    "duplicate_charge": pgettext_lazy("write-off reason", "duplicate charge"),
    "unrecoverable": pgettext_lazy("write-off reason", "unrecoverable"),
    "other": pgettext_lazy("write-off reason", "other (explain)"),
}
assert set(WRITE_OFF_LABELS) == set(WRITE_OFF_CODES)

BULK_OPERATIONS: dict[str, Any] = {
    "assign": _("Assign to"),
    "comment": _("Comment"),
    "suspend": _("Suspend until"),
    "reopen": _("Reopen"),
    "write_off": _("Write off (核销)"),
    "resolve": _("Resolve (explained)"),
}


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


class ActionForm(forms.Form):
    """One proposal on one break (or a manual match with other breaks)."""

    kind = forms.CharField(max_length=16)
    reason = forms.CharField(required=False, max_length=2000, label=pgettext_lazy("action", "Reason"),
                             widget=forms.Textarea(attrs={"rows": 2}))
    reason_code = forms.ChoiceField(required=False, label=_("Reason code"),
                                    choices=[("", "—"), *WRITE_OFF_LABELS.items()])
    amount = forms.CharField(required=False, max_length=32, label=_("Amount"))
    until = BusinessDayField(required=False, label=_("Review date"), widget=_date_input())
    status = forms.CharField(required=False, max_length=32, label=_("Status to write back"))
    notify = forms.BooleanField(required=False, label=_("Send to the merchant's system"))
    with_ids = forms.CharField(required=False, max_length=2000, label=_("Match with breaks (ids)"))

    def details(self, currency: str) -> dict[str, Any]:
        """The service's ``**details`` for this kind (raises TallyError for a bad amount)."""
        data = self.cleaned_data
        kind = data["kind"]
        details: dict[str, Any] = {"reason": data.get("reason") or ""}
        if kind == "write_off":
            details["reason_code"] = data.get("reason_code") or ""
        if kind == "adjust":
            text = (data.get("amount") or "").strip()
            details["amount_minor"] = to_minor(text, currency) if text else None
        if kind == "suspend":
            details["until"] = data.get("until")
        if kind == "sync_status" and data.get("status"):
            details["status"] = data["status"]
        if kind == "supplement":
            details["notify"] = bool(data.get("notify"))
        return details

    def other_ids(self) -> list[int]:
        text = (self.cleaned_data.get("with_ids") or "").replace("，", ",")
        try:
            return [int(part) for part in text.replace(" ", ",").split(",") if part.strip()]
        except ValueError:
            raise TallyError("BAD_IDS", "break ids are numbers separated by commas", field="with_ids") from None


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, label=pgettext_lazy("action", "Reason"),
                             widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    body = forms.CharField(max_length=10000, label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))


class AssignForm(forms.Form):
    assignee = forms.CharField(required=False, max_length=150, label=_("Assignee"))


class AttachForm(forms.Form):
    file = forms.FileField(label=_("Evidence file"))


class BulkForm(forms.Form):
    operation = forms.ChoiceField(choices=list(BULK_OPERATIONS.items()), label=_("Action"))
    ids = forms.TypedMultipleChoiceField(required=False, coerce=int, choices=[])
    all_matching = forms.BooleanField(required=False)
    reason = forms.CharField(required=False, max_length=2000, label=pgettext_lazy("action", "Reason"))
    reason_code = forms.ChoiceField(required=False, label=_("Reason code"),
                                    choices=[("", "—"), *WRITE_OFF_LABELS.items()])
    until = BusinessDayField(required=False, label=_("Review date"), widget=_date_input())
    assignee = forms.CharField(required=False, max_length=150, label=_("Assignee"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any ids may be posted; the service decides which the user may touch.
        self.fields["ids"].valid_value = lambda value: True  # type: ignore[attr-defined]

    def details(self) -> dict[str, Any]:
        data, operation = self.cleaned_data, self.cleaned_data["operation"]
        if operation == "assign":
            return {"assignee": data.get("assignee") or None}
        if operation == "comment":
            return {"body": data.get("reason") or ""}
        details: dict[str, Any] = {"reason": data.get("reason") or ""}
        if operation == "suspend":
            details["until"] = data.get("until")
        if operation == "write_off":
            details["reason_code"] = data.get("reason_code") or ""
        return details
