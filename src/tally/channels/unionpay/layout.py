"""The ZM detail line: 42 fixed-width fields in bytes, one space after each (FORMATS.md §3.3).

Widths are those of UnionPay's own demo parsers (DemoBase.parseZMFile and its C#/PHP twins); they
add up, with 41 separators, to the 607 bytes of every line of the real sample. Names follow the
file-interface spec's order; 41 (原始交易订单号) is inferred, 42 is reserved.
"""

from __future__ import annotations

from tally.errors import InputRejected

FIELDS: tuple[tuple[str, int], ...] = (
    ("交易代码", 3), ("代理机构标识码", 11), ("发送机构标识码", 11), ("系统跟踪号", 6), ("交易传输时间", 10),
    ("账号", 19), ("交易金额", 12), ("商户类别", 4), ("终端类型", 2), ("查询流水号", 21), ("支付方式(旧)", 2),
    ("商户订单号", 32), ("支付卡类型", 2), ("原始交易的系统跟踪号", 6), ("原始交易日期时间", 10),
    ("商户手续费", 13), ("结算金额", 13), ("支付方式", 4), ("集团商户代码", 15), ("交易类型", 2), ("交易子类", 2),
    ("业务类型", 6), ("账号类型", 2), ("账单类型", 4), ("账单号码", 32), ("交互方式", 1), ("原交易查询流水号", 21),
    ("商户代码", 15), ("分账入账方式", 1), ("二级商户代码", 15), ("二级商户简称", 32), ("二级商户分账入账金额", 13),
    ("清算净额", 13), ("终端号", 8), ("商户自定义域", 32), ("优惠金额", 13), ("发票金额", 13),
    ("分期付款附加手续费", 12), ("分期付款期数", 2), ("交易介质", 1), ("原始交易订单号", 32), ("保留使用", 98),
)
OFFSETS: dict[str, tuple[int, int]] = {}
_at = 0
for _name, _width in FIELDS:
    OFFSETS[_name] = (_at, _at + _width)
    _at += _width + 1
LINE_BYTES = _at - 1  # 607: no separator after the last field
# Tools that trim trailing spaces may cut the blank tail; everything up to 交易介质 must be there.
MIN_LINE_BYTES = OFFSETS["交易介质"][1]
SIGNS = {ord("C"): 1, ord("D"): -1, ord(" "): 1}


def fields(line: bytes, file: str, line_no: int) -> dict[str, bytes]:
    """The raw bytes of every field of one ZM line, after checking its length and separators."""
    if len(line) < MIN_LINE_BYTES or (len(line) > LINE_BYTES and line[LINE_BYTES:].strip()):
        raise InputRejected("COLUMN_COUNT", f"the line is {len(line)} bytes, a ZM line is {LINE_BYTES}",
                            file=file, line=line_no, hint="is this a UnionPay ZM file? was it saved as text?")
    line = line[:LINE_BYTES].ljust(LINE_BYTES)
    for name, (_start, end) in OFFSETS.items():
        if end < LINE_BYTES and line[end] != 0x20:
            raise InputRejected("COLUMN_COUNT", f"byte {end + 1} after {name} should be the space between fields",
                                file=file, line=line_no, field=name,
                                hint="a field is longer or shorter than the ZM layout: the line is shifted")
    return {name: line[start:end] for name, (start, end) in OFFSETS.items()}


def text(raw: dict[str, bytes], name: str, file: str, line_no: int) -> str:
    try:
        return raw[name].decode("gb18030").strip()
    except UnicodeDecodeError:
        raise InputRejected("BAD_ENCODING", f"{name} is not GBK text", file=file, line=line_no,
                            field=name) from None


def fen(raw: dict[str, bytes], name: str, file: str, line_no: int) -> int:
    """An unsigned 12-digit amount in fen."""
    value = raw[name]
    if not value.isdigit():
        raise InputRejected("BAD_AMOUNT", f"{name} {value.decode('latin-1')!r} is not 12 digits of fen",
                            file=file, line=line_no, field=name)
    return int(value)


def signed_fen(raw: dict[str, bytes], name: str, file: str, line_no: int, *, required: bool = True) -> int:
    """A 13-byte amount: C (credit to the merchant, +), D (debit, −) or blank, then 12 digits of fen."""
    value = raw[name]
    if not value.strip() and not required:
        return 0
    sign = SIGNS.get(value[0])
    if sign is None or not value[1:].isdigit():
        raise InputRejected("BAD_AMOUNT", f"{name} {value.decode('latin-1')!r} is not C/D and 12 digits of fen",
                            file=file, line=line_no, field=name)
    return sign * int(value[1:])
