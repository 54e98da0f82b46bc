"""Hardened XML: entity bombs and external entities refused unread, caps, line numbers, events."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import xmlsafe
from tally.channels.xmlsafe import iterparse, text_of
from tally.errors import InputRejected

BAD = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "camt053"


def events(data: bytes, trees: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...], int, str]]:
    return [(e.kind, e.path, e.node.line, e.node.text) for e in iterparse(data, file="s.xml", trees=trees)]


def rejected(data: bytes, trees: tuple[str, ...] = ()) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        events(data, trees)
    assert caught.value.where.file == "s.xml"
    return caught.value


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    error = rejected((BAD / "billion_laughs.xml").read_bytes())
    assert (error.code, error.where.line) == ("XML_ENTITIES", 2)


def test_external_entity_file_is_refused() -> None:
    error = rejected((BAD / "external_entity.xml").read_bytes())
    assert error.code == "XML_ENTITIES"
    assert "root:" not in str(error)


def test_external_entity_is_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    doc = (f'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY s SYSTEM "{secret.as_uri()}">]>\n<a>&s;</a>').encode()
    error = rejected(doc)
    assert error.code == "XML_ENTITIES"
    assert "TOP-SECRET-VALUE" not in str(error)


@pytest.mark.parametrize(
    "doc",
    [
        b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>',
        b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><a/>',
        b"<!DOCTYPE a><a/>",
        b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
    ],
    ids=["external-dtd", "parameter-entity", "bare-doctype", "internal-entity"],
)
def test_every_doctype_is_refused(doc: bytes) -> None:
    assert rejected(doc).code == "XML_ENTITIES"


def test_events_carry_local_names_lines_text_and_trees() -> None:
    doc = (b'<?xml version="1.0"?>\n<d:Doc xmlns:d="urn:x">\n  <d:Id>7</d:Id>\n'
           b'  <d:Ntry>\n    <d:Amt Ccy="EUR">1.00</d:Amt>\n  </d:Ntry>\n</d:Doc>\n')
    got = list(iterparse(doc, file="s.xml", trees=("Ntry",)))
    assert [(e.kind, e.path, e.node.line) for e in got] == [
        ("start", ("Doc",), 2), ("start", ("Doc", "Id"), 3), ("end", ("Doc", "Id"), 3),
        ("tree", ("Doc", "Ntry"), 4), ("end", ("Doc",), 2),
    ]
    tree = got[3].node
    assert tree.child("Amt") is not None
    assert (tree.text_at("Amt"), tree.child("Amt").attrs, tree.child("Amt").line) == ("1.00", {"Ccy": "EUR"}, 5)
    assert got[0].node.ns == "urn:x"
    assert tree.child("Nope", "Amt") is None
    assert tree.text_at("Nope") is None


def test_layout_whitespace_of_parents_is_not_kept() -> None:
    doc = b"<a>\n" + b"  <b>x</b>\n" * 1000 + b"</a>"
    assert events(doc)[-1] == ("end", ("a",), 1, "")


def test_cdata_and_character_references_are_text() -> None:
    assert events(b"<a><![CDATA[x < y]]>&#65;&amp;</a>")[-1][3] == "x < yA&"


@pytest.mark.parametrize(
    ("doc", "code", "line"),
    [
        (b"<a>\n<b>\n</a>", "BAD_XML", 3),
        (b"<a><b>x</b>", "BAD_XML", 1),
        (b"<a>&nope;</a>", "BAD_XML", 1),
        (b"not xml at all", "BAD_XML", 1),
        (b"<a/><b/>", "BAD_XML", 1),
        (b"   \n ", "EMPTY_FILE", None),
        (b'<?xml version="1.0" encoding="x-no-such"?><a/>', "BAD_ENCODING", None),
        (b'<?xml version="1.0" encoding="UTF-8"?><a>\xff</a>', "BAD_XML", 1),
    ],
)
def test_broken_documents_have_a_code_and_line(doc: bytes, code: str, line: int | None) -> None:
    error = rejected(doc)
    assert (error.code, error.where.line) == (code, line)


def test_nesting_deeper_than_the_cap_is_refused() -> None:
    depth = xmlsafe.MAX_DEPTH + 1
    doc = b"<a>" * depth + b"</a>" * depth
    assert rejected(doc).code == "XML_TOO_LARGE"


def test_caps_on_bytes_text_and_subtree_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xmlsafe, "MAX_BYTES", 100)
    assert rejected(b"<a>" + b" " * 200 + b"</a>").code == "XML_TOO_LARGE"
    monkeypatch.setattr(xmlsafe, "MAX_BYTES", 10**6)
    monkeypatch.setattr(xmlsafe, "MAX_TEXT_CHARS", 50)
    assert rejected(b"<a><b>" + b"x" * 60 + b"</b></a>").code == "XML_TOO_LARGE"
    monkeypatch.setattr(xmlsafe, "MAX_TREE_NODES", 3)
    error = rejected(b"<a><t><b/><b/><b/></t></a>", trees=("t",))
    assert (error.code, "<t>" in error.message) == ("XML_TOO_LARGE", True)


def test_large_documents_stream_in_chunks() -> None:
    body = b"".join(b"<n>%d</n>\n" % i for i in range(20_000))
    got = events(b"<a>\n" + body + b"</a>", trees=("n",))
    assert len(got) == 20_002
    assert got[-2] == ("tree", ("a", "n"), 20_001, "19999")


def test_text_of_uses_the_declared_encoding() -> None:
    doc = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<a>Müller</a>'.encode("latin-1")
    assert text_of(doc, file="s.xml").splitlines()[1] == "<a>Müller</a>"
    assert text_of("\ufeff<a/>".encode(), file="s.xml") == "<a/>"
    assert text_of("<a/>".encode("utf-16"), file="s.xml") == "<a/>"
    with pytest.raises(InputRejected) as caught:
        text_of(b"<a>\xff</a>", file="s.xml")
    assert caught.value.code == "BAD_ENCODING"


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=600))
def test_any_bytes_give_events_or_a_clear_error(data: bytes) -> None:
    try:
        events(data, ("b",))
    except InputRejected as exc:
        assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("<>/ab=\"' &;#x!-[]?DOCTYPEENTITY\n")), max_size=200))
def test_xml_like_text_gives_events_or_a_clear_error(text: str) -> None:
    try:
        events(text.encode(), ("b",))
    except InputRejected as exc:
        assert exc.code.isupper()
