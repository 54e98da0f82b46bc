"""Hardened, streaming XML for bank statements (camt.053, OFX 2): hostile input in, line-numbered events out.

The parser is defusedxml's SAX driver over expat with every DTD refused: a bank statement never
needs one, and a DOCTYPE is how entity expansion (billion laughs) and external entities (XXE)
get in, so any DOCTYPE, entity declaration or external reference is ``XML_ENTITIES`` before a
single entity is expanded or fetched. Size is capped (bytes, depth, text per element, nodes per
subtree): ``XML_TOO_LARGE``. Anything not well-formed is ``BAD_XML`` with expat's line.

Elements come out as :class:`Event` values in document order. The element names a caller asks
for (``trees``) arrive whole as one ``tree`` event (a small :class:`Node` tree: an entry, a
balance); every other element gives ``start`` and ``end`` events, so a statement of any length
is read with memory bounded by its largest subtree. Names are local names: namespaces differ by
message version (camt.053.001.02 … .13) and some banks write wrong ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Literal
from xml.sax import SAXParseException
from xml.sax.expatreader import ExpatLocator
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl, Locator

from defusedxml.common import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from tally.errors import InputRejected

MAX_BYTES = 256 * 1024**2
MAX_DEPTH = 64
MAX_TEXT_CHARS = 1024**2  # text of one element; the longest camt field is 500 characters
MAX_TREE_NODES = 100_000  # elements in one subtree (one statement entry with its details)
_CHUNK = 1 << 16
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(slots=True)
class Node:
    """One element: local name, the line its start tag is on, attributes, text, children."""

    name: str
    line: int
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Node] = field(default_factory=list)
    ns: str = ""

    def child(self, *path: str) -> Node | None:
        """The first descendant along ``path`` (local names), or None."""
        node: Node | None = self
        for name in path:
            node = next((c for c in node.children if c.name == name), None) if node else None
        return node

    def text_at(self, *path: str) -> str | None:
        """Stripped text of the element at ``path``; None when it is missing or empty."""
        node = self.child(*path)
        text = node.text.strip() if node is not None else ""
        return text or None

    def each(self, name: str) -> Iterator[Node]:
        return (c for c in self.children if c.name == name)


@dataclass(frozen=True, slots=True)
class Event:
    kind: Literal["start", "end", "tree"]
    path: tuple[str, ...]  # local names from the root down to this element, inclusive
    node: Node


class EventBuilder:
    """Turns start/text/end calls into :class:`Event` values; shared by XML and OFX's SGML reader."""

    def __init__(self, trees: Collection[str], *, file: str) -> None:
        self.trees = frozenset(trees)
        self.file = file
        self.events: list[Event] = []
        self._path: list[str] = []
        self._open: list[Node] = []
        self._text: list[list[str] | None] = []  # None once the element has children
        self._tree_depth = 0  # depth of the open tree's root in _open, 0 when outside any tree
        self._tree_nodes = 0

    @property
    def depth(self) -> int:
        return len(self._open)

    @property
    def open_names(self) -> tuple[str, ...]:
        return tuple(self._path)

    def start(self, name: str, line: int, attrs: dict[str, str] | None = None, ns: str = "") -> None:
        if len(self._open) >= MAX_DEPTH:
            raise InputRejected("XML_TOO_LARGE", f"elements are nested deeper than {MAX_DEPTH}",
                                file=self.file, line=line)
        node = Node(name, line, attrs or {}, ns=ns)
        if self._text:
            # The parent holds elements, so its own text is layout whitespace: never kept, or a
            # statement with a million entries would pile up megabytes of indentation.
            self._text[-1] = None
        self._path.append(name)
        if self._tree_depth:
            self._tree_nodes += 1
            if self._tree_nodes > MAX_TREE_NODES:
                raise InputRejected("XML_TOO_LARGE", f"<{self._open[self._tree_depth - 1].name}> holds more than "
                                    f"{MAX_TREE_NODES} elements", file=self.file, line=line)
            self._open[-1].children.append(node)
        elif name in self.trees:
            self._tree_depth = len(self._open) + 1
            self._tree_nodes = 1
        else:
            self.events.append(Event("start", tuple(self._path), node))
        self._open.append(node)
        self._text.append([])

    def text(self, content: str, line: int) -> None:
        if not self._open:
            if content.strip():
                raise InputRejected("BAD_XML", "text outside the root element", file=self.file, line=line)
            return
        parts = self._text[-1]
        if parts is None:
            return
        parts.append(content)
        if len(parts) > 64:  # join as we go so the length check stays cheap
            parts[:] = ["".join(parts)]
        if len(parts[0]) > MAX_TEXT_CHARS or sum(map(len, parts)) > MAX_TEXT_CHARS:
            raise InputRejected("XML_TOO_LARGE", f"<{self._open[-1].name}> holds more than {MAX_TEXT_CHARS} "
                                "characters of text", file=self.file, line=line)

    def end(self, name: str, line: int) -> None:
        if not self._open or self._open[-1].name != name:
            raise InputRejected("BAD_XML", f"</{name}> closes nothing open", file=self.file, line=line)
        node = self._open.pop()
        node.text = "".join(self._text.pop() or ())
        path = tuple(self._path)
        self._path.pop()
        if self._tree_depth and len(self._open) + 1 == self._tree_depth:
            self._tree_depth = 0
            self.events.append(Event("tree", path, node))
        elif not self._tree_depth:
            self.events.append(Event("end", path, node))

    def take(self) -> list[Event]:
        events, self.events = self.events, []
        return events


class _Handler(ContentHandler):
    def __init__(self, builder: EventBuilder) -> None:
        super().__init__()
        self.builder = builder
        self.locator: Locator | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def line(self) -> int:
        return (self.locator.getLineNumber() or 0) if self.locator is not None else 0

    def startElementNS(self, name: tuple[str | None, str], qname: str | None,
                       attrs: AttributesNSImpl) -> None:
        values = {key[1]: value for key, value in attrs.items()}
        self.builder.start(name[1], self.line(), values, name[0] or "")

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:
        self.builder.end(name[1], self.line())

    def characters(self, content: str) -> None:
        self.builder.text(content, self.line())


def iterparse(data: bytes, *, file: str, trees: Collection[str]) -> Iterator[Event]:
    """Events of a whole XML document, parsed in chunks; InputRejected on anything unsafe or broken."""
    if not data.strip():
        raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
    if len(data) > MAX_BYTES:
        raise InputRejected("XML_TOO_LARGE", f"the file is larger than {MAX_BYTES // 1024**2} MiB", file=file)
    builder = EventBuilder(trees, file=file)
    handler = _Handler(builder)
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(handler)
    handler.setDocumentLocator(ExpatLocator(parser))  # feed() alone never hands one over
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start:start + _CHUNK])
            yield from builder.take()
        parser.close()
    except DefusedXmlException as exc:
        raise InputRejected("XML_ENTITIES", f"the XML declares a DTD or entities ({type(exc).__name__}); "
                            "statements never need one and it is refused unread", file=file,
                            line=handler.line() or None,
                            hint="ask the bank for the file without a DOCTYPE") from None
    except SAXParseException as exc:
        raise InputRejected("BAD_XML", f"the XML is not well-formed: {exc.getMessage()}", file=file,
                            line=exc.getLineNumber(), hint="the file is damaged or truncated; fetch it again"
                            ) from None
    except (UnicodeError, LookupError) as exc:
        raise InputRejected("BAD_ENCODING", f"the XML cannot be decoded: {exc}", file=file) from None
    yield from builder.take()


def text_of(data: bytes, *, file: str) -> str:
    """The document as text in its declared encoding (UTF-8 by default), for the raw-line viewer."""
    encoding = "utf-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        declared = _DECLARED.match(data[:256])
        if declared:
            encoding = declared.group(1).decode("ascii")
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except (UnicodeError, LookupError):
        raise InputRejected("BAD_ENCODING", f"the XML is not valid {encoding} text", file=file,
                            hint="check the encoding in the file's XML declaration") from None
