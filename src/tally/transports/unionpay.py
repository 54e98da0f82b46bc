"""UnionPay 全渠道 (ACP 5.1.0) reconciliation files: the file-transfer transaction (FORMATS.md §3.1).

The request is a form POST to the file-transfer gateway: ``version=5.1.0``, ``encoding=UTF-8``,
``signMethod=01``, ``txnType=76``, ``txnSubType=01``, ``bizType=000000``, ``accessType=0``,
``channelType=07``, ``fileType=00``, ``merId``, ``settleDate=MMDD`` (no year), ``txnTime``
(yyyyMMddHHmmss, Beijing time), ``certId`` (the serial number, in decimal, of the merchant's
signing certificate) and ``signature``: Base64 of SHA256withRSA over the lower-case hex SHA-256
of the fields sorted by name as ``key=value&…`` (``signature`` left out), as the official SDK's
``AcpService.sign`` does.

The answer is ``key=value&…`` (values not URL-encoded). It is verified the SDK's way: the
``signPubKeyCert`` it carries must chain to the configured middle and root certificates, be
valid now and belong to 中国银联股份有限公司 (or, with ``allow_test_certs``, the test owner
``00040000:SIGN``); its key must verify ``signature`` over the SHA-256 hex of the other fields.
``respCode=00`` carries ``fileContent`` = Base64(zlib DEFLATE(zip)) and ``fileName``: the zip is
what Tally keeps. ``respCode=98`` (no such file) means not ready until the next day's deadline,
then no bill; an unsigned answer is never taken as "no bill".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tally.errors import ConfigError
from tally.transports import client
from tally.transports.base import Fetched, Outcome, secret
from tally.transports.client import Stop, answer, failed, refused

DEFAULT_URL = "https://filedownload.95516.com/"
OWNER = "中国银联股份有限公司"
TEST_OWNER = "00040000:SIGN"
# ACP respCode: 02-06 system not open / timeout / unknown state / accepted / busy: try again later.
TRANSIENT_CODES = ("02", "03", "04", "05", "06")


def sign_string(fields: dict[str, str]) -> bytes:
    """What is signed: the lower-case hex SHA-256 of the sorted ``key=value&…`` without ``signature``."""
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "signature")
    return hashlib.sha256(text.encode("utf-8")).hexdigest().encode("ascii")


def parse_answer(text: str) -> dict[str, str]:
    """``key=value&…`` where a value may hold ``{…}`` or ``[…]`` with ``&`` inside (the SDK's parseQString)."""
    fields: dict[str, str] = {}
    key: str | None = None
    buffer: list[str] = []
    closer = ""
    for char in text:
        if key is None:
            if char == "=":
                key, buffer = "".join(buffer), []
            else:
                buffer.append(char)
            continue
        if closer:
            if char == closer:
                closer = ""
        elif char in "{[":
            closer = "}" if char == "{" else "]"
        elif char == "&":
            fields[key], key, buffer = "".join(buffer), None, []
            continue
        buffer.append(char)
    if key is not None:
        fields[key] = "".join(buffer)
    elif buffer:
        fields["".join(buffer)] = ""
    return fields


class UnionPay:
    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        url = client.check_base_url(str(settings.get("file_trans_url") or DEFAULT_URL))
        key, cert_id = _signing_key(settings)
        root = _certificate(settings, "root_cert_file")
        middle = _certificate(settings, "middle_cert_file")
        fields = {
            "version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "76", "txnSubType": "01",
            "bizType": "000000", "accessType": "0", "channelType": "07", "fileType": "00",
            "merId": str(settings["mer_id"]), "settleDate": f"{day:%m%d}", "certId": cert_id,
            "txnTime": datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d%H%M%S"),
        }
        fields["signature"] = client.rsa_sign(key, sign_string(fields))
        try:
            with client.session(settings) as http:
                reply = client.send(http, "POST", url, data=fields,
                                    headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
            if (stop := client.server_failure(reply, "file transfer")) is not None:
                raise stop
            if reply.status != 200:
                raise failed("BAD_REQUEST", f"file transfer: HTTP {reply.status}", transient=False)
            try:
                got = parse_answer(reply.body.decode("utf-8").strip())
            except UnicodeDecodeError:
                raise refused("BAD_ANSWER", "the file-transfer answer is not UTF-8") from None
            signed = bool(got.get("signature"))
            if signed:
                _verify(got, root, middle, allow_test=bool(settings.get("allow_test_certs")))
            data, name = _file(got, signed, settings, day)
        except Stop as stop:
            return [stop.fetched]
        return [Fetched(Outcome.FETCHED, data=data, file_name=name,
                        details={"settle_date": fields["settleDate"], "bytes": len(data)})]


def _signing_key(settings: dict[str, Any]) -> tuple[RSAPrivateKey, str]:
    """The merchant's signing key and its certId: from a PKCS#12 (.pfx) file, or a PEM key plus cert_id."""
    path = str(settings.get("private_key_file") or "")
    if path.lower().endswith((".pfx", ".p12")):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError("MISSING_SECRET", f"cannot read private_key_file {path}: {exc.strerror}") from None
        password = secret(settings, "private_key_password", required=False)
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(data, password.strip().encode() if password else None)
        except ValueError:
            raise ConfigError("BAD_SECRET", "private_key_file is not a PKCS#12 file this password opens",
                              hint="set private_key_password_env or private_key_password_file") from None
        if not isinstance(key, RSAPrivateKey) or cert is None:
            raise ConfigError("BAD_SECRET", "the PKCS#12 file holds no RSA key with its certificate")
        return key, str(cert.serial_number)
    key = client.private_key(settings)
    cert_id = str(settings.get("cert_id") or "")
    if not cert_id.isdigit():
        raise ConfigError("BAD_SOURCE", "fetch.cert_id must be the signing certificate's serial number in decimal",
                          hint="or point private_key_file at the .pfx UnionPay issued, which holds it")
    return key, cert_id


def _certificate(settings: dict[str, Any], name: str) -> x509.Certificate:
    path = settings.get(name)
    try:
        data = Path(str(path)).read_bytes()
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except OSError as exc:
        raise ConfigError("BAD_SOURCE", f"cannot read fetch.{name} {path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError("BAD_SOURCE", f"fetch.{name} {path} is not a certificate (PEM or DER)") from None


def _verify(got: dict[str, str], root: x509.Certificate, middle: x509.Certificate, *, allow_test: bool) -> None:
    pem = got.get("signPubKeyCert", "")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise refused("BAD_SIGNATURE", "the answer carries no readable signPubKeyCert") from None
    try:
        middle.verify_directly_issued_by(root)
        cert.verify_directly_issued_by(middle)
    except (ValueError, TypeError, InvalidSignature):
        raise refused("BAD_SIGNATURE", "the answer's signing certificate does not chain to the configured "
                      "UnionPay middle and root certificates") from None
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise refused("BAD_SIGNATURE", "the answer's signing certificate is expired or not yet valid")
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    parts = str(names[0].value).split("@") if names else []
    owner = parts[2] if len(parts) > 2 else ""
    if owner != OWNER and not (allow_test and owner == TEST_OWNER):
        raise refused("BAD_SIGNATURE", f"the answer's signing certificate belongs to {owner or 'nobody'}, not UnionPay")
    public = cert.public_key()
    if not isinstance(public, RSAPublicKey) or not client.rsa_verify(public, sign_string(got), got["signature"]):
        raise refused("BAD_SIGNATURE", "the answer's signature does not verify with its UnionPay certificate")


def _file(got: dict[str, str], signed: bool, settings: dict[str, Any], day: date) -> tuple[bytes, str]:
    code, message = got.get("respCode", ""), got.get("respMsg", "")
    reason = f"file transfer: respCode {code or '?'} {message}".strip()
    if not signed:
        if code == "00":
            raise refused("BAD_SIGNATURE", "the file-transfer answer is not signed")
        raise failed(f"RESP_{code}" if code else "CHANNEL_ERROR", f"{reason} (unsigned)", transient=False)
    if code == "98":
        if client.before_deadline(settings, day):
            raise answer(Outcome.NOT_READY, "RESP_98", f"{reason}; not ready before the next day's deadline",
                         transient=True)
        raise answer(Outcome.NO_BILL, "RESP_98", f"UnionPay has no file for settlement day {day} ({message})")
    if code != "00":
        if code == "11":
            raise failed("SIGN_ERROR", f"{reason}: check cert_id and the signing key", transient=False)
        raise failed(f"RESP_{code}" if code else "CHANNEL_ERROR", reason, transient=code in TRANSIENT_CODES)
    try:
        packed = base64.b64decode(got.get("fileContent", ""), validate=True)
    except (binascii.Error, ValueError):
        raise refused("BAD_ANSWER", "fileContent is not Base64") from None
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, client.MAX_BYTES)
    except zlib.error:
        raise refused("BAD_ANSWER", "fileContent does not inflate (DEFLATE)") from None
    if inflater.unconsumed_tail:
        raise refused("TOO_LARGE", f"fileContent expands to more than {client.MAX_BYTES} bytes")
    name = got.get("fileName", "").replace("\\", "/").rsplit("/", 1)[-1]
    return data, name or f"unionpay_{settings.get('mer_id')}_{day:%Y%m%d}.zip"


TRANSPORT = UnionPay()
