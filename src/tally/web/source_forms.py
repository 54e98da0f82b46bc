"""Forms of the "new table source" pages: the sample upload and the mapping.

The mapping form has one select per normalized column (the choices are the sample's headers),
the file settings, units, sign, time zone, currency and formats, and one select per value found
in the record kind and direction columns. ``spec()`` turns it into a source declaration that
tally.config validates like any other.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tally.web import labels

FORMATS = [("csv", "CSV"), ("txt", "TXT"), ("xlsx", "Excel (xlsx)"), ("xls", "Excel (xls)"), ("json", "JSON"),
           ("jsonl", "JSON Lines")]
ENCODINGS = [("utf-8", "UTF-8"), ("gb18030", "GB18030 / GBK"), ("auto", _("detect for each file"))]
DELIMITERS = [(",", _("comma ,")), ("\t", _("tab")), (";", _("semicolon ;")), ("|", _("bar |"))]
TIMEZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo", "UTC", "Europe/London",
             "Europe/Berlin", "America/New_York", "America/Los_Angeles"]
UNITS = [("major", _("major units (12.34)")), ("minor", _("minor units (1234)"))]
SIGNS = [("by_kind", _("by record kind (refunds, payouts and fees negative)")), ("as_is", _("as the file writes it")),
         ("direction", _("by a direction column (in / out)"))]
DIRECTIONS = [("", _("— choose —")), ("in", pgettext_lazy("direction", "money in")),
              ("out", pgettext_lazy("direction", "money out"))]
# The normalized columns a file can fill, in the order the form shows them.
MAPPED = ("order_no", "refund_no", "channel_txn_id", "amount_minor", "fee_minor", "discount_minor", "currency",
          "occurred_at", "business_day", "record_kind", "direction", "status", "item", "quantity")
COLUMN_LABELS: dict[str, Any] = {**labels.RECORD_FIELDS, "business_day": labels.RECORD_FIELDS["business_day"],
                 "direction": pgettext_lazy("record field", "direction (in/out)")}


class UploadForm(forms.Form):
    too_large: Any = None  # the message when the upload went past TALLY_UPLOAD_MAX_BYTES
    sample = forms.FileField(label=_("Sample file"),
                             help_text=_("CSV, TXT, Excel, JSON or JSON Lines, as the channel exports it"))


class MappingForm(forms.Form):
    name = forms.RegexField(regex=r"^[a-z][a-z0-9_]{0,63}$", label=_("Source name"),
                            help_text=_("lower-case letters, digits and _, e.g. shop_orders"),
                            error_messages={"invalid": _("Use lower-case letters, digits and _, starting with a "
                                                         "letter.")})
    description = forms.CharField(required=False, max_length=200, label=_("Description"))
    format = forms.ChoiceField(choices=FORMATS, label=_("Format"))
    encoding = forms.ChoiceField(choices=ENCODINGS, label=_("Encoding"), required=False)
    delimiter = forms.ChoiceField(choices=DELIMITERS, label=_("Delimiter"), required=False)
    sheet = forms.ChoiceField(choices=[], label=_("Sheet"), required=False)
    widths = forms.CharField(required=False, max_length=500, label=_("Fixed widths"),
                             help_text=_("for fixed-width TXT: field widths, e.g. 20,12,19"))
    records_path = forms.CharField(required=False, max_length=200, label=_("Records path"),
                                   help_text=_("for JSON: where the array of records is, e.g. data.items"))
    amount_unit = forms.ChoiceField(choices=UNITS, label=_("Amounts are in"))
    sign = forms.ChoiceField(choices=SIGNS, label=_("Sign of amounts"))
    timezone = forms.ChoiceField(choices=[(tz, tz) for tz in TIMEZONES], label=_("Time zone"))
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", required=False, label=_("Currency"),
                                help_text=_("when the file has no currency column, e.g. CNY"))
    time_format = forms.CharField(required=False, max_length=100, label=_("Time format"),
                                  help_text=_("empty for 2024-05-01 10:00:00; else e.g. %Y/%m/%d %H:%M, unix"))
    date_format = forms.CharField(required=False, max_length=100, label=_("Date format"),
                                  help_text=_("of the business day column, e.g. %Y%m%d"))
    record_kind = forms.ChoiceField(choices=list(labels.RECORD_KINDS.items()), label=_("Record kind when not mapped"))

    def __init__(self, *args: Any, headers: list[str], sheets: list[str], kind_values: list[str],
                 direction_values: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sheet_field: Any = self.fields["sheet"]
        sheet_field.choices = [(s, s) for s in sheets]
        header_choices = [("", _("— not in the file —")), *((h, h) for h in headers)]
        for column in MAPPED:
            self.fields[f"col_{column}"] = forms.ChoiceField(choices=header_choices, required=False,
                                                             label=COLUMN_LABELS[column])
        kinds = [("", _("— choose —")), *labels.RECORD_KINDS.items()]
        self.kind_values = kind_values
        self.direction_values = direction_values
        for n, value in enumerate(kind_values):
            self.fields[f"kind_{n}"] = forms.ChoiceField(choices=kinds, required=False, label=value)
        for n, value in enumerate(direction_values):
            self.fields[f"dir_{n}"] = forms.ChoiceField(choices=DIRECTIONS, required=False, label=value)

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{column}"] for column in MAPPED]

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[f"kind_{n}"] for n in range(len(self.kind_values))]

    def direction_fields(self) -> list[forms.BoundField]:
        return [self[f"dir_{n}"] for n in range(len(self.direction_values))]

    def clean_widths(self) -> list[int] | None:
        text = self.cleaned_data.get("widths", "").replace("，", ",").strip()
        if not text:
            return None
        try:
            widths = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(_("Write whole numbers separated by commas.")) from None
        if not widths or min(widths) < 1:
            raise forms.ValidationError(_("Write whole numbers separated by commas."))
        return widths

    def file_options(self) -> dict[str, Any]:
        """The settings that decide how the file is read (also used to re-read the sample)."""
        data = self.cleaned_data
        fmt = data["format"]
        found: dict[str, Any] = {"format": fmt}
        if fmt not in ("xlsx", "xls") and data.get("encoding"):
            found["encoding"] = data["encoding"]
        if fmt in ("csv", "txt") and data.get("delimiter") and not data.get("widths"):
            found["delimiter"] = data["delimiter"]
        if fmt in ("xlsx", "xls") and data.get("sheet"):
            found["sheet"] = data["sheet"]
        if fmt == "txt" and data.get("widths"):
            found["widths"] = data["widths"]
        if fmt == "json" and data.get("records_path"):
            found["records_path"] = data["records_path"].strip()
        return found

    def spec(self) -> dict[str, Any]:
        """The source declaration this form describes (validated later by tally.config)."""
        data = self.cleaned_data
        spec: dict[str, Any] = {"kind": "table", **self.file_options(), "timezone": data["timezone"],
                                "amount_unit": data["amount_unit"], "sign": data["sign"]}
        spec["columns"] = {c: data[f"col_{c}"] for c in MAPPED if data.get(f"col_{c}")}
        for key in ("currency", "time_format", "date_format", "description"):
            if data.get(key):
                spec[key] = data[key].strip()
        if data["record_kind"] != "payment":
            spec["record_kind"] = data["record_kind"]
        values = {}
        for column, names, prefix in (("record_kind", self.kind_values, "kind"),
                                      ("direction", self.direction_values, "dir")):
            table = {value: data[f"{prefix}_{n}"] for n, value in enumerate(names) if data.get(f"{prefix}_{n}")}
            if table and column in spec["columns"]:
                values[column] = table
        if values:
            spec["values"] = values
        return spec
