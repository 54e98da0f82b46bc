"""FTP and FTPS (explicit TLS) for the banks that still use them, through ftplib.

Settings: ``host``, ``port`` (21), ``username``, ``password_env`` / ``password_file``,
``remote_dir``, ``pattern``, ``done_dir``, ``timeout_s`` (30); FTPS adds ``ca_file`` (a PEM
bundle to trust instead of the system store). The server's certificate is always verified,
host name included; a certificate that does not verify is REFUSED, like a wrong SSH host key.
Plain FTP sends the password in clear text, so it is accepted for loopback hosts only unless
the declaration says ``cleartext = true``.
"""

from __future__ import annotations

import ftplib
import posixpath
import ssl
from calendar import timegm
from datetime import date
from time import strptime
from typing import Any, BinaryIO

from tally.errors import ConfigError
from tally.transports.base import Fetched, Outcome, secret
from tally.transports.client import is_loopback
from tally.transports.remote import CHUNK_BYTES, RemoteFile, Truncated, collect, required, retrying


class _Session:
    def __init__(self, ftp: ftplib.FTP) -> None:
        self.ftp = ftp

    def files(self, folder: str) -> list[RemoteFile]:
        try:
            entries = list(self.ftp.mlsd(folder, facts=["type", "size", "modify"]))
        except ftplib.error_perm as exc:
            if not str(exc).startswith(("500", "502", "504")):
                raise
            return self._list_without_mlsd(folder)
        return [RemoteFile(posixpath.join(folder, name), int(facts.get("size", 0)), _mtime(facts.get("modify", "")))
                for name, facts in entries if facts.get("type") == "file"]

    def _list_without_mlsd(self, folder: str) -> list[RemoteFile]:
        self.ftp.voidcmd("TYPE I")  # SIZE is defined for binary transfers
        found = []
        for name in self.ftp.nlst(folder):
            path = name if name.startswith("/") else posixpath.join(folder, posixpath.basename(name))
            try:
                size = self.ftp.size(path)
            except ftplib.error_perm:
                continue  # a folder
            modified = self.ftp.voidcmd(f"MDTM {path}").split()[-1]
            found.append(RemoteFile(path, int(size or 0), _mtime(modified)))
        return found

    def read(self, remote: RemoteFile, offset: int, out: BinaryIO) -> None:
        def write(chunk: bytes) -> None:
            out.write(chunk)
            out.flush()

        self.ftp.retrbinary(f"RETR {remote.path}", write, blocksize=CHUNK_BYTES, rest=offset or None)

    def move(self, remote: RemoteFile, folder: str) -> None:
        target = posixpath.join(folder, remote.name)
        try:
            self.ftp.rename(remote.path, target)
        except ftplib.error_perm:
            self.ftp.delete(target)  # an older copy of the same name is in the way
            self.ftp.rename(remote.path, target)


class FtpTransport:
    def __init__(self, *, tls: bool) -> None:
        self.tls = tls
        self.name = "ftps" if tls else "ftp"

    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        return retrying(lambda: self._fetch(source, settings, day), settings)

    def _fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        try:
            ftp = self.connect(settings)
        except (OSError, EOFError, ftplib.Error) as exc:
            return [self._failure(exc, settings)]
        try:
            return collect(_Session(ftp), source, settings, day)
        except (OSError, EOFError, ftplib.Error, Truncated) as exc:
            return [self._failure(exc, settings)]
        finally:
            try:
                ftp.quit()
            except (OSError, EOFError, ftplib.Error):
                ftp.close()

    def connect(self, settings: dict[str, Any]) -> ftplib.FTP:
        host = required(settings, "host")
        if not self.tls and not is_loopback(host) and settings.get("cleartext") is not True:
            raise ConfigError("CLEARTEXT_FTP", f"plain FTP to {host} would send the password in clear text",
                              field="fetch.transport",
                              hint="use transport = \"ftps\", or set cleartext = true to accept the risk")
        password = secret(settings, "password") or ""
        timeout_s = float(settings.get("timeout_s", 30))
        if self.tls:
            context = ssl.create_default_context(cafile=settings.get("ca_file") or None)
            ftp: ftplib.FTP = ftplib.FTP_TLS(context=context, timeout=timeout_s)  # noqa: S321 (TLS, verified)
        else:
            ftp = ftplib.FTP(timeout=timeout_s)  # noqa: S321 (loopback, or cleartext accepted above)
        ftp.connect(host, int(settings.get("port", 21)))
        try:
            # FTP_TLS.login sends AUTH TLS first (explicit TLS), so the password only travels encrypted.
            ftp.login(required(settings, "username"), password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()  # the data connections too
            ftp.set_pasv(True)
        except BaseException:
            ftp.close()
            raise
        return ftp

    def _failure(self, exc: BaseException, settings: dict[str, Any]) -> Fetched:
        where = f"{settings.get('host')}:{settings.get('port', 21)}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return Fetched(Outcome.REFUSED, reason=f"{where}: the server's certificate does not verify "
                           f"({exc.verify_message})", details={"code": "CERT_INVALID"})
        if isinstance(exc, ftplib.error_perm):
            text = str(exc)
            code = "AUTH_FAILED" if text.startswith("530") else "REMOTE_NOT_FOUND" if text.startswith("550") \
                else "REMOTE_DENIED"
            return Fetched(Outcome.FAILED, reason=f"{where}: {text}", details={"code": code})
        text = str(exc) or type(exc).__name__
        return Fetched(Outcome.FAILED, reason=f"{where}: {text}", transient=True, details={"code": "NETWORK"})


def _mtime(text: str) -> int:
    """Seconds since the epoch from an FTP time stamp (``YYYYMMDDHHMMSS[.sss]``, UTC)."""
    try:
        return timegm(strptime(text[:14], "%Y%m%d%H%M%S"))
    except ValueError:
        return 0


TRANSPORT = FtpTransport(tls=False)
