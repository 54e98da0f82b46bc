"""A proposed mapping from a file's headers and values, by Chinese and English synonyms.

Only a proposal: the back office shows it in a form for finance staff to correct. Headers are
compared loosely (case, spaces, ``_``/``-``, and a unit in brackets such as ``金额(元)`` are
ignored); an exact synonym beats a header that merely contains one, and each header is used
for one column at most. A unit in brackets also proposes ``amount_unit`` (元 → major, 分 → minor).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Normalized column → synonyms, most specific first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_no": ("商户订单号", "out_trade_no", "merchant order no", "商家订单号", "外部订单号", "order id",
                 "order no", "order number", "order_no", "订单号", "订单编号", "业务单号"),
    "refund_no": ("商户退款单号", "退款单号", "out_refund_no", "refund id", "refund no", "refund_no", "退款编号"),
    "channel_txn_id": ("交易单号", "微信订单号", "支付宝交易号", "交易流水号", "流水号", "transaction id",
                       "transaction_id", "txn id", "trade_no", "reference"),
    "amount_minor": ("金额", "订单金额", "交易金额", "实收金额", "总金额", "发生额", "amount", "total", "total amount",
                     "gross", "gross amount"),
    "fee_minor": ("手续费", "服务费", "fee", "fees", "commission"),
    "discount_minor": ("优惠金额", "代金券金额", "折扣金额", "discount", "coupon"),
    "occurred_at": ("支付时间", "交易时间", "付款时间", "下单时间", "创建时间", "完成时间", "时间", "paid_at",
                    "paid at", "created", "created_at", "created at", "time", "timestamp", "datetime", "date time"),
    "business_day": ("账期", "清算日期", "业务日期", "记账日期", "入账日期", "对账日期", "business_day", "business day",
                     "settlement date", "booking date", "value date"),
    "record_kind": ("交易类型", "业务类型", "类型", "type", "kind", "transaction type", "record_kind"),
    "currency": ("币种", "货币", "币别", "currency", "ccy"),
    "status": ("交易状态", "状态", "status", "state"),
    "item": ("商品编码", "商品", "物料编码", "货号", "sku", "item", "product"),
    "quantity": ("数量", "件数", "quantity", "qty"),
    "direction": ("收支方向", "收支类型", "借贷标志", "方向", "收/支", "direction", "debit/credit", "dc"),
}

KIND_VALUES: dict[str, tuple[str, ...]] = {
    "payment": ("支付", "付款", "收款", "消费", "交易", "pay", "payment", "sale", "charge", "success", "paid"),
    "refund": ("退款", "退货", "refund", "refunded", "return"),
    "fee": ("手续费", "服务费", "fee", "fees"),
    "payout": ("提现", "结算", "出款", "payout", "withdrawal", "settlement", "transfer"),
    "adjustment": ("调账", "调整", "adjustment", "adjust"),
}

DIRECTION_VALUES: dict[str, tuple[str, ...]] = {
    "in": ("收入", "入账", "收", "贷", "in", "income", "credit", "cr", "+"),
    "out": ("支出", "出账", "支", "借", "out", "expense", "debit", "dr", "-"),
}

_UNIT = re.compile(r"[(（\[]\s*(元|分|cny|rmb|yuan|fen|cents?)\s*[)）\]]", re.IGNORECASE)
_NOISE = re.compile(r"[\s_\-:：]+")


def normalize(header: str) -> str:
    return _NOISE.sub("", _UNIT.sub("", header)).lower()


_TABLE = {column: [normalize(s) for s in names] for column, names in SYNONYMS.items()}


@dataclass
class Proposal:
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    amount_unit: str | None = None


def propose(headers: Sequence[str], values: Mapping[str, Sequence[str]] | None = None) -> Proposal:
    """Columns (normalized name → header), value maps for kinds and directions, and a unit."""
    scored = []
    for header in headers:
        key = normalize(header)
        if not key:
            continue
        for column, names in _TABLE.items():
            for rank, name in enumerate(names):
                if key == name:
                    scored.append((0, 0, rank, column, header))
                elif len(name) >= 2 and name in key:
                    # The longest synonym inside a header wins: 手续费金额 is a fee, not an amount.
                    scored.append((1, -len(name), rank, column, header))
    proposal = Proposal()
    used: set[str] = set()
    for *_, column, header in sorted(scored, key=lambda s: (*s[:3], headers.index(s[4]))):
        if column not in proposal.columns and header not in used:
            proposal.columns[column] = header
            used.add(header)
    values = values or {}
    for column, table in (("record_kind", KIND_VALUES), ("direction", DIRECTION_VALUES)):
        if found := proposal.columns.get(column):
            proposal.values[column] = {v: guessed for v in values.get(found, ()) if (guessed := match_value(v, table))}
    if amount := proposal.columns.get("amount_minor"):
        unit = _UNIT.search(amount)
        if unit:
            proposal.amount_unit = "minor" if unit.group(1).lower() in ("分", "fen", "cent", "cents") else "major"
    return proposal


def match_value(value: str, table: Mapping[str, Sequence[str]]) -> str | None:
    """The normalized value a file's value most likely means, or None."""
    key = normalize(value)
    for target, names in table.items():
        if key in (normalize(n) for n in names):
            return target
    for target, names in table.items():
        if any(len(n) >= 2 and normalize(n) in key for n in names):
            return target
    return None
