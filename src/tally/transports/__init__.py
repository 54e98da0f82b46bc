"""Transports: how a bill's bytes arrive (channel APIs, SFTP, FTP, an inbox folder).

Separate from formats (tally.channels), which say how the bytes are read. A transport is
looked up by the ``transport`` name of a source's ``[sources.X.fetch]`` table.
"""

from __future__ import annotations

from importlib import import_module

from tally.transports.base import Transport

_BUILTIN: dict[str, str] = {
    "wechatpay_v3": "tally.transports.wechatpay_v3",
    "wechatpay_v2": "tally.transports.wechatpay_v2",
    "alipay": "tally.transports.alipay",
    "unionpay": "tally.transports.unionpay",
    "sftp": "tally.transports.sftp",
    "ftp": "tally.transports.ftp",
    "ftps": "tally.transports.ftps",
    "inbox": "tally.transports.inbox",
}


def get(name: str) -> Transport:
    """The transport for a ``transport = "…"`` setting; KeyError for an unknown one."""
    module = import_module(_BUILTIN[name])
    transport: Transport = module.TRANSPORT
    return transport


def names() -> list[str]:
    return sorted(_BUILTIN)
