"""The report's control totals: SF/RF per currency, SC/RC/FF row counts (layout in docs/channels/paypal.md).

The footer layout is assumed [unverified]: no copy of the spec's footer tables was found. SF and
RF carry the currency, these four totals in hundredths and optionally the available balance at
the start and the end, each followed by its CR/DR; SC, RC and FF carry the data row count of the
section, the report and the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tally.channels.paypal.values import UNSIGNED, balance, hundredths, located
from tally.errors import InputRejected
from tally.money import currency_code

TOTALS = ("Total Gross Amount Credit", "Total Gross Amount Debit", "Total Fee Amount Credit",
          "Total Fee Amount Debit")
HINT = "the report is incomplete or altered; download it again"


@dataclass
class Block:
    """The data rows of one section, the report or the file, as their footer counts them."""

    opened_at: int = 0
    count: int = 0
    sums: dict[str, list[int]] = field(default_factory=dict)  # currency -> the four TOTALS
    footed: set[str] = field(default_factory=set)

    def add(self, currency: str, gross: int, gross_sign: int, fee: int, fee_sign: int) -> None:
        self.count += 1
        sums = self.sums.setdefault(currency, [0, 0, 0, 0])
        sums[0 if gross_sign > 0 else 1] += gross
        sums[2 if fee_sign > 0 else 3] += fee


def check_footer(cells: list[str], block: Block, kind: str, line: int, file: str) -> None:
    """An SF (section) or RF (report) row against the rows of its block, for one currency."""
    def checked(name: str, parse: Any, *args: Any) -> Any:
        return located(file, line, name, parse, *args)

    if len(cells) < 2 + len(TOTALS):
        raise InputRejected("COLUMN_COUNT", f"the {kind} row has {len(cells)} cells, expected at least "
                            f"{2 + len(TOTALS)}", file=file, line=line)
    currency = checked("currency", currency_code, cells[1])
    if currency in block.footed:
        raise InputRejected("BAD_VALUE", f"a second {kind} row for {currency}", file=file, line=line)
    block.footed.add(currency)
    sums = block.sums.get(currency, [0, 0, 0, 0])
    for name, text, actual in zip(TOTALS, cells[2:], sums, strict=False):
        stated = checked(name, hundredths, text, True)
        if stated != actual:
            raise InputRejected("TOTALS_MISMATCH", f"{kind} {name} ({currency}) says {stated}, the rows add up "
                                f"to {actual}", file=file, line=line, field=name,
                                hint=HINT)
    balances = cells[6:10]
    if len(balances) == 4 and balances[0] and balances[2]:
        begin = checked("Beginning Available Balance", balance, balances[0], balances[1])
        end = checked("Ending Available Balance", balance, balances[2], balances[3])
        expected = begin + sums[0] - sums[1] + sums[2] - sums[3]
        if end != expected:
            raise InputRejected("TOTALS_MISMATCH", f"{kind} Ending Available Balance ({currency}) says {end}, "
                                f"the beginning balance and the rows give {expected}", file=file, line=line,
                                field="Ending Available Balance",
                                hint=HINT)


def check_count(cells: list[str], block: Block, kind: str, line: int, file: str) -> None:
    """An SC, RC or FF row count; a section or report must also have footed every currency."""
    text = cells[1] if len(cells) > 1 else ""
    if not UNSIGNED.fullmatch(text):
        raise InputRejected("BAD_VALUE", f"the {kind} row count is {text!r}, expected digits", file=file,
                            line=line, field="count")
    if int(text) != block.count:
        raise InputRejected("TOTALS_MISMATCH", f"{kind} says {int(text)} rows, the data rows are {block.count}",
                            file=file, line=line, field="count",
                            hint=HINT)
    unfooted = sorted(set(block.sums) - block.footed)
    if kind != "FF" and unfooted:
        raise InputRejected("MISSING_TOTALS", f"no {'SF' if kind == 'SC' else 'RF'} row totals the "
                            f"{', '.join(unfooted)} rows", file=file, line=line, field="currency",
                            hint=HINT)
