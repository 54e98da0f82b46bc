"""Real file servers on 127.0.0.1 for the transport tests, each started and stopped by its test.

- ``SftpServer``: asyncssh's SSH server with its SFTP subsystem, chrooted to a folder, a fresh
  ed25519 host key, password and/or public-key logins; it records every read (offset, size) and
  can drop the connection after a number of bytes, like a network cut in mid-download.
- ``FtpServer``: pyftpdlib, plain or with explicit TLS on a self-signed certificate made here by
  ``cryptography`` for 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer

USER = "merchant"
PASSWORD = "s3cret-sftp-password"


class SftpServer:
    def __init__(self, root: Path, *, password: str | None = PASSWORD,
                 client_key: asyncssh.SSHKey | None = None) -> None:
        self.root = root
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.password = password
        self.client_key = client_key
        self.reads: list[tuple[str, int, int]] = []
        self.drop_after_bytes: int | None = None  # cut the connection once this many bytes were served
        self.logins = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    @property
    def host_key_line(self) -> str:
        return self.host_key.export_public_key().decode().strip()

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def _run(self, awaitable: Awaitable[Any]) -> Any:
        async def wait() -> Any:
            return await awaitable
        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result(10)

    def __enter__(self) -> SftpServer:
        self.thread.start()
        server = self

        class Auth(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return server.password is not None

            def validate_password(self, username: str, password: str) -> bool:
                ok = username == USER and password == server.password
                server.logins += ok
                return ok

            def public_key_auth_supported(self) -> bool:
                return server.client_key is not None

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                assert server.client_key is not None
                ok = username == USER and key.public_data == server.client_key.public_data
                server.logins += ok
                return ok

        class Files(asyncssh.SFTPServer):
            served = 0

            def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
                super().__init__(chan, chroot=str(server.root).encode())

            def read(self, file_obj: object, offset: int, size: int) -> bytes:
                data = super().read(file_obj, offset, size)
                assert isinstance(data, bytes)
                server.reads.append((getattr(file_obj, "name", "?"), offset, len(data)))
                Files.served += len(data)
                if server.drop_after_bytes is not None and Files.served > server.drop_after_bytes:
                    server.drop_after_bytes = None
                    Files.served = 0
                    self.channel.get_connection().abort()
                return data

        self.acceptor = self._run(asyncssh.listen("127.0.0.1", 0, server_host_keys=[self.host_key],
                                                  server_factory=Auth, sftp_factory=Files,
                                                  allow_scp=False))
        self.port = self.acceptor.get_port()
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            self.acceptor.close()
            await self.acceptor.wait_closed()
        self._run(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate and key for ``host`` (an IP SAN), valid today: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tally test ftps")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class FtpServer:
    def __init__(self, root: Path, *, tls_files: tuple[Path, Path] | None = None) -> None:
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
        handler: type[FTPHandler]
        if tls_files:
            class Tls(TLS_FTPHandler):
                certfile = str(tls_files[0])
                keyfile = str(tls_files[1])
                tls_control_required = True
                tls_data_required = True
            handler = Tls
        else:
            class Plain(FTPHandler):
                pass
            handler = Plain
        handler.authorizer = authorizer
        handler.banner = "tally test ftp"
        self.retrievals: list[tuple[str, int]] = []
        server = self

        plain_retr = handler.ftp_RETR

        def ftp_retr(self: FTPHandler, file: str) -> Any:
            server.retrievals.append((Path(file).name, self._restart_position))
            return plain_retr(self, file)

        handler.ftp_RETR = ftp_retr  # type: ignore[method-assign]
        self.server = FTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.address[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            self.server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        self.server.close_all()

    def __enter__(self) -> FtpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
