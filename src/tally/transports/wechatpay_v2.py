"""WeChat Pay APIv2 ``downloadbill``: one signed XML POST, answered by the bill itself (FORMATS.md §1.1).

The request carries ``appid``, ``mch_id``, ``nonce_str``, ``bill_date`` (yyyyMMdd), ``bill_type``,
optionally ``tar_type=GZIP`` and ``sign_type``; ``sign`` is MD5 (default) or HMAC-SHA256 of the
sorted non-empty parameters as ``k=v&…`` followed by ``&key=API_KEY``, in upper-case hex.

The answer is not signed and is one of three things, told apart by its first bytes: an ``<xml>``
error (``No Bill Exist`` is no bill, ``Bill Creating`` not ready yet), gzip bytes (``1f 8b``),
or the bill text. v2 has no hash to check: the bill's own control totals are the check.
Fund-flow bills are not fetched through v2 (their endpoint and certificate needs are unverified):
use the wechatpay_v3 transport for a ``wechatpay_fund`` source.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from tally.errors import ConfigError
from tally.transports import client
from tally.transports.base import Fetched, Outcome, secret
from tally.transports.client import Stop, answer, failed, refused

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND")
SIGN_TYPES = ("MD5", "HMAC-SHA256")
# return_msg texts (WeChat's own spelling varies in case) -> what they mean.
NO_BILL = "no bill exist"
NOT_READY = "bill creating"
TRANSIENT = ("system error", "systemerror", "compressgzip error", "uncompressgzip error")


def sign(params: dict[str, str], api_key: str, sign_type: str) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v and k != "sign") + f"&key={api_key}"
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text.encode()).hexdigest().upper()  # noqa: S324 - the channel's algorithm, not ours


class WeChatPayV2:
    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        if settings.get("kind") == "wechatpay_fund":
            raise ConfigError("BAD_SOURCE", "fund-flow bills are fetched with transport = \"wechatpay_v3\"")
        base = client.check_base_url(str(settings.get("base_url") or DEFAULT_BASE_URL)).rstrip("/")
        bill_type = str(settings.get("bill_type", "ALL")).upper()
        sign_type = str(settings.get("sign_type", "MD5")).upper()
        if bill_type not in BILL_TYPES:
            raise ConfigError("BAD_SOURCE", f"fetch.bill_type must be one of {', '.join(BILL_TYPES)}")
        if sign_type not in SIGN_TYPES:
            raise ConfigError("BAD_SOURCE", f"fetch.sign_type must be one of {', '.join(SIGN_TYPES)}")
        api_key = str(secret(settings, "api_key")).strip()
        params = {"appid": str(settings["appid"]), "mch_id": str(settings["mch_id"]), "nonce_str": client.nonce(),
                  "bill_date": f"{day:%Y%m%d}", "bill_type": bill_type}
        if str(settings.get("tar_type", "")).upper() == "GZIP":
            params["tar_type"] = "GZIP"
        if sign_type != "MD5":
            params["sign_type"] = sign_type
        params["sign"] = sign(params, api_key, sign_type)
        body = ("<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in params.items()) + "</xml>").encode()
        try:
            with client.session(settings) as http:
                reply = client.send(http, "POST", f"{base}/pay/downloadbill", content=body,
                                    headers={"Content-Type": "text/xml; charset=utf-8"})
            if (stop := client.server_failure(reply, "downloadbill")) is not None:
                raise stop
            if reply.status != 200:
                raise failed("BAD_REQUEST", f"downloadbill: HTTP {reply.status}", transient=False)
            bill = _bill(reply.body)
        except Stop as stop:
            return [stop.fetched]
        return [Fetched(Outcome.FETCHED, data=bill, file_name=f"tradebill_{bill_type}_{day:%Y%m%d}.csv",
                        details={"bill_date": day.isoformat(), "bytes": len(reply.body),
                                 "gzip": reply.body[:2] == b"\x1f\x8b"})]


def _bill(body: bytes) -> bytes:
    """Sniff the answer: an XML error, gzip bytes, or the bill text itself."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:5].lower()
    if head == b"<xml>":
        _raise_error(body)
    if body[:2] == b"\x1f\x8b":
        return client.gunzip(body)
    if not body.strip():
        raise refused("BAD_ANSWER", "downloadbill answered with an empty body")
    return body


def _raise_error(body: bytes) -> None:
    try:
        fields = {child.tag: (child.text or "").strip() for child in ElementTree.fromstring(body)}
    except ElementTree.ParseError:
        raise refused("BAD_ANSWER", "downloadbill answered with malformed XML") from None
    message, code = fields.get("return_msg", ""), fields.get("error_code", "")
    text = f"downloadbill: {message or 'FAIL'}" + (f" (error_code {code})" if code else "")
    lowered = message.lower()
    if lowered == NO_BILL or code == "20002":
        raise answer(Outcome.NO_BILL, "NO_BILL_EXIST", f"WeChat Pay has no bill for that day ({message})")
    if lowered == NOT_READY:
        raise answer(Outcome.NOT_READY, "BILL_CREATING", f"WeChat Pay is still creating the bill ({message})",
                     transient=True)
    if lowered in TRANSIENT:
        raise failed("SYSTEM_ERROR", text, transient=True)
    if "sign" in lowered or "签名" in message:
        raise failed("SIGN_ERROR", f"{text}: check mch_id, appid and the API key", transient=False)
    raise failed("CHANNEL_ERROR", text, transient=False)


TRANSPORT = WeChatPayV2()
