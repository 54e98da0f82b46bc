"""A bill's bytes streamed as blocks of whole lines of UTF-8 text, failing as a whole read would.

Reading a file whole used to fail in a fixed order: damaged or oversized gzip first, then an
encoding that does not fit, then the rows. :func:`stream` keeps that order although it reads as
it goes: before a row error leaves, the rest of the stream is checked, and a stream error wins.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import GZIP_MAGIC, MAX_UNPACKED_BYTES
from tally.errors import InputRejected, TallyError

BLOCK_BYTES = 16 << 20  # text per block: large enough for pyarrow, small enough for memory
_READ_BYTES = 8 << 20
_GUNZIP_BYTES = 1 << 20


@dataclass(frozen=True)
class BillBytes:
    """A bill's bytes as received, in memory or in a file, readable as often as needed."""

    data: bytes | None = None
    path: Path | None = None

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open(self.path, "rb")

    def head(self, size: int = 64 << 10) -> bytes:
        with self.open() as handle:
            return handle.read(size)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        with self.open() as handle:
            return handle.read()

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.open() as handle:
            while chunk := handle.read(_READ_BYTES):
                digest.update(chunk)
        return digest.hexdigest()


@runtime_checkable
class StreamingChannel(Protocol):
    """A channel that reads a bill from a file without holding it whole (importing.import_path).

    Its ``extension`` must tell the file's extension from its first 64 KiB (BillBytes.head).
    """

    def parse_stream(self, raw: BillBytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]: ...


def unpacked(raw: BillBytes, file: str) -> Iterator[bytes]:
    """The bytes in chunks, decompressed on the fly when they are gzip (text.gunzip_if_needed's rules)."""
    with raw.open() as handle:
        if handle.read(2) != GZIP_MAGIC:
            handle.seek(0)
            while chunk := handle.read(_READ_BYTES):
                yield chunk
            return
        handle.seek(0)
        total = 0
        try:
            with gzip.GzipFile(fileobj=handle) as stream:
                while chunk := stream.read(_GUNZIP_BYTES):
                    total += len(chunk)
                    if total > MAX_UNPACKED_BYTES:
                        raise InputRejected("ARCHIVE_TOO_LARGE", "gzip content is larger than 4 GiB", file=file)
                    yield chunk
        except (OSError, EOFError, zlib.error) as exc:
            raise InputRejected("CORRUPT_GZIP", f"gzip data is damaged: {exc}", file=file,
                                hint="download the bill again") from exc


def line_blocks(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """Blocks of whole LF-ended lines of about ``size`` bytes (the last one may be shorter and
    lack its LF). A line longer than a block is held whole."""
    parts: list[bytes] = []
    held = 0
    for chunk in chunks:
        end = chunk.rfind(b"\n") + 1 if held + len(chunk) >= size else 0
        if not end:
            parts.append(chunk)
            held += len(chunk)
            continue
        parts.append(chunk[:end])
        yield b"".join(parts)
        parts = [chunk[end:]] if end < len(chunk) else []
        held = len(chunk) - end
    if held:
        yield b"".join(parts)


class _WrongGuess(Exception):
    """A later block is not in the encoding the first block chose."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


class TextBlocks:
    """A bill's text as blocks of whole lines, re-encoded as UTF-8 (a leading BOM dropped).

    The encoding is the first of ``encodings`` that decodes the first block, as text.decode picks
    the first that decodes the whole file; :func:`stream` settles the case where a later block
    disagrees. Encodings must keep LF a byte of its own (UTF-8, GB18030, Latin-1 … not UTF-16).
    """

    def __init__(self, raw: BillBytes, encodings: Sequence[str], *, file: str, block_bytes: int = BLOCK_BYTES,
                 encoding: str | None = None) -> None:
        for name in (*encodings, *([encoding] if encoding else [])):
            if "\n".encode(name) != b"\n":
                raise ValueError(f"{name} does not write LF as one byte; lines cannot be found in blocks")
        self.encodings = tuple(encodings)
        self.file = file
        self.encoding = encoding
        self._blocks = line_blocks(unpacked(raw, file), block_bytes)
        self._first = True

    def __iter__(self) -> Iterator[bytes]:
        for block in self._blocks:
            yield self._utf8(block)

    def _utf8(self, block: bytes) -> bytes:
        if self.encoding is None:
            for encoding in self.encodings:
                try:
                    text = _as_utf8(block, encoding)
                except UnicodeDecodeError:
                    continue
                self.encoding = encoding
                break
            else:
                raise bad_encoding(self.encodings, self.file)
        else:
            try:
                text = _as_utf8(block, self.encoding)
            except UnicodeDecodeError:
                raise _WrongGuess(self.encoding) from None
        if self._first:
            self._first = False
            text = text.removeprefix(b"\xef\xbb\xbf")
        return text

    def settle(self, error: TallyError) -> TallyError:
        """The error reading the file whole would have given: a damaged, oversized or wrongly
        encoded rest of the stream comes before ``error``. May raise _WrongGuess."""
        try:
            for block in self._blocks:
                if self.encoding is not None:
                    self._utf8(block)
        except TallyError as whole:
            return whole
        return error


def _as_utf8(block: bytes, encoding: str) -> bytes:
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):  # the BOM is dropped once, at the start
        if not block.isascii():
            block.decode("utf-8")  # validates; pyarrow checks only the columns it converts
        return block
    return block.decode(encoding).encode("utf-8")


def bad_encoding(encodings: Sequence[str], file: str) -> InputRejected:
    return InputRejected("BAD_ENCODING", f"the file is not valid {' or '.join(encodings)} text", file=file,
                         hint="check the source's `encoding` setting")


Parse = Callable[[TextBlocks], Iterator[pa.RecordBatch]]


def stream(raw: BillBytes, encodings: Sequence[str], parse: Parse, *, file: str,
           block_bytes: int = BLOCK_BYTES) -> Iterator[pa.RecordBatch]:
    """``parse`` over the bill's text blocks, failing as reading the file whole would have."""
    blocks = TextBlocks(raw, encodings, file=file, block_bytes=block_bytes)
    try:
        try:
            yield from parse(blocks)
        except TallyError as exc:
            settled = blocks.settle(exc)
            if settled is exc:
                raise
            raise settled from None
    except _WrongGuess as guess:
        raise _whole_file_error(raw, encodings, guess.encoding, parse, file, block_bytes) from None


def _whole_file_error(raw: BillBytes, encodings: Sequence[str], failed: str, parse: Parse, file: str,
                      block_bytes: int) -> TallyError:
    """The error of a bill whose start is in one encoding and whose rest is not."""
    for _ in unpacked(raw, file):  # a damaged stream is reported first, as before
        pass
    for encoding in encodings[list(encodings).index(failed) + 1:]:
        if not _decodes(raw, encoding, file, block_bytes):
            continue
        # The whole file is in this encoding: parse it again that way, keeping nothing, for its error.
        try:
            for _ in parse(TextBlocks(raw, encodings, file=file, block_bytes=block_bytes, encoding=encoding)):
                pass
        except TallyError as exc:
            return exc
        return InputRejected("BAD_ENCODING", f"the file starts as {failed} text but is {encoding} text as a whole",
                             file=file, hint="check the source's `encoding` setting")
    return bad_encoding(encodings, file)


def _decodes(raw: BillBytes, encoding: str, file: str, block_bytes: int) -> bool:
    try:
        for block in line_blocks(unpacked(raw, file), block_bytes):
            _as_utf8(block, encoding)
    except UnicodeDecodeError:
        return False
    return True


def lines_of(block: bytes) -> list[str]:
    """A block's lines as text.split_lines numbers them: split on LF only, a CR before it dropped."""
    lines = block.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
