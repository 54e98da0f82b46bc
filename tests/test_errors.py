"""TallyError.parse reads back what TallyError.__str__ wrote (a failed run's, a job's or a
rejected bill's stored error): every part, also when a message or a file name holds parentheses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally.errors import OperationFailed, TallyError

LAKE_FILE = "/srv/tally/lake/shop/2024-05-01/ab12.parquet"


def parsed(text: str, file_name: str | None = None) -> TallyError:
    error = TallyError.parse(text, file_name=file_name)
    assert error is not None
    return error


@pytest.mark.parametrize(
    "error",
    [
        TallyError("BAD_AMOUNT", "amount 'x' is not a number"),
        TallyError("BAD_AMOUNT", "amount 'x' is not a number", file="in.csv"),
        OperationFailed("LAKE_MISSING", "the lake has no records of in.csv for 2024-05-01", file=LAKE_FILE,
                        hint="re-import the bill: tally reparse in.csv --apply"),
        TallyError("BAD_AMOUNT", "amount 'x' is not a number", file="in.csv", line=12),
        TallyError("BAD_AMOUNT", "amount 'x' is not a number", line=7),
        TallyError("MISSING_COLUMN", "no column amount", field="amount"),
        TallyError("TOTALS_MISMATCH", "总交易单数 says 4 rows, the bill has 3", file="bill.csv", line=6,
                   field="总交易单数"),
        TallyError("BAD_DATE", "no date", line=3, field="time", hint="use YYYY-MM-DD"),
        OperationFailed("BILL_MISSING", "source shop has no bill for 2024-05-01; nothing was reconciled for that day",
                        hint="import it with `tally import FILE --source shop` (or fetch it), then run again"),
        # Parentheses in the message, before the place or closing it.
        TallyError("BAD_AMOUNT", "amount (1.234) has too many decimals", file="in.csv", line=2),
        TallyError("TOO_MANY_ROWS", "30 records do not fit in one Excel sheet (at most 10)",
                   hint="narrow the filters, or export CSV"),
        TallyError("EXPORT_NO_LONGER_VALID", "the export's filters are no longer valid (source: Select a valid "
                   "choice. That choice is not one of the available choices.)"),
        TallyError("BAD_AMOUNT", "bad (x)", file="in.csv", line=2, field="amount"),
        TallyError("BAD_AMOUNT", "bad (see (the docs))", line=2),
        # Parentheses in the place: a file name (a browser's "(2)" copy) and a field.
        TallyError("BAD_AMOUNT", "bad (x)", file="dir/my bill (2).csv", line=3, field="a (b)"),
        TallyError("BAD_AMOUNT", "bad", file="/up/dir/my bill (2).csv"),
        TallyError("BAD_AMOUNT", "bad", file="/in/c:/x.zip!in.csv", line=4),
        # More than one line.
        TallyError("CHANNEL_ERROR", "the channel said:\nNO BILL (yet)", hint="try again\nlater"),
        TallyError("EMPTY_FILE", ""),
    ],
    ids=lambda error: str(error).replace("\n", "⏎"),
)
def test_parse_reads_back_every_part(error: TallyError) -> None:
    again = parsed(str(error))
    assert again.as_dict() == error.as_dict()
    assert str(again) == str(error)


def test_a_file_name_that_is_given_is_found_even_with_unbalanced_parentheses() -> None:
    error = TallyError("BAD_AMOUNT", "bad", file="up/x (2.csv", line=5)
    assert parsed(str(error), file_name="x (2.csv").as_dict() == error.as_dict()


def test_words_in_parentheses_are_no_file_unless_they_name_the_one_given() -> None:
    assert parsed(str(TallyError("BAD_AMOUNT", "amount (too many decimals)"))).message == "amount (too many decimals)"
    named = parsed(str(TallyError("BAD_AMOUNT", "bad", file="my bill")), file_name="up/my bill")
    assert (named.message, named.where.file) == ("bad", "my bill")


@pytest.mark.parametrize("text", [
    "TypeError: unsupported operand type(s) for +: 'int' and 'str'",
    "the process running this job stopped before the job ended (killed, or restarted); start it again",
    "error[lower]: not a code",
    "",
])
def test_text_no_tally_error_wrote_is_none(text: str) -> None:
    assert TallyError.parse(text) is None


# Any message, file and field without parentheses, any line and hint: the same parts come back.
plain = st.text(st.characters(blacklist_characters="()\n", blacklist_categories=("Cs",)), min_size=1, max_size=30)


@given(message=plain, file=st.none() | plain.map(lambda name: f"dir/{name}"), line=st.none() | st.integers(0, 10**6),
       field=st.none() | plain.filter(lambda name: ", field " not in name), hint=st.none() | plain)
def test_parse_is_the_inverse_of_str(message: str, file: str | None, line: int | None, field: str | None,
                                     hint: str | None) -> None:
    error = TallyError("BAD_AMOUNT", message, file=file, line=line, field=field, hint=hint)
    assert parsed(str(error)).as_dict() == error.as_dict()
