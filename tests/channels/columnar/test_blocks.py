"""Block streaming: whole lines, the same bytes from memory or a file, gzip damage reported."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import columnar
from tally.channels.text import gunzip_if_needed
from tally.errors import InputRejected


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 64))
def test_blocks_are_whole_lines_that_add_up_to_the_text(data: bytes, size: int) -> None:
    chunks = [data[i:i + 7] for i in range(0, len(data), 7)]
    blocks = list(columnar.line_blocks(iter(chunks), size))
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks[:-1])
    assert all(block for block in blocks)


def test_bill_bytes_read_alike_from_memory_and_file(tmp_path: Path) -> None:
    data = gzip.compress(b"x" * 3_000_000 + b"\n")
    path = tmp_path / "b.gz"
    path.write_bytes(data)
    for raw in (columnar.BillBytes(data=data), columnar.BillBytes(path=path)):
        assert b"".join(columnar.unpacked(raw, "b.gz")) == gunzip_if_needed(data)
        assert (raw.size, raw.head(2), raw.read()) == (len(data), b"\x1f\x8b", data)
    assert columnar.BillBytes(path=path).sha256() == columnar.BillBytes(data=data).sha256()


def test_a_damaged_gzip_is_corrupt_gzip_when_read_as_a_stream() -> None:
    data = gzip.compress(b"a,b\n" * 1000)
    with pytest.raises(InputRejected) as caught:
        list(columnar.unpacked(columnar.BillBytes(data=data[:-20]), "b.gz"))
    assert (caught.value.code, caught.value.where.file) == ("CORRUPT_GZIP", "b.gz")
