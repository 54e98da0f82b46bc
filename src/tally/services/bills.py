"""Looking at bills: the raw line a record came from."""

from __future__ import annotations

from tally import channels
from tally.channels import ParseContext
from tally.ingest.models import Bill
from tally.services.importing import context
from tally.services.workspace import archive


def raw_line(sha256: str, line_no: int) -> str | None:
    """The text of line ``line_no`` of the archived bill with this hash, or None if unknown."""
    bill = (Bill.objects.filter(sha256=sha256, status=Bill.Status.IMPORTED)
            .select_related("source", "source_version").first())
    if bill is None:
        return None
    data = archive().get(sha256)
    # Read the bytes as they were parsed: under the declaration the bill was imported with.
    version = bill.source_version
    ctx = context(bill.source, bill_sha256=sha256, file_name=bill.name)
    if version is not None:
        ctx = ParseContext(ctx.source, {**version.spec, "kind": version.kind}, sha256, bill.name)
    lines = channels.get(version.kind if version else bill.source.kind).lines(data, ctx)
    return lines[line_no - 1] if 0 < line_no <= len(lines) else None


def bill_name(sha256: str) -> str | None:
    bill = Bill.objects.filter(sha256=sha256, status=Bill.Status.IMPORTED).first()
    return bill.name if bill else None
