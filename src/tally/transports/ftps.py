"""FTPS: FTP with explicit TLS (AUTH TLS), the certificate verified (tally.transports.ftp)."""

from __future__ import annotations

from tally.transports.ftp import FtpTransport

TRANSPORT = FtpTransport(tls=True)
