"""RSA keys and certificates made in the test: the merchant's, the channel's, a UnionPay CA chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@cache
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    """One key per label per test session (generating 2048-bit keys is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def certificate(subject_cn: str, key: rsa.RSAPrivateKey, issuer_cn: str, issuer_key: rsa.RSAPrivateKey, *,
                ca: bool, serial: int, valid_days: int = 365) -> x509.Certificate:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class UnionPayPki:
    """A root CA, a middle CA and the signing certificate UnionPay sends as signPubKeyCert."""

    root: x509.Certificate
    middle: x509.Certificate
    signer: x509.Certificate
    signer_key: rsa.RSAPrivateKey


@cache
def unionpay_pki(cn_owner: str = "中国银联股份有限公司") -> UnionPayPki:
    root_key, middle_key, signer_key = rsa_key("up-root"), rsa_key("up-middle"), rsa_key("up-signer")
    root = certificate("CFCA TEST CS CA", root_key, "CFCA TEST CS CA", root_key, ca=True, serial=1)
    middle = certificate("CFCA TEST OCA1", middle_key, "CFCA TEST CS CA", root_key, ca=True, serial=2)
    signer = certificate(f"041@Z2026-11-1@{cn_owner}@00000001", signer_key, "CFCA TEST OCA1", middle_key,
                         ca=False, serial=0x12345678)
    return UnionPayPki(root, middle, signer, signer_key)
