"""Form fields shared by the back office's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from tally.records import EARLIEST_DAY, LATEST_DAY


class BusinessDayField(forms.DateField):
    """A date between 1900 and 2999: the days around it and its cut-off times stay representable
    (9999-12-31 would overflow the day after it), so a typed year is an error message, not a 500."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        message = _("Choose a day from %(first)s to %(last)s.") % {"first": EARLIEST_DAY, "last": LATEST_DAY}
        self.validators += [MinValueValidator(EARLIEST_DAY, message), MaxValueValidator(LATEST_DAY, message)]


class _ListedChoices(ModelChoiceIterator):
    """The rows read by one plain query and kept with the field's queryset for the form's life."""

    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self.queryset) + (1 if self.field.empty_label is not None else 0)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.queryset)


class ListedModelChoiceField(forms.ModelChoiceField):
    """A choice of a row of a short table (plans, sources). Django reads the choices through
    ``iterator()``, a server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE) each time they are
    read, and a required select reads them twice; this reads them once."""

    iterator = _ListedChoices
