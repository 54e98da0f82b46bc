"""Zip and Base64(DEFLATE) unpacking: hostile archives are refused with their own codes."""

from __future__ import annotations

import base64
import io
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels.packaging import Limits, inflate, is_zip, looks_base64, member_name, unbase64, unzip
from tally.errors import InputRejected

from .archives import bomb_zip, encrypted_zip, make_zip, symlink_zip


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(InputRejected) as caught:
        call(*args, **kwargs)
    assert caught.value.where.file == kwargs.get("file", caught.value.where.file)
    return caught.value.code


def test_gbk_member_names_are_decoded_as_the_channel_wrote_them() -> None:
    data = make_zip({"2088_20190916_业务明细.csv": b"a", "2088_20190916_业务明细(汇总).csv": b"b"})
    assert [(m.name, m.data) for m in unzip(data)] == [("2088_20190916_业务明细.csv", b"a"),
                                                       ("2088_20190916_业务明细(汇总).csv", b"b")]


def test_utf8_flagged_names_stay_utf8() -> None:
    data = make_zip({"明细.csv": b"x"}, gbk_names=False)
    (info,) = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert info.flag_bits & 0x800
    assert member_name(info) == "明细.csv"
    assert unzip(data)[0].name == "明细.csv"


def test_directories_are_skipped_and_base_names_drop_folders() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("day/", b"")
        archive.writestr("day/INN15090588ZM_1", b"line\n")
    (member,) = unzip(buf.getvalue())
    assert (member.name, member.base_name) == ("day/INN15090588ZM_1", "INN15090588ZM_1")


@pytest.mark.parametrize("name", ["../evil.csv", "a/../../evil.csv", "/etc/cron.d/x", "\\windows\\x", "C:/x.csv",
                                  "..\\evil.csv"])
def test_member_names_leaving_the_archive_are_zip_slip(name: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"x")
    assert code_of(unzip, buf.getvalue(), file="bill.zip") == "ZIP_SLIP"


def test_symlink_members_are_refused() -> None:
    assert code_of(unzip, symlink_zip(), file="bill.zip") == "ZIP_SYMLINK"


def test_encrypted_members_are_refused() -> None:
    assert code_of(unzip, encrypted_zip(), file="bill.zip") == "ZIP_ENCRYPTED"


def test_a_member_larger_than_the_limit_is_a_bomb() -> None:
    data = bomb_zip(2 << 20)
    assert code_of(unzip, data, limits=Limits(member_bytes=1 << 20)) == "ZIP_BOMB"


def test_a_member_beyond_the_ratio_is_a_bomb_even_under_the_size_limit() -> None:
    data = bomb_zip(1 << 20)
    assert len(data) < 5000  # about 1000:1
    assert code_of(unzip, data, limits=Limits(ratio=100, ratio_floor_bytes=64 << 10)) == "ZIP_BOMB"
    assert unzip(data, limits=Limits(ratio=2000, ratio_floor_bytes=64 << 10))[0].data == b"\0" * (1 << 20)


def test_small_members_may_have_any_ratio() -> None:
    assert len(unzip(bomb_zip(100_000), limits=Limits(ratio=2))[0].data) == 100_000


def test_total_size_and_member_count_are_limited() -> None:
    data = make_zip({f"m{i}.txt": b"x" * 1000 for i in range(3)})
    assert code_of(unzip, data, limits=Limits(total_bytes=2500)) == "ZIP_BOMB"
    assert code_of(unzip, data, limits=Limits(members=2)) == "ZIP_BOMB"
    assert len(unzip(data, limits=Limits(total_bytes=3000, members=3))) == 3


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[: len(d) // 2],
        lambda d: b"PK\x03\x04" + b"\0" * 40,
        lambda d: d.replace(b"PK\x01\x02", b"PK\x09\x09"),
    ],
)
def test_damaged_zips_are_corrupt_zip(damage) -> None:
    data = make_zip({"a.txt": b"hello " * 100})
    assert code_of(unzip, damage(data), file="bill.zip") == "CORRUPT_ZIP"


def test_a_crc_error_is_corrupt_zip() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:  # stored, so one flipped byte is a CRC error
        archive.writestr("a.txt", b"hello world")
    data = buf.getvalue().replace(b"hello world", b"hello World")
    assert code_of(unzip, data) == "CORRUPT_ZIP"


def test_is_zip_sees_local_headers_and_empty_archives() -> None:
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    assert is_zip(make_zip({"a": b"b"}))
    assert is_zip(empty.getvalue())
    assert unzip(empty.getvalue()) == []
    assert not is_zip(b"S56 88022900")


def test_inflate_reads_zlib_wrapped_and_raw_deflate() -> None:
    text = b"S56 88022900 " * 500
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert inflate(zlib.compress(text)) == text
    assert inflate(raw.compress(text) + raw.flush()) == text


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (zlib.compress(b"x" * 5000)[:-6], "CORRUPT_PACKAGE"),
        (zlib.compress(b"x" * 5000) + b"garbage", "CORRUPT_PACKAGE"),
        (b"\x78\x9c\xff\xff\xff", "CORRUPT_PACKAGE"),
        (zlib.compress(b"\0" * 200_000), "ARCHIVE_TOO_LARGE"),
    ],
)
def test_bad_or_oversized_deflate_is_refused(data: bytes, code: str) -> None:
    assert code_of(inflate, data, file="answer.txt", limit=100_000) == code


def test_base64_text_is_recognised_and_decoded() -> None:
    payload = base64.encodebytes(zlib.compress(b"bill" * 100))  # with line breaks every 76 characters
    assert looks_base64(payload)
    assert inflate(unbase64(payload)) == b"bill" * 100
    assert not looks_base64(b"S56 88022900    00049993")  # a ZM line has spaces
    assert not looks_base64(b"abc")
    assert code_of(unbase64, b"QUJD=QUJD", file="x") == "CORRUPT_PACKAGE"


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=3000))
def test_any_bytes_unzip_or_fail_clearly(data: bytes) -> None:
    for candidate in (data, b"PK\x03\x04" + data):
        try:
            unzip(candidate, limits=Limits(total_bytes=1 << 20))
        except InputRejected as exc:
            assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=3000))
def test_any_bytes_inflate_or_fail_clearly(data: bytes) -> None:
    for candidate in (data, b"\x78\x9c" + data):
        try:
            inflate(candidate, limit=1 << 20)
        except InputRejected as exc:
            assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_zips_unzip_or_fail_clearly(draw) -> None:
    data = bytearray(make_zip({"明细.csv": b"row,1\n" * 50, "RD_1": b"total 50"}))
    for _ in range(draw.draw(st.integers(1, 8))):
        at = draw.draw(st.integers(0, len(data) - 1))
        data[at] = draw.draw(st.integers(0, 255))
    try:
        unzip(bytes(data), limits=Limits(total_bytes=1 << 20))
    except InputRejected as exc:
        assert exc.code.isupper()
