"""Alipay bills: ``alipay.data.dataservice.bill.downloadurl.query``, then the zip (FORMATS.md §2.1).

The query is an OpenAPI gateway call: the common parameters (``app_id``, ``method``, ``format=JSON``,
``charset=utf-8``, ``sign_type=RSA2``, ``timestamp`` in Beijing time, ``version=1.0``, optional
``app_auth_token``) and ``biz_content={"bill_type":"trade","bill_date":"YYYY-MM-DD"}``, signed with
RSA2 (SHA256withRSA) over the parameters sorted by name as ``key=value&…`` (empty values and
``sign`` left out, values not URL-encoded). All of it is sent as a form body.

The answer is JSON; its ``alipay_data_dataservice_bill_downloadurl_query_response`` (or
``error_response``) object is verified with the Alipay public key over its exact text as received,
as the official SDKs do (and again with ``\\/`` read as ``/``, as the Java SDK retries). A verified
``code`` 10000 gives ``bill_download_url``, valid for 30 seconds: it is fetched at once with a
plain GET (no signature; Alipay hands out ``http://`` URLs, fetched here over https except on
loopback). ``isp.bill_not_exist`` means not ready until the deadline of the next day, then no bill;
an unsigned answer is never taken as "no bill".
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from tally.errors import ConfigError
from tally.transports import client
from tally.transports.base import Fetched, Outcome, secret
from tally.transports.client import Stop, answer, failed, refused

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
METHOD = "alipay.data.dataservice.bill.downloadurl.query"
NODE = METHOD.replace(".", "_") + "_response"
BILL_TYPES = ("trade", "signcustomer")
# Alipay's gateway codes: 20000 service unavailable (retry); 40001-40006 the request itself is wrong.
TRANSIENT_CODES = ("20000",)
ZIP_MAGIC = b"PK"


def sign_content(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v and k != "sign")


class Alipay:
    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        gateway = client.check_base_url(str(settings.get("gateway_url") or DEFAULT_GATEWAY))
        bill_type = str(settings.get("bill_type", "trade"))
        if bill_type not in BILL_TYPES:
            raise ConfigError("BAD_SOURCE", f"fetch.bill_type must be one of {', '.join(BILL_TYPES)}")
        key = client.private_key(settings)
        alipay_key = client.public_key(settings, "alipay_public_key_file")
        token = secret(settings, "app_auth_token", required=False)
        params = {
            "app_id": str(settings["app_id"]), "method": METHOD, "format": "JSON", "charset": "utf-8",
            "sign_type": "RSA2", "version": "1.0",
            # Alipay reads the timestamp as Beijing time, whatever the source's timezone.
            "timestamp": datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S"),
            "biz_content": json.dumps({"bill_type": bill_type, "bill_date": day.isoformat()}, separators=(",", ":")),
        }
        if token:
            params["app_auth_token"] = token.strip()
        params["sign"] = client.rsa_sign(key, sign_content(params).encode("utf-8"))
        try:
            with client.session(settings) as http:
                reply = client.send(http, "POST", gateway, data=params,
                                    headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
                if (stop := client.server_failure(reply, "bill URL query")) is not None:
                    raise stop
                payload = _verified(reply.body, alipay_key)
                url = _download_url(payload, settings, day)
                reply = client.send(http, "GET", url)
                if (stop := client.server_failure(reply, "bill download")) is not None:
                    raise stop
                if reply.status != 200 or not reply.body.startswith(ZIP_MAGIC):
                    # An expired link answers with a page ("下载超时,请重新下载"): query again later.
                    raise failed("DOWNLOAD_FAILED", f"bill download: HTTP {reply.status}, not a zip (the link "
                                 "is valid for 30 seconds)", transient=True)
        except Stop as stop:
            return [stop.fetched]
        return [Fetched(Outcome.FETCHED, data=reply.body, file_name=_file_name(url, bill_type, day),
                        details={"bill_date": day.isoformat(), "bill_type": bill_type,
                                 "download_host": urlsplit(url).hostname, "bytes": len(reply.body)})]


def response_node(text: str) -> tuple[str, str, str]:
    """(node name, the node's JSON text exactly as received, sign) of a gateway answer."""
    try:
        whole = json.loads(text)
    except ValueError:
        raise refused("BAD_ANSWER", "the gateway's answer is not JSON") from None
    if not isinstance(whole, dict):
        raise refused("BAD_ANSWER", "the gateway's answer is not a JSON object")
    name = NODE if NODE in whole else "error_response" if "error_response" in whole else ""
    if not name:
        raise refused("BAD_ANSWER", f"the gateway's answer has no {NODE}")
    start = text.index("{", text.index(f'"{name}"') + len(name) + 2)
    return name, text[start:_object_end(text, start)], str(whole.get("sign") or "")


def _object_end(text: str, start: int) -> int:
    """Index just past the JSON object that opens at ``start`` (strings and escapes respected)."""
    depth, in_string, escaped = 0, False, False
    for at in range(start, len(text)):
        char = text[at]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return at + 1
    raise refused("BAD_ANSWER", "the gateway's answer is truncated")


def _verified(body: bytes, alipay_key: Any) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise refused("BAD_ANSWER", "the gateway's answer is not UTF-8") from None
    name, node, sign = response_node(text)
    payload = json.loads(node)
    if not sign:
        if str(payload.get("code")) == "10000":
            raise refused("BAD_SIGNATURE", "the gateway's answer is not signed")
        # Unsigned errors are reported, never trusted to mean "no bill".
        raise failed(str(payload.get("sub_code") or payload.get("code") or "CHANNEL_ERROR"),
                     f"bill URL query: unsigned error {_describe(payload)}", transient=False)
    signed = node.encode("utf-8")
    if not (client.rsa_verify(alipay_key, signed, sign)
            or ("\\/" in node and client.rsa_verify(alipay_key, node.replace("\\/", "/").encode("utf-8"), sign))):
        raise refused("BAD_SIGNATURE", f"the gateway's {name} does not verify with the Alipay public key")
    return dict(payload)


def _download_url(payload: dict[str, Any], settings: dict[str, Any], day: date) -> str:
    code, sub_code = str(payload.get("code", "")), str(payload.get("sub_code", ""))
    if code == "10000":
        url = str(payload.get("bill_download_url") or "")
        if not url:
            raise refused("BAD_ANSWER", "the answer has no bill_download_url")
        parts = urlsplit(url)
        if parts.scheme == "http" and not client.is_loopback(parts.hostname or ""):
            url = urlunsplit(parts._replace(scheme="https"))
        return client.check_base_url(url)
    reason = f"bill URL query: {_describe(payload)}"
    if sub_code == "isp.bill_not_exist":
        if client.before_deadline(settings, day):
            raise answer(Outcome.NOT_READY, sub_code, f"{reason}; not ready before the next day's deadline",
                         transient=True)
        raise answer(Outcome.NO_BILL, sub_code, f"Alipay has no bill for that day ({_describe(payload)})")
    if code in TRANSIENT_CODES or sub_code.startswith("isp.unknow"):
        raise failed(sub_code or code, reason, transient=True)
    raise failed(sub_code or code or "CHANNEL_ERROR", reason, transient=False)


def _describe(payload: dict[str, Any]) -> str:
    parts = [str(payload.get(k)) for k in ("code", "msg", "sub_code", "sub_msg") if payload.get(k)]
    return " ".join(parts) or "no code"


def _file_name(url: str, bill_type: str, day: date) -> str:
    # Only the last path part of Alipay's own name: it names the zip, never a folder of ours.
    given = parse_qs(urlsplit(url).query).get("downloadFileName", [""])[0].rsplit("/", 1)[-1]
    return given or f"alipay_{bill_type}_{day:%Y%m%d}.csv.zip"


TRANSPORT = Alipay()
