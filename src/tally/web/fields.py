"""Form fields shared by the back office's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from tally.records import EARLIEST_DAY, LATEST_DAY


class BusinessDayField(forms.DateField):
    """A date between 1900 and 2999: the days around it and its cut-off times stay representable
    (9999-12-31 would overflow the day after it), so a typed year is an error message, not a 500."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        message = _("Choose a day from %(first)s to %(last)s.") % {"first": EARLIEST_DAY, "last": LATEST_DAY}
        self.validators += [MinValueValidator(EARLIEST_DAY, message), MaxValueValidator(LATEST_DAY, message)]
