"""Source versions: every change is a new version, bills keep theirs, and an archived bill can be
re-parsed under its own version (no change) or a newer one (a diff), and deliberately re-imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tally import config
from tally.cli import main
from tally.errors import ConfigError, InputRejected
from tally.ingest.models import Bill, Source
from tally.services.declarations import apply
from tally.services.importing import import_bill
from tally.services.reparsing import reimport, reparse
from tally.services.sources import declare, spec_changes

pytestmark = pytest.mark.django_db

SPEC: dict[str, Any] = {
    "kind": "table", "format": "csv", "currency": "CNY", "timezone": "Asia/Shanghai",
    "columns": {"order_no": "单号", "amount_minor": "金额", "occurred_at": "时间", "record_kind": "类型"},
    "values": {"record_kind": {"支付": "payment", "退款": "refund"}},
}
BILL = ("单号,金额,时间,类型\n"
        "A1,12.34,2026-11-01 10:00:00,支付\n"
        "A2,1.00,2026-11-01 11:00:00,退款\n"
        "A3,5.00,2026-11-02 09:00:00,支付\n").encode()


def toml(spec: dict[str, Any]) -> config.Declarations:
    return config.Declarations({"shop": spec}, {})


def test_apply_adds_a_version_only_when_the_declaration_changes() -> None:
    apply(toml(SPEC))
    apply(toml(SPEC))
    source = Source.objects.get(name="shop")
    assert list(source.versions.values_list("number", "via")) == [(1, "apply")]
    apply(toml({**SPEC, "amount_unit": "minor"}))
    assert list(source.versions.values_list("number", flat=True)) == [2, 1]
    assert source.versions.get(number=1).spec == SPEC  # history is never rewritten


def test_a_change_made_elsewhere_is_recorded_at_the_next_import() -> None:
    declare("shop", SPEC, via="web")
    Source.objects.filter(name="shop").update(spec={**SPEC, "sign": "as_is"})  # e.g. the admin pages
    bill = import_bill(BILL, "shop", file_name="orders.csv").bill
    assert bill.source_version is not None
    assert (bill.source_version.number, bill.source_version.via) == (2, "recorded")
    assert bill.source_version.spec["sign"] == "as_is"


def test_declare_new_refuses_an_existing_name_and_validates() -> None:
    declare("shop", SPEC, via="web", new=True)
    with pytest.raises(ConfigError) as caught:
        declare("shop", SPEC, via="web", new=True)
    assert caught.value.code == "SOURCE_EXISTS"
    with pytest.raises(ConfigError):
        declare("shop2", {**SPEC, "format": "pdf"}, via="web")
    assert not Source.objects.filter(name="shop2").exists()


def test_spec_changes_by_dotted_key() -> None:
    new = {**SPEC, "sign": "as_is", "values": {"record_kind": {"支付": "payment", "退款": "refund", "费": "fee"}}}
    assert spec_changes(SPEC, new) == [("sign", None, "as_is"), ("values.record_kind.费", None, "fee")]


def test_reparse_under_the_import_version_changes_nothing_and_a_newer_version_shows_the_diff() -> None:
    declare("shop", SPEC, via="web")
    bill = import_bill(BILL, "shop", file_name="orders.csv").bill
    assert bill.source_version.number == 1
    unchanged = reparse(bill)
    assert unchanged.empty
    assert unchanged.counts["unchanged"] == 3

    declare("shop", {**SPEC, "sign": "as_is", "timezone": "UTC"}, via="web")
    diff = reparse(bill, 2)
    assert (diff.from_version, diff.to_version, diff.counts["changed"]) == (1, 2, 3)
    by_line = {c.line: c.fields for c in diff.changed}
    assert by_line[3]["amount_minor"] == (-100, 100)
    assert "amount_minor" not in by_line[2]
    old, new = by_line[4]["occurred_at"]
    assert (new - old).total_seconds() == 8 * 3600  # the same wall time, now read as UTC
    assert Bill.objects.get(pk=bill.pk).source_version.number == 1  # reparse writes nothing


def test_reparse_under_a_version_that_refuses_the_file_raises() -> None:
    declare("shop", SPEC, via="web")
    bill = import_bill(BILL, "shop", file_name="orders.csv").bill
    declare("shop", {**SPEC, "values": {"record_kind": {"支付": "payment"}}}, via="web")
    with pytest.raises(InputRejected) as caught:
        reparse(bill, 2)
    assert (caught.value.code, caught.value.where.line) == ("BAD_VALUE", 3)
    with pytest.raises(InputRejected):
        reimport(bill, 2)
    assert reparse(bill).empty  # the failed reimport left the records as they were


def test_reimport_replaces_the_records_and_moves_the_bill_to_the_version() -> None:
    declare("shop", SPEC, via="web")
    bill = import_bill(BILL, "shop", file_name="orders.csv").bill
    assert bill.days == ["2026-11-01", "2026-11-02"]
    declare("shop", {**SPEC, "sign": "as_is", "timezone": "America/Los_Angeles"}, via="web")
    bill = reimport(bill, 2)
    assert (bill.source_version.number, bill.rows, bill.days) == (2, 3, ["2026-11-01", "2026-11-02"])
    assert reparse(bill).empty  # its records are now those of version 2
    assert reparse(bill, 1).counts["changed"] == 3


def test_cli_reparse_and_apply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    declare("shop", SPEC, via="web")
    bill = import_bill(BILL, "shop", file_name="orders.csv").bill
    declare("shop", {**SPEC, "sign": "as_is"}, via="web")
    assert main(["reparse", bill.name]) == 0
    assert "version 1 → 1: 0 added, 0 removed, 0 changed, 3 unchanged" in capsys.readouterr().out
    assert main(["reparse", bill.name, "--version", "2"]) == 0
    out = capsys.readouterr().out
    assert "1 changed" in out
    assert "line 3: amount_minor -100 → 100" in out
    assert main(["reparse", bill.name, "--apply"]) == 0
    assert "reimported" in capsys.readouterr().out
    assert Bill.objects.get(pk=bill.pk).source_version.number == 2
    assert main(["reparse", "nope.csv"]) == 2
    assert "error[UNKNOWN_BILL]" in capsys.readouterr().err
    assert main(["reparse", bill.name, "--version", "9"]) == 2
    assert "error[UNKNOWN_VERSION]" in capsys.readouterr().err


def test_reimport_moves_records_to_other_days_and_removes_the_stale_files() -> None:
    from datetime import date

    from tally.services.workspace import lake

    declare("shop", SPEC, via="web")
    data = "单号,金额,时间,类型\nA1,1.00,2026-11-01T23:30:00+00:00,支付\n".encode()
    bill = import_bill(data, "shop", file_name="late.csv").bill
    assert bill.days == ["2026-11-02"]  # 07:30 in Shanghai
    declare("shop", {**SPEC, "timezone": "UTC"}, via="web")
    bill = reimport(bill, 2)
    assert bill.days == ["2026-11-01"]
    assert lake().record_path("shop", date(2026, 11, 1), bill.sha256).exists()
    assert not lake().record_path("shop", date(2026, 11, 2), bill.sha256).exists()
