"""The form renderer writes inputs and selects exactly as Django's widget templates do."""

from __future__ import annotations

from pathlib import Path

import django.forms
import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates
from django.http import QueryDict
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from tally.web.browse_forms import BrowseForm
from tally.web.forms import BillFilter, BreakFilter
from tally.web.renderer import INPUTS, FormRenderer
from tests.web.factories import make_plan

DJANGO = DjangoTemplates()
OURS = FormRenderer()


class Everything(forms.Form):
    text = forms.CharField(max_length=12, widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                                                        "data-x": 'a "quoted" <b> & \'s\''}))
    number = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"size": 4, "step": 0.5}))
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    email = forms.EmailField(required=False)
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)
    flag = forms.BooleanField(required=False)
    kind = forms.ChoiceField(required=False, choices=[("", gettext_lazy("all")), ("a<b", "A & B"), (3, "three")])
    grouped = forms.ChoiceField(required=False, choices=[("Fruit", [("apple", "Apple"), ("pear", "Pear")]),
                                                         ("none", "None")])
    safe = forms.ChoiceField(required=False, choices=[("x", mark_safe("<em>x</em>"))])
    many = forms.MultipleChoiceField(required=False, choices=[("a", "A"), ("b", "B")])
    numbered = forms.ChoiceField(required=False, choices=[(1, 1), (2, 2)])


def _pairs(form: forms.Form, *, written: bool = False) -> list[tuple[str, str, str]]:
    """(field, Django's markup, ours) per field; ``written``: ours may not fall back to a template."""
    out = []
    for bound in form:
        widget = bound.field.widget
        context = widget.get_context(bound.html_name, widget.format_value(bound.value()), bound.build_widget_attrs(
            {"id": bound.auto_id} if bound.auto_id else {}))
        expected = DJANGO.render(widget.template_name, context)
        with pytest.MonkeyPatch.context() as patch:
            if written:
                patch.setattr(DjangoTemplates, "render", _no_template)
            out.append((bound.name, expected, OURS.render(widget.template_name, context)))
    return out


def _no_template(*args: object, **kwargs: object) -> str:
    raise AssertionError("rendered through a template")


@pytest.mark.parametrize("data", [
    {},
    {"text": "<script>", "number": "7", "day": "2024-06-30", "email": "a@b.c", "secret": "x\"y", "hidden": "h&",
     "flag": "on", "kind": "a<b", "grouped": "pear", "safe": "x", "many": ["a", "b"], "numbered": "2"},
    {"text": "x" * 20, "number": "no", "day": "2024-13-40", "kind": "nope"},
])
def test_every_widget_renders_as_django_renders_it(data: dict[str, object]) -> None:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    form = Everything(query if data else None)
    form.is_valid() if data else None
    for name, expected, got in _pairs(form):
        assert got == expected, name


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_filter_forms_render_as_django_renders_them(language: str) -> None:
    make_plan(name="wechat_vs_shop")
    make_plan(name="a & <b>")
    with override(language):
        for form in (BreakFilter(QueryDict("plan=wechat_vs_shop&status=open&day=2024-06-30&order_no=%3Cx%3E")),
                     BreakFilter(QueryDict("day=not-a-day")), BillFilter(QueryDict("")),
                     BrowseForm(QueryDict("first=2024-06-30&record_kind=refund&sort=amount_minor&order=desc"))):
            form.is_valid()
            for name, expected, got in _pairs(form, written=True):
                assert got == expected, name


def test_the_inputs_it_writes_are_the_templates_that_only_include_input_html() -> None:
    folder = Path(django.forms.__file__).parent / "templates"
    for name in INPUTS - {"django/forms/widgets/input.html"}:
        assert (folder / name).read_text().strip() == '{% include "django/forms/widgets/input.html" %}', name


def test_the_site_uses_it() -> None:
    assert settings.FORM_RENDERER == "tally.web.renderer.FormRenderer"
