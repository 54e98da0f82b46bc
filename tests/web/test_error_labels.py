"""Errors in the reader's language: every code the code base raises has a sentence in the catalog
(tally.web.error_labels), translated; a real bad bill uploaded through the web reads, in Chinese and
in English, as that sentence, then the English detail with its file:line place, then the code."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

import tally
from tally.errors import TallyError
from tally.ingest.models import Bill, Source
from tally.web.error_labels import ERRORS, explain, explain_error

from .factories import jobs_inline, make_user

SRC = Path(tally.__file__).parent
# The code pattern of tally.errors, as `grep -rhoE '"[A-Z][A-Z0-9_]{3,}"' src/tally` finds candidates.
CODE = re.compile(r"[A-Z][A-Z0-9_]{2,}")
ERROR_CLASSES = {"TallyError", "InputRejected", "ConfigError", "OperationFailed", "NotAllowed", "NotFound",
                 "BadState"}
OPERATOR = ("ingest.view_bill", "ingest.view_source", "ingest.add_bill")
SAMPLE = "tradebill_ALL_20210128.csv"
# The sample's totals say 3 orders; one more makes the whole bill fail its control totals.
TOTALS = b"`3,`0.03,"
TOTALS_SENTENCE = {
    "en": "The bill's own totals (count or amount) do not equal the sum of its rows, so the whole bill was "
          "refused. Get the complete bill from the channel again.",
    "zh-hans": "对账单自带的合计（笔数或金额）与明细加总不一致，整份对账单已拒收。请从渠道重新获取完整的对账单。",
}


# Every code has a sentence

def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _shown_modules() -> list[Path]:
    """Every module whose errors can reach a page: all but the CLI and the JSON API, which keep
    English (CONTRACT.md), and the migrations."""
    return [path for path in sorted(SRC.rglob("*.py"))
            if path.name != "cli.py" and path.relative_to(SRC).parts[:2] != ("web", "api")
            and "migrations" not in path.parts]


def raised_codes() -> dict[str, str]:
    """Code → first place, for each code-like literal that is given as an error's code: the first
    argument of an error class or of a function whose first parameter is ``code`` (``failed``,
    ``refused`` …), a ``code=`` keyword, a ``"code"`` key, or a value assigned to ``code``."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in _shown_modules()}
    takes_code = {*ERROR_CLASSES, "__init__"}  # __init__: a subclass's super().__init__("CODE", …)
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.args.args[:1] and node.args.args[0].arg == "code":
                takes_code.add(node.name)
            if isinstance(node, ast.ClassDef) and any(_name(base) in ERROR_CLASSES for base in node.bases):
                takes_code.add(node.name)
    codes: dict[str, str] = {}
    for path, tree in trees.items():
        parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value)):
                continue
            if _given_as_code(node, parent, takes_code):
                codes.setdefault(node.value, f"{path.relative_to(SRC)}:{node.lineno}")
    return codes


def _given_as_code(node: ast.AST, parent: dict[ast.AST, ast.AST], takes_code: set[str]) -> bool:
    value: ast.AST = node
    up: ast.AST | None = parent.get(node)
    while isinstance(up, (ast.BoolOp, ast.IfExp)):  # `self.code or "FETCH_FAILED"`, `"A" if … else "B"`
        value, up = up, parent.get(up)
    assign = parent.get(up) if isinstance(up, ast.Tuple) else None
    if isinstance(up, ast.Tuple) and isinstance(assign, ast.Assign):  # `f.outcome, f.code = …, "CODE"`
        target = assign.targets[0]
        if not isinstance(target, ast.Tuple) or len(target.elts) != len(up.elts):
            return False
        return any(element is value and _name(named) == "code"
                   for element, named in zip(up.elts, target.elts, strict=True))
    if isinstance(up, ast.Call):
        return _name(up.func) in takes_code and up.args[:1] == [value]
    if isinstance(up, ast.keyword):
        return up.arg == "code"
    if isinstance(up, ast.Dict):  # details={"code": "NETWORK"}
        return any(isinstance(k, ast.Constant) and k.value == "code" and v is value
                   for k, v in zip(up.keys, up.values, strict=True))
    if isinstance(up, ast.Assign):
        return any(_name(target) == "code" for target in up.targets)
    return False


def test_every_code_raised_has_a_sentence_in_the_catalog() -> None:
    raised = raised_codes()
    # The scan sees codes of every kind of place: parsers, transports, services, the web's own.
    for known in ("TOTALS_MISMATCH", "BAD_AMOUNT", "MISSING_COLUMN", "ZIP_SLIP", "NETWORK", "HOST_KEY_MISMATCH",
                  "NO_FETCH", "BAD_PLAN", "IMPORT_FAILED", "JOB_INTERRUPTED", "FETCH_FAILED", "SELF_APPROVAL"):
        assert known in raised, known
    missing = {code: place for code, place in raised.items() if code not in ERRORS}
    assert missing == {}, "add a sentence for each to tally/web/error_labels.py (and its zh_Hans translation)"


def test_every_sentence_is_translated() -> None:
    with translation.override("en"):
        english = {code: str(text) for code, text in ERRORS.items()}
    with translation.override("zh-hans"):
        chinese = {code: str(text) for code, text in ERRORS.items()}
    assert [code for code in ERRORS if chinese[code] == english[code]] == []


def test_a_code_without_a_sentence_reads_as_before() -> None:
    shown = explain_error(TallyError("NO_SUCH_CODE", "something odd", file="a.csv", line=3))
    assert (shown.sentence, shown.detail) == ("", "something odd (a.csv:3)")
    assert explain("BAD_AMOUNT", "amount 'x' is not a number", "b.csv:2").sentence.startswith("An amount")


# A real bad bill through the web

@pytest.fixture
def staging(tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    return tally_home


def client_in(language: str) -> Client:
    client = Client()
    client.force_login(make_user(*OPERATOR))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def bad_wechat_bill(samples: Path) -> bytes:
    data = (samples / "wechatpay" / SAMPLE).read_bytes()
    assert data.count(TOTALS) == 1
    return data.replace(TOTALS, b"`4,`0.03,")


def text_of(page: str) -> str:
    """The page's text with its tags dropped, as a reader sees it."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_uploaded_bill_that_fails_its_totals_is_explained_in_the_readers_language(
        staging: Path, samples: Path, monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    jobs_inline(monkeypatch)
    Source.objects.create(name="wechat", kind="wechatpay", spec={"timezone": "Asia/Shanghai"})
    client = client_in(language)
    posted = client.post(reverse("bill-upload"), {"source": "wechat", "day": "",
                                                  "files": [SimpleUploadedFile(SAMPLE, bad_wechat_bill(samples))]})
    assert posted.status_code == 302
    page = client.get(posted["Location"]).content.decode()
    row = page[page.index(f'<tr data-file="{SAMPLE}" data-outcome="rejected">'):]
    row = row[:row.index("</tr>")]
    sentence = TOTALS_SENTENCE[language]
    other = TOTALS_SENTENCE["en" if language == "zh-hans" else "zh-hans"]
    # The sentence first, then the parser's English detail with its place, then the code.
    shown = text_of(row)
    assert sentence in shown
    assert other not in shown
    detail = f"总交易单数 says 4 rows, the bill has 3 ({SAMPLE}:6, field 总交易单数)"
    assert shown.index(sentence) < shown.index(detail) < shown.index("TOTALS_MISMATCH")
    assert '<span class="error-detail">' in row
    assert "<code>TOTALS_MISMATCH</code>" in row

    # The rejected bill says the same on its own page and in the list of bills.
    bill = Bill.objects.get(status="rejected")
    detail_page = text_of(client.get(reverse("bill-detail", args=[bill.pk])).content.decode())
    assert sentence in detail_page
    assert f"{SAMPLE}:" in detail_page
    assert sentence in text_of(client.get(reverse("bill-list")).content.decode())


@pytest.mark.django_db
def test_a_retry_of_a_source_without_fetch_settings_explains_itself_in_chinese() -> None:
    Source.objects.create(name="bank", kind="wechatpay", spec={"timezone": "Asia/Shanghai"})
    client = client_in("zh-hans")
    answer: Any = client.post(reverse("fetch-retry"), {"source": "bank", "day": "2024-05-01"}, follow=True)
    shown = text_of(answer.content.decode())
    with translation.override("zh-hans"):
        assert str(ERRORS["NO_FETCH"]) in shown
    assert "source bank has no [sources.bank.fetch] table" in shown
    assert "NO_FETCH" in shown
