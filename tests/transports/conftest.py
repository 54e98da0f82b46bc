"""Keys for the merchant and the channels, written where a declaration would name them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.transports.fakes.keys import private_pem, public_pem, rsa_key, write


@dataclass(frozen=True)
class KeyFiles:
    merchant_private: str  # the merchant's private key (a secret file)
    merchant_private_pem: str
    channel_public: str  # the channel's public key, to verify its answers


@pytest.fixture
def key_files(tmp_path: Path) -> KeyFiles:
    merchant, channel = rsa_key("merchant"), rsa_key("channel")
    pem = private_pem(merchant)
    return KeyFiles(write(tmp_path / "keys" / "merchant_key.pem", pem), pem,
                    write(tmp_path / "keys" / "channel_pub.pem", public_pem(channel)))
