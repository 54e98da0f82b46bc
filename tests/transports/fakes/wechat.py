"""A fake WeChat Pay: APIv3 bill apply + download, and the APIv2 ``downloadbill``.

It checks the v3 ``Authorization`` header with the merchant's public key over
``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` and the v2 ``sign`` with the API key, as WeChat
does, and signs v3 answers with its platform key over ``TIMESTAMP\\nNONCE\\nBODY\\n``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import date
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from defusedxml import ElementTree

from tests.transports.fakes.server import Answer, FakeServer, Request

MODES = ("ok", "no_bill", "not_ready", "bad_signature", "wrong_serial", "wrong_hash", "server_error", "slow",
         "slow_download", "unsigned", "auth", "not_gzip", "expired")
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000"
_AUTH = re.compile(r'WECHATPAY2-SHA256-RSA2048 (.*)')
_PAIR = re.compile(r'(\w+)="([^"]*)"')


class FakeWeChatPay(FakeServer):
    def __init__(self, *, mchid: str, merchant_key: rsa.RSAPublicKey, platform_key: rsa.RSAPrivateKey,
                 bills: dict[tuple[str, date], bytes], api_key: str = "") -> None:
        super().__init__()
        self.mchid = mchid
        self.merchant_key = merchant_key
        self.platform_key = platform_key
        self.bills = bills  # ("trade" | "fund", day) -> the bill text
        self.api_key = api_key
        self.chunk_delay_s = 0.05
        self.slow_s = 3.0

    # -- APIv3 ---------------------------------------------------------------------------------
    def answer(self, request: Request) -> Answer:
        if request.route == "/pay/downloadbill":
            return self._v2(request)
        if self.mode == "server_error":
            return Answer(500, b"<html>busy</html>")
        if self.mode == "auth" or not self._signed_by_merchant(request):
            return self._error(401, "SIGN_ERROR", "签名错误")
        if request.route in ("/v3/bill/tradebill", "/v3/bill/fundflowbill"):
            return self._apply(request)
        if request.route == "/v3/billdownload/file":
            return self._download(request)
        return self._error(404, "NOT_FOUND", "no such API")

    def _signed_by_merchant(self, request: Request) -> bool:
        found = _AUTH.fullmatch(request.headers.get("authorization", ""))
        if not found:
            return False
        fields = dict(_PAIR.findall(found.group(1)))
        if fields.get("mchid") != self.mchid or not fields.get("serial_no"):
            return False
        message = (f"{request.method}\n{request.path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n"
                   .encode() + request.body + b"\n")
        try:
            self.merchant_key.verify(base64.b64decode(fields.get("signature", "")), message, padding.PKCS1v15(),
                                     hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return abs(time.time() - int(fields.get("timestamp") or 0)) < 300

    def _apply(self, request: Request) -> Answer:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        day = date.fromisoformat(query["bill_date"])
        kind = "fund" if request.route.endswith("fundflowbill") else "trade"
        if self.mode == "no_bill" or (kind, day) not in self.bills:
            return self._error(400, "NO_STATEMENT_EXIST", "请求的账单文件不存在")
        if self.mode == "not_ready":
            return self._error(400, "STATEMENT_CREATING", "账单生成中")
        bill = self.bills[(kind, day)]
        digest = hashlib.sha1(bill).hexdigest().upper()
        if self.mode == "wrong_hash":
            digest = hashlib.sha1(bill + b"x").hexdigest()
        gz = "&tartype=gzip" if query.get("tar_type") == "GZIP" else ""
        body = json.dumps({"hash_type": "SHA1", "hash_value": digest,
                           "download_url": f"{self.url}/v3/billdownload/file?token={kind}-{day:%Y%m%d}{gz}"}).encode()
        return self._signed(Answer(200, body, {"Content-Type": "application/json"},
                                   delay_s=self.slow_s if self.mode == "slow" else 0.0))

    def _download(self, request: Request) -> Answer:
        if self.mode == "expired":
            return self._error(404, "RESOURCE_NOT_EXISTS", "下载链接已过期")
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        kind, _, ymd = query["token"].partition("-")
        bill = self.bills[(kind, date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:])))]
        body = gzip.compress(bill) if query.get("tartype") == "gzip" and self.mode != "not_gzip" else bill
        # No Wechatpay-Signature on the download: WeChat does not sign it either.
        return Answer(200, body, {"Content-Type": "application/octet-stream"},
                      chunk_delay_s=self.chunk_delay_s if self.mode == "slow_download" else 0.0)

    def _error(self, status: int, code: str, message: str) -> Answer:
        body = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()
        return self._signed(Answer(status, body, {"Content-Type": "application/json"}))

    def _signed(self, answer: Answer) -> Answer:
        if self.mode == "unsigned":
            return answer
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = f"{timestamp}\n{nonce}\n".encode() + answer.body + b"\n"
        signature = self.platform_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        if self.mode == "bad_signature":
            signature = self.platform_key.sign(message + b"tampered", padding.PKCS1v15(), hashes.SHA256())
        answer.headers.update({
            "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE" if self.mode == "wrong_serial" else PLATFORM_SERIAL,
        })
        return answer

    # -- APIv2 ---------------------------------------------------------------------------------
    def _v2(self, request: Request) -> Answer:
        if self.mode == "server_error":
            return Answer(503, b"busy")
        params = {child.tag: child.text or "" for child in ElementTree.fromstring(request.body)}
        if params.get("mch_id") != self.mchid or params.get("sign") != v2_sign(params, self.api_key):
            return _v2_error("SIGN ERROR", "")
        if self.mode == "auth":
            return _v2_error("当前商户号账单API权限已经关闭", "")
        day = date(int(params["bill_date"][:4]), int(params["bill_date"][4:6]), int(params["bill_date"][6:]))
        if self.mode == "no_bill" or ("trade", day) not in self.bills:
            return _v2_error("No Bill Exist", "20002")
        if self.mode == "not_ready":
            return _v2_error("Bill Creating", "20001")
        bill = self.bills[("trade", day)]
        body = gzip.compress(bill) if params.get("tar_type") == "GZIP" else bill
        return Answer(200, body, {"Content-Type": "text/plain"}, delay_s=self.slow_s if self.mode == "slow" else 0.0,
                      chunk_delay_s=self.chunk_delay_s if self.mode == "slow_download" else 0.0)


def v2_sign(params: dict[str, str], api_key: str) -> str:
    """WeChat Pay v2: sorted non-empty params (not ``sign``) as k=v&…, then ``&key=API_KEY``; MD5 or HMAC-SHA256."""
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v and k != "sign") + f"&key={api_key}"
    if params.get("sign_type") == "HMAC-SHA256":
        return hmac.new(api_key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text.encode()).hexdigest().upper()


def _v2_error(message: str, code: str) -> Answer:
    extra = f"<error_code><![CDATA[{code}]]></error_code>" if code else ""
    body = (f"<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[{message}]]></return_msg>"
            f"{extra}</xml>").encode()
    return Answer(200, body, {"Content-Type": "text/xml"})
