"""SFTP (PayPal's report server, banks' statement servers) through asyncssh.

Settings (docs/channels/fetching.md): ``host``, ``port`` (22), ``username``, ``password_env`` /
``password_file`` or ``private_key_file`` (+ ``passphrase_env`` / ``passphrase_file``),
``host_key`` (required: an OpenSSH public key line ``ssh-ed25519 AAAA…`` or its
``SHA256:…`` fingerprint), ``remote_dir``, ``pattern`` (``STL-{yyyymmdd}.*.CSV``), ``done_dir``,
``timeout_s`` (30).

A host key that is not the pinned one is REFUSED (exit 2): the server is not who it claims to be,
and nothing is downloaded. Wrong credentials fail for good; a network problem is transient.
asyncssh is asynchronous: one event loop in a helper thread serves the synchronous ``Session``
that tally.transports.remote drives, so it works from any caller (CLI, worker, a web request).
"""

from __future__ import annotations

import asyncio
import posixpath
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, BinaryIO, TypeVar, cast

import asyncssh

from tally.errors import ConfigError
from tally.transports.base import Fetched, Outcome, secret
from tally.transports.remote import CHUNK_BYTES, RemoteFile, Truncated, collect, required, retrying

T = TypeVar("T")
KEY_TYPES = ("ssh-", "ecdsa-", "sk-")


class HostKeyMismatch(ValueError):
    """Raised inside asyncssh's host key check, which reports it as HostKeyNotVerifiable."""


def host_key_pin(text: str) -> tuple[str, asyncssh.SSHKey | None]:
    """``(fingerprint, key)`` from a ``host_key`` setting; the key is None for a fingerprint pin."""
    text = text.strip()
    if text.startswith("SHA256:"):
        return text, None
    tokens = text.split()
    # A known_hosts line starts with the host name; the key starts at its type.
    start = next((i for i, t in enumerate(tokens) if t.startswith(KEY_TYPES)), None)
    try:
        if start is None:
            raise ValueError(text)
        key = asyncssh.import_public_key(" ".join(tokens[start:start + 2]))
    except (ValueError, asyncssh.KeyImportError):
        raise ConfigError("BAD_HOST_KEY", "fetch.host_key is neither an OpenSSH public key line nor a SHA256: "
                          "fingerprint", field="fetch.host_key",
                          hint="copy it from `ssh-keyscan HOST` (or its fingerprint from `ssh-keygen -lf`)") from None
    return key.get_fingerprint("sha256"), key


class _Loop:
    """An asyncio loop in a thread of its own, for synchronous callers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="tally-sftp", daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        async def wait() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class _Session:
    def __init__(self, loop: _Loop, sftp: asyncssh.SFTPClient, timeout_s: float) -> None:
        self.loop, self.sftp, self.timeout_s = loop, sftp, timeout_s

    def _run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run(asyncio.wait_for(awaitable, self.timeout_s))

    def files(self, folder: str) -> list[RemoteFile]:
        names = self._run(self.sftp.readdir(folder))
        return [RemoteFile(posixpath.join(folder, str(n.filename)), int(n.attrs.size or 0), int(n.attrs.mtime or 0))
                for n in names if n.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR]

    def read(self, remote: RemoteFile, offset: int, out: BinaryIO) -> None:
        handle: asyncssh.SFTPClientFile = self._run(self.sftp.open(remote.path, "rb"))
        try:
            while offset < remote.size:
                chunk = cast(bytes, self._run(handle.read(CHUNK_BYTES, offset)))  # "rb": bytes
                if not chunk:
                    break
                out.write(chunk)
                out.flush()
                offset += len(chunk)
        finally:
            self._run(handle.close())

    def move(self, remote: RemoteFile, folder: str) -> None:
        target = posixpath.join(folder, remote.name)
        try:
            self._run(self.sftp.posix_rename(remote.path, target))
        except asyncssh.SFTPOpUnsupported:
            self._run(self.sftp.rename(remote.path, target))


class SftpTransport:
    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        return retrying(lambda: self._fetch(source, settings, day), settings)

    def _fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        with self.session(settings) as session:
            if isinstance(session, Fetched):
                return [session]
            try:
                return collect(session, source, settings, day)
            except (OSError, asyncssh.Error, TimeoutError, Truncated) as exc:
                return [_failure(exc, settings)]

    @contextmanager
    def session(self, settings: dict[str, Any]) -> Iterator[_Session | Fetched]:
        """An open SFTP session, or the Fetched that says why there is none."""
        fingerprint, pinned = host_key_pin(required(settings, "host_key"))
        password = secret(settings, "password", required=False)
        key_text = secret(settings, "private_key", required=False)
        if password is None and key_text is None:
            raise ConfigError("MISSING_SECRET", "sftp needs private_key_file (or _env) or password_env (or _file)",
                              field="fetch.private_key_file")
        options: dict[str, Any] = {
            "port": int(settings.get("port", 22)), "username": required(settings, "username"),
            "known_hosts": ([], [], []), "client_factory": _pinned_client(fingerprint),
            "connect_timeout": float(settings.get("timeout_s", 30)),
            # Only what is configured: no agent, no ~/.ssh keys or config, no keyboard prompts.
            "agent_path": None, "config": None, "kbdint_auth": False, "gss_auth": False,
            "password": password,
            "client_keys": None if key_text is None else [
                _private_key(key_text, secret(settings, "passphrase", required=False))],
        }
        if pinned is not None:
            options["server_host_key_algs"] = [alg.decode() for alg in pinned.sig_algorithms]
        timeout_s = float(settings.get("timeout_s", 30))
        loop = _Loop()
        try:
            try:
                conn: asyncssh.SSHClientConnection = loop.run(asyncssh.connect(required(settings, "host"), **options))
                sftp = loop.run(asyncio.wait_for(conn.start_sftp_client(), timeout_s))
            except (OSError, asyncssh.Error, TimeoutError) as exc:
                yield _failure(exc, settings)
                return
            try:
                yield _Session(loop, sftp, timeout_s)
            finally:
                sftp.exit()
                conn.close()
                loop.run(conn.wait_closed())
        finally:
            loop.close()


def _pinned_client(fingerprint: str) -> Any:
    class PinnedClient(asyncssh.SSHClient):
        def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
            if key.get_fingerprint("sha256") != fingerprint:
                raise HostKeyMismatch(f"{host}:{port} presented host key {key.get_fingerprint('sha256')}, "
                                      f"not the pinned {fingerprint}")
            return True

    return PinnedClient


def _private_key(text: str, passphrase: str | None) -> asyncssh.SSHKey:
    try:
        return asyncssh.import_private_key(text, passphrase)
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
        # The message names the problem (format, passphrase), never the key.
        raise ConfigError("BAD_PRIVATE_KEY", f"the private key does not load: {exc}", field="fetch.private_key_file",
                          hint="an OpenSSH or PEM private key; set passphrase_env if it is encrypted") from None


def _failure(exc: BaseException, settings: dict[str, Any]) -> Fetched:
    where = f"{settings.get('host')}:{settings.get('port', 22)}"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return Fetched(Outcome.REFUSED, reason=f"host key mismatch: {exc.reason}",
                       details={"code": "HOST_KEY_MISMATCH"})
    if isinstance(exc, asyncssh.PermissionDenied):
        return Fetched(Outcome.FAILED, reason=f"{where} refused the login of {settings.get('username')}",
                       details={"code": "AUTH_FAILED"})
    if isinstance(exc, asyncssh.SFTPNoSuchFile):
        return Fetched(Outcome.FAILED, reason=f"{where}: no such file or folder ({exc.reason})",
                       details={"code": "REMOTE_NOT_FOUND"})
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return Fetched(Outcome.FAILED, reason=f"{where}: permission denied ({exc.reason})",
                       details={"code": "REMOTE_DENIED"})
    text = str(exc) or type(exc).__name__
    return Fetched(Outcome.FAILED, reason=f"{where}: {text}", transient=True, details={"code": "NETWORK"})


TRANSPORT = SftpTransport()
