"""WeChat Pay APIv3 bills: apply for the download URL, download, gunzip, check the hash (FORMATS.md §1.1).

1. ``GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL&tar_type=GZIP`` (a ``wechatpay_fund``
   source: ``/v3/bill/fundflowbill?…&account_type=BASIC``), signed with the merchant's private key:
   ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"``,
   the signature being RSA-SHA256 over ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``.
2. The answer is verified with the platform public key: ``Wechatpay-Signature`` over
   ``TIMESTAMP\\nNONCE\\nBODY\\n``, ``Wechatpay-Serial`` equal to ``platform_serial`` when set, the
   timestamp within 5 minutes (as the official SDKs do). It carries ``download_url``,
   ``hash_type`` (SHA1) and ``hash_value``.
3. The URL is fetched with a fresh signed GET (WeChat answers SIGN_ERROR to an unsigned one);
   this answer carries no signature. A gzip body is decompressed, and the hash is checked on the
   decompressed bill, case-insensitively.

Answers: 400 NO_STATEMENT_EXIST is no bill (no trade that day), STATEMENT_CREATING not ready yet;
401/403 and SIGN_ERROR are failures a retry will not fix; 5xx, 429 and network errors are
transient. A bad signature or hash refuses the bill.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from tally.errors import ConfigError
from tally.transports import client
from tally.transports.base import Fetched, Outcome
from tally.transports.client import Reply, Stop, answer, failed, refused

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
MAX_SKEW_S = 300
TRADE_BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND", "ALL_SPECIAL", "SUC_SPECIAL", "REF_SPECIAL")
ACCOUNT_TYPES = ("BASIC", "OPERATION", "FEES")


def authorization(key: RSAPrivateKey, mchid: str, serial_no: str, method: str, path_query: str,
                  body: bytes = b"", *, timestamp: int | None = None, nonce: str | None = None) -> str:
    """The APIv3 ``Authorization`` header of one request."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce_str = nonce or client.nonce()
    message = f"{method}\n{path_query}\n{ts}\n{nonce_str}\n".encode() + body + b"\n"
    signature = client.rsa_sign(key, message)
    return (f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",nonce_str="{nonce_str}",signature="{signature}",'
            f'timestamp="{ts}",serial_no="{serial_no}"')


class WeChatPayV3:
    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        base = client.check_base_url(str(settings.get("base_url") or DEFAULT_BASE_URL)).rstrip("/")
        path, query, name = _request(settings, day)
        key = client.private_key(settings)
        platform = client.public_key(settings, "platform_public_key_file")
        mchid, serial_no = str(settings["mchid"]), str(settings["serial_no"])
        try:
            with client.session(settings) as http:
                apply_url = f"{base}{path}?{urlencode(query)}"
                reply = self._signed_get(http, key, mchid, serial_no, apply_url)
                ticket = _ticket(reply, platform, settings.get("platform_serial"))
                url = client.check_base_url(str(ticket["download_url"]))
                reply = self._signed_get(http, key, mchid, serial_no, url)
                if (stop := client.server_failure(reply, "bill download")) is not None:
                    raise stop
                if reply.status in (401, 403):
                    _error(reply, "bill download")
                if reply.status != 200:
                    # The link lives minutes at most (FORMATS.md §1.1): a later try applies again.
                    raise failed("DOWNLOAD_FAILED", f"bill download: HTTP {reply.status} (the download link "
                                 "expired or was refused)", transient=True)
                bill = _decompressed(reply.body)
                _check_hash(bill, str(ticket.get("hash_type") or "SHA1"), str(ticket.get("hash_value") or ""))
        except Stop as stop:
            return [stop.fetched]
        return [Fetched(Outcome.FETCHED, data=bill, file_name=name,
                        details={"bill_date": query["bill_date"], "hash_type": ticket.get("hash_type", "SHA1"),
                                 "hash_value": str(ticket.get("hash_value", "")).lower(),
                                 "download_host": urlsplit(url).hostname, "bytes": len(reply.body)})]

    def _signed_get(self, http: httpx.Client, key: RSAPrivateKey, mchid: str, serial_no: str, url: str) -> Reply:
        parts = urlsplit(url)
        path_query = parts.path + (f"?{parts.query}" if parts.query else "")
        header = authorization(key, mchid, serial_no, "GET", path_query)
        return client.send(http, "GET", url, headers={"Authorization": header, "Accept": "application/json"})


def _request(settings: dict[str, Any], day: date) -> tuple[str, dict[str, str], str]:
    """The apply path, its query and the bill's file name."""
    tar_type = str(settings.get("tar_type", "GZIP")).upper()
    if tar_type not in ("GZIP", ""):
        raise ConfigError("BAD_SOURCE", f"fetch.tar_type must be \"GZIP\" or \"\", not {tar_type!r}")
    query = {"bill_date": day.isoformat()}
    if settings.get("kind") == "wechatpay_fund":
        account_type = str(settings.get("account_type", "BASIC")).upper()
        if account_type not in ACCOUNT_TYPES:
            raise ConfigError("BAD_SOURCE", f"fetch.account_type must be one of {', '.join(ACCOUNT_TYPES)}")
        query["account_type"] = account_type
        path, name = "/v3/bill/fundflowbill", f"fundflowbill_{account_type}_{day:%Y%m%d}.csv"
    else:
        bill_type = str(settings.get("bill_type", "ALL")).upper()
        if bill_type not in TRADE_BILL_TYPES:
            raise ConfigError("BAD_SOURCE", f"fetch.bill_type must be one of {', '.join(TRADE_BILL_TYPES)}")
        query["bill_type"] = bill_type
        if settings.get("sub_mchid"):
            query["sub_mchid"] = str(settings["sub_mchid"])
        path, name = "/v3/bill/tradebill", f"tradebill_{bill_type}_{day:%Y%m%d}.csv"
    if tar_type:
        query["tar_type"] = tar_type
    return path, query, name


def _ticket(reply: Reply, platform: RSAPublicKey, platform_serial: Any) -> dict[str, Any]:
    """The verified apply answer (download_url, hash_type, hash_value); Stop for anything else."""
    if (stop := client.server_failure(reply, "bill apply")) is not None:
        raise stop
    signed = "Wechatpay-Signature" in reply.headers
    if reply.status == 200 or signed:
        _verify(reply, platform, platform_serial)
    if reply.status != 200:
        _error(reply, "bill apply")
    try:
        ticket = json.loads(reply.body)
    except ValueError:
        raise refused("BAD_ANSWER", "the bill apply answer is not JSON") from None
    if not isinstance(ticket, dict) or not ticket.get("download_url"):
        raise refused("BAD_ANSWER", "the bill apply answer has no download_url")
    if str(ticket.get("hash_type") or "SHA1").upper() != "SHA1":
        raise refused("BAD_ANSWER", f"unknown hash_type {ticket.get('hash_type')!r}")
    return ticket


def _verify(reply: Reply, platform: RSAPublicKey, platform_serial: Any) -> None:
    headers = reply.headers
    missing = [h for h in ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial")
               if not headers.get(h)]
    if missing:
        raise refused("BAD_SIGNATURE", f"the answer is not signed (no {missing[0]} header)")
    if platform_serial and headers["Wechatpay-Serial"] != str(platform_serial):
        raise refused("BAD_SIGNATURE", f"the answer is signed by key {headers['Wechatpay-Serial']}, "
                      f"not by the platform key {platform_serial} (platform_serial)")
    timestamp = headers["Wechatpay-Timestamp"]
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
        raise refused("BAD_SIGNATURE", "the answer's timestamp is more than 5 minutes away from now (replayed?)")
    message = f"{timestamp}\n{headers['Wechatpay-Nonce']}\n".encode() + reply.body + b"\n"
    if not client.rsa_verify(platform, message, headers["Wechatpay-Signature"]):
        raise refused("BAD_SIGNATURE", "the answer's Wechatpay-Signature does not verify with the platform "
                      "public key")


def _error(reply: Reply, what: str) -> None:
    """Raise the Stop that an error answer (4xx) means."""
    try:
        payload = json.loads(reply.body)
    except ValueError:
        payload = {}
    code = str(payload.get("code", "")) if isinstance(payload, dict) else ""
    message = str(payload.get("message", "")) if isinstance(payload, dict) else ""
    text = f"{what}: HTTP {reply.status} {code} {message}".strip()
    if code == "NO_STATEMENT_EXIST":
        raise answer(Outcome.NO_BILL, code, f"WeChat Pay has no bill for that day ({message or code})")
    if code == "STATEMENT_CREATING":
        raise answer(Outcome.NOT_READY, code, f"WeChat Pay is still creating the bill ({message or code})",
                     transient=True)
    if reply.status in (401, 403) or code in ("SIGN_ERROR", "NO_AUTH", "INVALID_REQUEST_SIGNATURE"):
        raise failed(code or "AUTH_FAILED", f"{text}: check mchid, serial_no and the private key", transient=False)
    if code in ("SYSTEM_ERROR", "FREQUENCY_LIMITED"):
        raise failed(code, text, transient=True)
    raise failed(code or "BAD_REQUEST", text, transient=False)


def _decompressed(body: bytes) -> bytes:
    # Sniff rather than trust tar_type: gzip starts with 1f 8b, a bill with its header text.
    return client.gunzip(body) if body[:2] == b"\x1f\x8b" else body


def _check_hash(bill: bytes, hash_type: str, expected: str) -> None:
    actual = hashlib.new(hash_type.lower().replace("-", ""), bill).hexdigest()
    if not expected or actual.lower() != expected.lower():
        raise refused("HASH_MISMATCH", f"the downloaded bill's {hash_type} is {actual}, the channel said "
                      f"{expected or 'nothing'}: the bill was damaged or altered on the way")


TRANSPORT = WeChatPayV3()
