"""FX rates over the JSON API: the list (filters, paging) and the CSV import (all rows or none,
size-limited, admins only). Rates belong to no plan, so there is no hidden-plan case here."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tally.breaks.models import FxRate
from tally.services import fxrates
from tests.services import workflow_factories as f
from tests.web.api_client import Api

pytestmark = pytest.mark.django_db
GOOD = b"day,base,quote,rate\n2024-05-01,USD,CNY,7.2100\n2024-05-01,EUR,CNY,7.8\n2024-05-02,USD,CNY,7.22\n"


def rate(day: str, base: str, quote: str, value: str) -> FxRate:
    return FxRate.objects.create(day=dt.date.fromisoformat(day), base=base, quote=quote, rate=value, source="seed.csv")


def test_an_admin_imports_a_rates_file() -> None:
    api = Api(f.user("admin"))
    answer = api.upload("/fx-rates/import", GOOD)
    assert answer.status_code == 201, answer.content
    assert answer.json() == {"created": 3, "updated": 0, "unchanged": 0, "pairs": ["EUR/CNY", "USD/CNY"]}
    usd = FxRate.objects.get(day=dt.date(2024, 5, 1), base="USD")
    assert (usd.rate, usd.source) == ("7.2100", "rates.csv")
    again = api.upload("/fx-rates/import", b"day,base,quote,rate\n2024-05-01,USD,CNY,7.2100\n2024-05-01,EUR,CNY,7.81\n")
    assert again.json() == {"created": 0, "updated": 1, "unchanged": 1, "pairs": ["EUR/CNY", "USD/CNY"]}


def test_a_bad_file_is_refused_with_code_and_line_and_nothing_is_kept() -> None:
    rate("2024-04-30", "USD", "CNY", "7.1")
    api = Api(f.user("admin"))
    answer = api.upload("/fx-rates/import", b"day,base,quote,rate\n2024-05-01,USD,CNY,7.2\n2024-05-02,USD,CNY,seven\n")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["line"], error["file"], error["field"]) == ("BAD_AMOUNT", 3, "rates.csv", "rate")
    assert list(FxRate.objects.values_list("day", "rate")) == [(dt.date(2024, 4, 30), "7.1")]
    for data, code in ((b"day,base,rate\n2024-05-01,USD,7\n", "MISSING_COLUMN"),
                       (b"day,base,quote,rate\n2024-05-01,USD,USD,1\n", "BAD_RATE"),
                       (b"day,base,quote,rate\n2024-05-01,US,CNY,7\n", "BAD_CURRENCY"),
                       (b"day,base,quote,rate\n2024-05-01,USD,CNY,7\n2024-05-01,USD,CNY,8\n", "DUPLICATE_RATE"),
                       (b"day,base,quote,rate\n", "NO_RATES"),
                       (b"\xff\xfe\x00d\x00a", "BAD_ENCODING"),
                       (b"day,base,quote,rate\n2024-05-01,USD,CNY," + b"7" * 200_000, "BAD_CSV")):
        refused = api.upload("/fx-rates/import", data)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, code), data
    assert FxRate.objects.count() == 1


def test_a_file_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fxrates, "MAX_BYTES", 40)
    answer = Api(f.user("admin")).upload("/fx-rates/import", GOOD)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "FILE_TOO_LARGE")
    assert not FxRate.objects.exists()


def test_only_admins_import_and_every_role_lists() -> None:
    for role in ("viewer", "operator", "approver"):
        refused = Api(f.user(role)).upload("/fx-rates/import", GOOD)
        assert refused.status_code == 403, role
    assert not FxRate.objects.exists()
    rate("2024-05-01", "USD", "CNY", "7.2")
    assert Api(f.user("viewer")).get("/fx-rates/").json()["count"] == 1
    assert Api(f.user(None)).get("/fx-rates/").status_code == 403
    assert Client().get("/api/fx-rates/").status_code == 401


def test_list_filters_by_day_and_pair_newest_first_with_paging() -> None:
    rate("2024-05-01", "USD", "CNY", "7.2")
    rate("2024-05-02", "USD", "CNY", "7.21")
    rate("2024-05-02", "EUR", "CNY", "7.8")
    rate("2024-05-02", "USD", "HKD", "7.81")
    api = Api(f.user("viewer"))
    every = api.get("/fx-rates/").json()
    assert every["count"] == 4
    assert [(r["day"], r["base"], r["quote"]) for r in every["items"]] == [
        ("2024-05-02", "EUR", "CNY"), ("2024-05-02", "USD", "CNY"), ("2024-05-02", "USD", "HKD"),
        ("2024-05-01", "USD", "CNY")]
    assert every["items"][1] == {"day": "2024-05-02", "base": "USD", "quote": "CNY", "rate": "7.21",
                                 "source": "seed.csv", "imported_at": every["items"][1]["imported_at"]}
    usd_cny = api.get("/fx-rates/?base=usd&quote=CNY").json()
    assert [r["rate"] for r in usd_cny["items"]] == ["7.21", "7.2"]
    assert api.get("/fx-rates/?day=2024-05-01").json()["count"] == 1
    second = api.get("/fx-rates/?limit=2&offset=2").json()
    assert (second["count"], len(second["items"])) == (4, 2)


def test_bad_filters_are_refused() -> None:
    api = Api(f.user("viewer"))
    bad = api.get("/fx-rates/?base=dollars")
    assert (bad.status_code, bad.json()["error"]["code"], bad.json()["error"]["field"]) == (400, "BAD_CURRENCY",
                                                                                           "base")
    assert api.get("/fx-rates/?day=yesterday").status_code == 422
    assert api.get("/fx-rates/?limit=0").status_code == 422
