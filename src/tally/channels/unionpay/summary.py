"""The RD report (中国银联全渠道商户交易汇总表): the control totals of a UnionPay zip (FORMATS.md §3.3).

A GBK text table for people, not machines. What is read from it: 清算日期 (yyyyMMdd), 清算币种,
and every 总计 line: 交易笔数, then 交易金额, 费用 and 资金清算差额 each as 借 (debit) and 贷
(credit) in yuan. The report has two tables (by 交易类型 and by 卡性质) with a 总计 each; both
must equal the detail. Directions are compared as net amounts, so a refund's 借 and a payment's 贷
need no per-code rule: 交易金额 贷−借 = Σ amount, 费用 借−贷 = Σ fee, 资金清算差额 贷−借 = Σ 清算净额.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from tally.errors import InputRejected
from tally.money import parse_decimal

CURRENCIES = {"人民币": "CNY"}
_SETTLE_DATE = re.compile(r"清算日期\s*[:：]\s*(\d{8})")
_CURRENCY = re.compile(r"清算币种\s*[:：]\s*(\S+)")


@dataclass(frozen=True)
class Totals:
    line: int
    count: int
    amount: Decimal  # 交易金额 贷 − 借
    fee: Decimal  # 费用 借 − 贷
    net: Decimal  # 资金清算差额 贷 − 借


@dataclass
class RdSummary:
    file: str
    settle_date: date | None = None
    settle_line: int | None = None
    currency: str | None = None
    totals: list[Totals] = field(default_factory=list)


@dataclass
class DetailSums:
    """What the ZM rows add up to, in minor units (fen), signed from the merchant's view."""

    exponent: int = 2
    count: int = 0
    amount: int = 0
    fee: int = 0
    net: int = 0


def read_rd(data: bytes, file: str) -> RdSummary:
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputRejected("BAD_ENCODING", "the RD summary is not GBK text", file=file) from None
    summary = RdSummary(file)
    for line_no, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if (found := _SETTLE_DATE.search(line)) and summary.settle_date is None:
            summary.settle_date, summary.settle_line = _date(found.group(1), file, line_no), line_no
        if (found := _CURRENCY.search(line)) and summary.currency is None:
            summary.currency = CURRENCIES.get(found.group(1))
        words = line.split()
        if words and words[0] == "总计":
            summary.totals.append(_totals(words[1:], file, line_no))
    if not summary.totals:
        raise InputRejected("MISSING_TOTALS", "the RD summary has no 总计 line", file=file,
                            hint="the zip is incomplete; fetch the bill again")
    return summary


def _date(text: str, file: str, line_no: int) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise InputRejected("BAD_DATE", f"清算日期 {text} is not a date", file=file, line=line_no,
                            field="清算日期") from None


def _totals(words: list[str], file: str, line_no: int) -> Totals:
    if len(words) != 7:
        raise InputRejected("COLUMN_COUNT", f"the 总计 line has {len(words)} numbers, expected 7 (笔数 and 借/贷 of "
                            "交易金额, 费用, 资金清算差额)", file=file, line=line_no)
    try:
        count = parse_decimal(words[0])
        values = [parse_decimal(word.replace(",", "")) for word in words[1:]]
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line_no, field="总计") from None
    if count != count.to_integral_value():
        raise InputRejected("BAD_VALUE", f"交易笔数 {words[0]} is not a whole number", file=file, line=line_no,
                            field="交易笔数")
    debit_amount, credit_amount, debit_fee, credit_fee, debit_net, credit_net = values
    return Totals(line_no, int(count), credit_amount - debit_amount, debit_fee - credit_fee, credit_net - debit_net)


def check_rd(summary: RdSummary, sums: DetailSums) -> None:
    for totals in summary.totals:
        checks = (
            ("交易笔数", Decimal(totals.count), Decimal(sums.count)),
            ("交易金额 (贷−借)", totals.amount, Decimal(sums.amount).scaleb(-sums.exponent)),
            ("费用 (借−贷)", totals.fee, Decimal(sums.fee).scaleb(-sums.exponent)),
            ("资金清算差额 (贷−借)", totals.net, Decimal(sums.net).scaleb(-sums.exponent)),
        )
        for name, stated, actual in checks:
            if stated != actual:
                raise InputRejected("TOTALS_MISMATCH", f"RD 总计 {name} says {stated}, the ZM rows add up to {actual}",
                                    file=summary.file, line=totals.line, field=name.split()[0],
                                    hint="the bill is incomplete or altered; fetch it again")
