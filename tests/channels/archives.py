"""Factories for hand-made archives: zips with GBK member names, symlinks, encrypted flags, bombs."""

from __future__ import annotations

import io
import stat
import zipfile


def make_zip(members: dict[str, bytes], *, gbk_names: bool = True) -> bytes:
    """A deflated zip; non-ASCII names are written as GBK bytes without the UTF-8 flag, as Alipay does."""
    buf = io.BytesIO()
    renames: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(members.items()):
            written = name
            if gbk_names and not name.isascii():
                raw = name.encode("gbk")
                # zipfile writes non-ASCII names as flagged UTF-8; write a same-length ASCII
                # placeholder and swap the real GBK bytes in afterwards (CRCs cover data, not names).
                written = f"~{index:03d}".ljust(len(raw), "~")
                renames.append((written.encode("ascii"), raw))
            archive.writestr(zipfile.ZipInfo(written, date_time=(2026, 11, 2, 9, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    data = buf.getvalue()
    for placeholder, raw in renames:
        data = data.replace(placeholder, raw)
    return data


def symlink_zip(name: str = "link", target: bytes = b"/etc/passwd") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buf.getvalue()


def encrypted_zip(name: str = "bill.csv") -> bytes:
    """A zip whose member claims traditional PKWARE encryption (flag bit 0)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"secret")
    data = bytearray(buf.getvalue())
    for header, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(header)
        data[at + flag_at] |= 0x01
    return bytes(data)


def bomb_zip(size: int, name: str = "bomb.txt") -> bytes:
    """One member of ``size`` zero bytes: a ratio of about 1000:1."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as stream:
            chunk = b"\0" * (1 << 20)
            left = size
            while left > 0:
                stream.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
    return buf.getvalue()
