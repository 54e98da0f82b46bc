"""Unpacking what channels wrap their bills in: zip archives and Base64(DEFLATE) payloads.

A bill arrives from outside, so its packaging is hostile until checked: member names that climb
out of a folder (zip slip), members that expand to gigabytes (zip bomb), symlinks, encrypted
members. Each is refused with its own stable code before a byte of content is used. Nothing is
ever written to disk: members are read in chunks into memory under explicit size limits.

Chinese channels write member names in GBK without the zip UTF-8 flag (Alipay, FORMATS.md §2.2);
:func:`member_name` decodes them the way the channel meant.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass

from tally.errors import InputRejected

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty zip
MAX_MEMBERS = 1_000
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_TOTAL_BYTES = 4 * 1024**3
# Bills are text and compress well (UnionPay's space-padded lines about 12:1), but deflate
# cannot honestly exceed ~1032:1; past this ratio on a member larger than RATIO_FLOOR_BYTES the
# member is treated as a bomb. Small members may have any ratio: they cannot hurt.
MAX_RATIO = 250
RATIO_FLOOR_BYTES = 16 * 1024**2
_CHUNK = 1 << 20
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_AES_METHOD = 99  # WinZip AES: how personal Alipay exports are locked
# What zipfile raises on damaged or exotic archives (unknown versions and methods included).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, zlib.error,
               NotImplementedError, RuntimeError, struct.error, IndexError, KeyError)
_BASE64 = re.compile(rb"[A-Za-z0-9+/=\r\n]+")  # line breaks allowed, spaces not: ZM lines have them


@dataclass(frozen=True)
class Limits:
    """How far an archive may expand; tests pass small ones."""

    members: int = MAX_MEMBERS
    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    ratio: int = MAX_RATIO
    ratio_floor_bytes: int = RATIO_FLOOR_BYTES


@dataclass(frozen=True)
class Member:
    """One file of an archive: its decoded name and its content."""

    name: str
    data: bytes

    @property
    def base_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def is_zip(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as the channel wrote it: UTF-8 when flagged, else GBK (cp437 as fallback).

    zipfile decodes unflagged names as cp437; encoding back gives the raw bytes.
    """
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return info.filename


def unzip(data: bytes, *, file: str = "", limits: Limits | None = None) -> list[Member]:
    """Every file member of a zip, checked and read under ``limits``; directories are skipped."""
    limits = limits or Limits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise _corrupt(file, exc) from None
    with archive:
        # Not ZipInfo.is_dir(): it indexes the name, and a damaged entry may have none.
        infos = [info for info in archive.infolist() if not info.filename.endswith("/")]
        if len(infos) > limits.members:
            raise InputRejected("ZIP_BOMB", f"the zip holds {len(infos)} files, more than {limits.members}",
                                file=file, hint="this is not a bill archive")
        for info in infos:
            _check_member(info, file, limits)
        members: list[Member] = []
        total = 0
        for info in infos:
            content = _read_member(archive, info, file, limits, total)
            total += len(content)
            members.append(Member(member_name(info), content))
    return members


def _check_member(info: zipfile.ZipInfo, file: str, limits: Limits) -> None:
    name = member_name(info)
    if not name:
        raise InputRejected("CORRUPT_ZIP", "a zip member has no name", file=file,
                            hint="the archive is damaged; download it again")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
        raise InputRejected("ZIP_SLIP", f"the zip member {name!r} points outside the archive", file=file,
                            hint="the archive is malicious or damaged; do not unpack it by hand")
    if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
        raise InputRejected("ZIP_SYMLINK", f"the zip member {name!r} is a symbolic link", file=file,
                            hint="a bill archive holds plain files only")
    if info.flag_bits & _ENCRYPTED_FLAG or info.compress_type == _AES_METHOD:
        raise InputRejected("ZIP_ENCRYPTED", f"the zip member {name!r} is encrypted", file=file,
                            hint="upload the channel's merchant bill as downloaded; personal exports "
                                 "with a password are a different product")
    if info.file_size > limits.member_bytes:
        raise InputRejected("ZIP_BOMB", f"the zip member {name!r} says it unpacks to {info.file_size} bytes",
                            file=file, hint="this is not a bill archive")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, limits: Limits,
                 total_before: int) -> bytes:
    # Sizes in the headers can lie, so the limits are enforced on the bytes actually produced.
    name = member_name(info)
    out = io.BytesIO()
    ratio_cap = max(limits.ratio_floor_bytes, limits.ratio * max(info.compress_size, 1))
    cap = min(limits.member_bytes, ratio_cap, limits.total_bytes - total_before)
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
                if out.tell() > cap:
                    raise InputRejected("ZIP_BOMB", f"the zip member {name!r} unpacks to more than {cap} bytes",
                                        file=file, hint="this is not a bill archive")
    except InputRejected:
        raise
    except _ZIP_ERRORS as exc:
        raise _corrupt(file, exc) from None
    return out.getvalue()


def _corrupt(file: str, exc: BaseException) -> InputRejected:
    return InputRejected("CORRUPT_ZIP", f"the zip archive is damaged: {exc}", file=file,
                         hint="download the bill again; save it as bytes, not as text")


def looks_base64(data: bytes) -> bool:
    """True when the bytes are Base64 text (line breaks allowed) long enough to carry a bill."""
    stripped = data.strip()
    return len(stripped) >= 16 and _BASE64.fullmatch(stripped) is not None


def unbase64(data: bytes, *, file: str = "") -> bytes:
    compact = b"".join(data.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputRejected("CORRUPT_PACKAGE", f"the Base64 text is damaged: {exc}", file=file,
                            hint="copy the whole fileContent value of the channel's answer") from None


def inflate(data: bytes, *, file: str = "", limit: int = MAX_TOTAL_BYTES) -> bytes:
    """DEFLATE data unpacked, with or without the 2-byte zlib header, refusing to grow past ``limit``.

    UnionPay's SDK compresses with java.util.zip.Deflater (zlib header); raw streams are accepted
    too because some re-implementations drop the header.
    """
    wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    out = io.BytesIO()
    pending = data
    try:
        while pending:
            out.write(inflater.decompress(pending, _CHUNK))
            if out.tell() > limit:
                raise InputRejected("ARCHIVE_TOO_LARGE", f"the packaged bill unpacks to more than {limit} bytes",
                                    file=file, hint="this is not a bill")
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        out.write(inflater.flush())
    except zlib.error as exc:
        raise InputRejected("CORRUPT_PACKAGE", f"the compressed data is damaged: {exc}", file=file,
                            hint="fetch the bill again") from None
    if not inflater.eof:
        raise InputRejected("CORRUPT_PACKAGE", "the compressed data ends before its end marker", file=file,
                            hint="the bill was cut off; fetch it again")
    if inflater.unused_data.strip():
        raise InputRejected("CORRUPT_PACKAGE", "there are bytes after the end of the compressed data",
                            file=file, hint="fetch the bill again")
    return out.getvalue()
