"""Synthetic but real-format data: WeChat Pay v2 trade bills and a shop's order database.

Used by the demo, the tests and the benchmark. The bills follow FORMATS.md §1 exactly
(current header family, backtick cells, summary lines), so they go through the same parser
as a bill downloaded from WeChat Pay.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from tally.money import format_minor

WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)
WECHAT_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
FEE_RATE = Decimal("0.006")


@dataclass(frozen=True)
class Txn:
    """One payment or refund as both the shop and the channel would see it (local time)."""

    order_no: str
    amount_minor: int  # positive; refunds are given as their positive refund amount
    at: datetime
    refund_no: str | None = None
    channel_txn_id: str = ""

    @property
    def is_refund(self) -> bool:
        return self.refund_no is not None


def _digits(text: str | None, count: int) -> str:
    """A stable number for an id (never hash(): it changes per process)."""
    return f"{int(hashlib.sha256(str(text).encode()).hexdigest(), 16) % 10**count:0{count}d}"


def _yuan(minor: int) -> str:
    return format_minor(minor, "CNY")


def _fee(minor: int) -> Decimal:
    # 5 decimals, as WeChat writes fees (FORMATS.md §1.3).
    return (Decimal(minor) / 100 * FEE_RATE).quantize(Decimal("0.00001"))


def wechat_bill(txns: Iterable[Txn], *, mchid: str = "1900000109", appid: str = "wx2421b1c4370ec43b",
                crlf: bool = False) -> bytes:
    """A WeChat Pay v2 ALL trade bill holding these transactions, with a correct summary."""
    lines = [WECHAT_HEADER]
    count, settle, refund, fee, gross = 0, 0, 0, Decimal(0), 0
    for txn in txns:
        txid = txn.channel_txn_id or "42000" + _digits(txn.order_no, 23)
        if txn.is_refund:
            cells = [txn.at.strftime("%Y-%m-%d %H:%M:%S"), appid, mchid, "0", "", txid, txn.order_no,
                     "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", "REFUND", "OTHERS", "CNY", "0.00", "0.00",
                     "50300" + _digits(txn.refund_no, 23), txn.refund_no or "", _yuan(txn.amount_minor),
                     "0.00", "ORIGINAL", "SUCCESS", "demo goods", "", f"{-_fee(txn.amount_minor)}", "0.60%", "0.00",
                     _yuan(txn.amount_minor), ""]
            refund += txn.amount_minor
            fee -= _fee(txn.amount_minor)
        else:
            cells = [txn.at.strftime("%Y-%m-%d %H:%M:%S"), appid, mchid, "0", "", txid, txn.order_no,
                     "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", "SUCCESS", "OTHERS", "CNY", _yuan(txn.amount_minor),
                     "0.00", "0", "0", "0.00", "0.00", "", "", "demo goods", "", f"{_fee(txn.amount_minor)}",
                     "0.60%", _yuan(txn.amount_minor), "0.00", ""]
            settle += txn.amount_minor
            gross += txn.amount_minor
            fee += _fee(txn.amount_minor)
        count += 1
        lines.append(",".join("`" + cell for cell in cells))
    lines.append(WECHAT_SUMMARY)
    summary = [str(count), _yuan(settle), _yuan(refund), "0.00", f"{fee:.5f}", _yuan(gross), _yuan(refund)]
    lines.append(",".join("`" + cell for cell in summary))
    end = "\r\n" if crlf else "\n"
    return (end.join(lines) + end).encode("utf-8")


SHOP_SCHEMA = """
create table if not exists payments (
    id integer primary key,
    order_no text not null,
    refund_no text,
    kind text not null check (kind in ('PAY', 'REFUND')),
    amount_fen integer not null,
    currency text not null default 'CNY',
    paid_at text not null,      -- local time, YYYY-MM-DD HH:MM:SS
    status text not null
)
"""


def shop_database(path: Path, txns: Iterable[Txn]) -> None:
    """(Re)create a shop's order database holding these transactions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(SHOP_SCHEMA)
        db.execute("create index payments_paid_at on payments (paid_at)")
        db.executemany(
            "insert into payments (order_no, refund_no, kind, amount_fen, currency, paid_at, status)"
            " values (?, ?, ?, ?, 'CNY', ?, ?)",
            [(t.order_no, t.refund_no, "REFUND" if t.is_refund else "PAY", t.amount_minor,
              t.at.strftime("%Y-%m-%d %H:%M:%S"), "REFUNDED" if t.is_refund else "PAID") for t in txns],
        )
    db.close()
