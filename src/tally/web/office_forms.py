"""Forms of the back office's run, plan and user pages."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tally.web.fields import BusinessDayField
from tally.web.roles import ROLES

MAX_RUN_DAYS = 366


class RunForm(forms.Form):
    first = BusinessDayField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = BusinessDayField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                           help_text=_("empty: the same day"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last") or data.get("first")
        if first and last:
            if last < first:
                self.add_error("last", _("The range ends before it starts."))
            elif (last - first).days + 1 > MAX_RUN_DAYS:
                self.add_error("last", _("Run at most %(days)s days at once.") % {"days": MAX_RUN_DAYS})
        data["last"] = last
        return data


class PlanEditForm(forms.Form):
    text = forms.CharField(label=_("Declaration (TOML)"), widget=forms.Textarea(attrs={
        "rows": 22, "spellcheck": "false", "class": "code-input", "autocapitalize": "off"}))
    day = BusinessDayField(label=_("Day for the dry run"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))


def _languages() -> list[tuple[str, Any]]:
    return [("", _("site default")), *settings.LANGUAGES]


def _zones() -> list[tuple[str, Any]]:
    return [("", _("site default")), *[(z, z) for z in sorted(available_timezones()) if "/" in z]]


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False, choices=_languages)
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=_zones)


class UserRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(label=_("Roles"), required=False, choices=[(r, r) for r in ROLES],
                                      widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_("Active (may log in)"), required=False)
