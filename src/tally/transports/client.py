"""What every channel API transport shares: the HTTP client, keys, and how failures read.

- Base URLs are settings so tests and sandboxes can point at local servers, but plain ``http://``
  is accepted for loopback hosts only: a bill and the credentials that fetch it never cross a
  network in clear text.
- Every request has timeouts; transient network errors (connect, read timeouts, dropped
  connections) are retried a couple of times inside the call, nothing else is.
- Reasons and details name the host and path, never a query string (download URLs carry tokens)
  nor a secret; httpx's own request log line is stripped of query strings for the same reason.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import secrets
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from tally.errors import ConfigError
from tally.transports.base import Fetched, Outcome, secret

DEFAULT_TIMEOUT_S = 30.0
RETRIES = 2  # after the first try, on transient network errors only
MAX_BYTES = 1024**3  # a bill larger than this is refused rather than filling memory
USER_AGENT = "tally-fetch/0.1"


class Stop(Exception):
    """Ends a transport's fetch early with its answer (a failure, a refusal, no bill …)."""

    def __init__(self, fetched: Fetched) -> None:
        super().__init__(fetched.reason)
        self.fetched = fetched


def failed(code: str, reason: str, *, transient: bool) -> Stop:
    return Stop(Fetched(Outcome.FAILED, reason=reason, transient=transient, details={"code": code}))


def refused(code: str, reason: str) -> Stop:
    return Stop(Fetched(Outcome.REFUSED, reason=reason, details={"code": code}))


def answer(outcome: Outcome, code: str, reason: str, *, transient: bool = False) -> Stop:
    return Stop(Fetched(outcome, reason=reason, transient=transient, details={"code": code}))


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """The URL itself when it may be used: https, or http to a loopback host (tests, local sandboxes)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError("BAD_URL", f"{shown(url)} is not an http(s) URL", hint="e.g. https://api.mch.weixin.qq.com")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError("INSECURE_URL", f"plain http to {parts.hostname} is refused: bills and credentials "
                          "would cross the network in clear text",
                          hint="use https://; plain http is accepted for 127.0.0.1, ::1 and localhost only")
    return url


def shown(url: str) -> str:
    """A URL as it may appear in a reason or a log: scheme, host and path, never the query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


def nonce() -> str:
    return secrets.token_hex(16).upper()


def timeout(settings: dict[str, Any]) -> float:
    value = settings.get("timeout_s", DEFAULT_TIMEOUT_S)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError("BAD_SOURCE", f"fetch.timeout_s must be a positive number of seconds, not {value!r}")
    return float(value)


@contextmanager
def session(settings: dict[str, Any]) -> Iterator[httpx.Client]:
    # No redirects: a signed request answered by a redirect elsewhere is not followed blindly.
    with httpx.Client(timeout=httpx.Timeout(timeout(settings)), follow_redirects=False,
                      headers={"User-Agent": USER_AGENT}) as client:
        yield client


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes


def send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Reply:
    """One request with quick retries on transient network errors; the body is read in full
    (up to MAX_BYTES). Raises Stop(FAILED, transient) when the network keeps failing."""
    check_base_url(url)
    for attempt in range(RETRIES + 1):
        try:
            with client.stream(method, url, **kwargs) as response:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise refused("TOO_LARGE", f"{shown(url)} sent more than {MAX_BYTES} bytes")
                    chunks.append(chunk)
                return Reply(response.status_code, response.headers, b"".join(chunks))
        except httpx.TransportError as exc:
            if attempt == RETRIES:
                what = ("timed out" if isinstance(exc, httpx.TimeoutException)
                        else f"network error ({type(exc).__name__})")
                raise failed("NETWORK", f"{method} {shown(url)} {what} after {RETRIES + 1} tries",
                             transient=True) from None
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def server_failure(reply: Reply, what: str) -> Stop | None:
    """The common answers no channel-specific code changes: a server error is transient."""
    if reply.status >= 500:
        return failed("SERVER_ERROR", f"{what}: the channel answered HTTP {reply.status}", transient=True)
    if reply.status == 429:
        return failed("RATE_LIMITED", f"{what}: the channel answered HTTP 429 (too many requests)", transient=True)
    return None


def private_key(settings: dict[str, Any], name: str = "private_key") -> RSAPrivateKey:
    """An RSA private key from ``NAME_file`` / ``NAME_env`` (PEM, PKCS#1 or PKCS#8, unencrypted)."""
    text = secret(settings, name)
    try:
        key = serialization.load_pem_private_key(str(text).encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError("BAD_SECRET", f"{name} is not an unencrypted PEM private key",
                          hint="PEM text starting with -----BEGIN PRIVATE KEY----- or "
                               "-----BEGIN RSA PRIVATE KEY-----") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError("BAD_SECRET", f"{name} is not an RSA key")
    return key


def public_key(settings: dict[str, Any], name: str) -> RSAPublicKey:
    """An RSA public key from the file ``settings[name]``: a PEM public key, or a certificate."""
    path = settings.get(name)
    if not path:
        raise ConfigError("BAD_SOURCE", f"fetch.{name} is not set")
    try:
        data = Path(str(path)).read_bytes()
    except OSError as exc:
        raise ConfigError("BAD_SOURCE", f"cannot read fetch.{name} {path}: {exc.strerror}") from None
    return load_public_key(data, name)


def load_public_key(data: bytes, what: str) -> RSAPublicKey:
    from cryptography import x509

    key: Any
    try:
        if b"CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        elif data.lstrip().startswith(b"-----"):
            key = serialization.load_pem_public_key(data)
        else:  # the bare Base64 body channels' consoles show (Alipay's 支付宝公钥)
            key = serialization.load_der_public_key(_b64(data))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError("BAD_SOURCE", f"{what} is not an RSA public key or certificate (PEM)") from None
    if not isinstance(key, RSAPublicKey):
        raise ConfigError("BAD_SOURCE", f"{what} is not an RSA key")
    return key


def _b64(data: bytes) -> bytes:
    return base64.b64decode(b"".join(data.split()), validate=True)


class _NoQueries(logging.Filter):
    """httpx logs every request with its full URL; keep the path, drop the query (tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(shown(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


logging.getLogger("httpx").addFilter(_NoQueries())


def gunzip(data: bytes) -> bytes:
    """A gzip body decompressed, at most MAX_BYTES of it (a gzip bomb is refused, not unpacked)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_BYTES)
    except zlib.error:
        raise refused("BAD_GZIP", "the downloaded bill is a damaged gzip file") from None
    if inflater.unconsumed_tail:
        raise refused("TOO_LARGE", f"the downloaded bill expands to more than {MAX_BYTES} bytes")
    if not inflater.eof:
        raise refused("BAD_GZIP", "the downloaded bill is a truncated gzip file")
    return out


def rsa_sign(key: RSAPrivateKey, message: bytes) -> str:
    """Base64 of RSA-SHA256 (PKCS#1 v1.5): what WeChat Pay v3, Alipay RSA2 and UnionPay 5.1 use."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def rsa_verify(key: RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def before_deadline(settings: dict[str, Any], day: date, default: str = "12:00") -> bool:
    """Whether it is still before ``deadline`` (HH:MM in the source's timezone) of the day after ``day``.

    Some channels answer "no such file" both while the bill is being made and when there will
    never be one (UnionPay's respCode 98, Alipay's isp.bill_not_exist). Until the deadline that
    answer means not ready; after it, no bill.
    """
    zone = ZoneInfo(str(settings.get("timezone") or "Asia/Shanghai"))
    hours, minutes = (int(part) for part in str(settings.get("deadline") or default).split(":"))
    cutoff = datetime.combine(day + timedelta(days=1), dt_time(hours, minutes), tzinfo=zone)
    return datetime.now(zone) < cutoff
