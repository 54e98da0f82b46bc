"""A fake UnionPay file-transfer gateway (ACP 5.1.0, txnType 76).

It checks the request's ``signature`` with the merchant's public key over the SHA-256 hex of the
sorted fields, and answers ``key=value&…`` signed with a certificate of a test CA chain, carried as
``signPubKeyCert``, the payload being Base64(zlib DEFLATE(zip)).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import date
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.transports.fakes.keys import UnionPayPki, cert_pem, rsa_key, unionpay_pki
from tests.transports.fakes.server import Answer, FakeServer, Request

MODES = ("ok", "no_file", "bad_signature", "unsigned", "untrusted", "not_unionpay", "auth", "busy", "server_error",
         "slow", "slow_download")


def signed_digest(fields: dict[str, str]) -> bytes:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "signature")
    return hashlib.sha256(text.encode()).hexdigest().encode()


class FakeUnionPay(FakeServer):
    def __init__(self, *, mer_id: str, cert_id: str, merchant_key: rsa.RSAPublicKey,
                 files: dict[str, tuple[str, bytes]]) -> None:
        super().__init__()
        self.mer_id = mer_id
        self.cert_id = cert_id
        self.merchant_key = merchant_key
        self.files = files  # settleDate MMDD -> (fileName, zip bytes)
        self.pki = unionpay_pki()
        self.slow_s = 3.0
        self.chunk_delay_s = 0.05
        self.seen: list[dict[str, str]] = []

    def answer(self, request: Request) -> Answer:
        if self.mode == "server_error":
            return Answer(503, b"busy")
        fields = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        self.seen.append(fields)
        base = {k: fields.get(k, "") for k in ("version", "encoding", "signMethod", "txnType", "txnSubType",
                                                "bizType", "accessType", "merId", "txnTime", "fileType",
                                                "settleDate")}
        if (not self._signed_by_merchant(fields) or fields.get("certId") != self.cert_id
                or fields.get("merId") != self.mer_id or self.mode == "auth"):
            return self._reply({**base, "respCode": "11", "respMsg": "验证签名失败"})
        if self.mode == "busy":
            return self._reply({**base, "respCode": "06", "respMsg": "系统繁忙"})
        if self.mode == "no_file" or fields["settleDate"] not in self.files:
            return self._reply({**base, "respCode": "98", "respMsg": "文件不存在"})
        name, data = self.files[fields["settleDate"]]
        answer = self._reply({**base, "respCode": "00", "respMsg": "成功[0000000]", "fileName": name,
                              "fileContent": base64.b64encode(zlib.compress(data)).decode()})
        answer.delay_s = self.slow_s if self.mode == "slow" else 0.0
        answer.chunk_delay_s = self.chunk_delay_s if self.mode == "slow_download" else 0.0
        return answer

    def _signed_by_merchant(self, fields: dict[str, str]) -> bool:
        try:
            self.merchant_key.verify(base64.b64decode(fields.get("signature", "")), signed_digest(fields),
                                     padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _reply(self, fields: dict[str, str]) -> Answer:
        pki: UnionPayPki = self.pki
        if self.mode == "not_unionpay":
            pki = unionpay_pki("someone else")
        signer_cert, signer_key = pki.signer, pki.signer_key
        if self.mode == "untrusted":  # a self-made certificate that claims to be UnionPay's
            from tests.transports.fakes.keys import certificate

            signer_key = rsa_key("impostor")
            signer_cert = certificate("041@Z2026-11-1@中国银联股份有限公司@00000001", signer_key, "CFCA TEST OCA1",
                                      signer_key, ca=False, serial=7)
        if self.mode != "unsigned":
            fields = {**fields, "signMethod": "01", "signPubKeyCert": cert_pem(signer_cert)}
            signature = signer_key.sign(signed_digest(fields), padding.PKCS1v15(), hashes.SHA256())
            if self.mode == "bad_signature":
                signature = signer_key.sign(b"something else", padding.PKCS1v15(), hashes.SHA256())
            fields["signature"] = base64.b64encode(signature).decode()
        body = "&".join(f"{k}={v}" for k, v in fields.items())
        return Answer(200, body.encode(), {"Content-Type": "text/plain;charset=UTF-8"})


def settle_key(day: date) -> str:
    return f"{day:%m%d}"
