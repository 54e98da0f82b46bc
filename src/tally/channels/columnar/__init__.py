"""Reading a line-per-row bill block by block, as Arrow columns, exactly and in bounded memory.

A bill is streamed (plain or gzip, from memory or a file) in blocks of whole lines (``blocks``).
A channel reads each block with :func:`read_block` (pyarrow.csv, every cell a string) and
converts it with the helpers of ``columns`` (exact decimals, times in the source's zone). Every
helper raises :class:`Fallback` the moment it is not sure it would give what the row-by-row code
gives; the channel then hands that block to its row-by-row code, which stays the one source of
truth for what is accepted and for every error (code, line, field). So the fast path may refuse
more than it must, never less, and the two are compared on random bills in the tests.

How a channel uses it (wechatpay.py is the example)::

    def parse_stream(self, raw, ctx):
        return columnar.stream(raw, ENCODINGS, lambda blocks: self._batches(blocks, ctx), file=...)

    def _batches(self, blocks, ctx):        # blocks: UTF-8 bytes, whole lines, in order
        for data in blocks:                 # track line numbers; header from the first block
            try:
                batch = fast(columnar.read_block(data, ...))   # pyarrow.compute, raises Fallback
            except columnar.Fallback:
                batch = slow(columnar.lines_of(data))          # the row code, exact errors
"""

from tally.channels.columnar.blocks import (
    BLOCK_BYTES,
    BillBytes,
    StreamingChannel,
    TextBlocks,
    bad_encoding,
    line_blocks,
    lines_of,
    stream,
    unpacked,
)
from tally.channels.columnar.columns import (
    WHITESPACE,
    Fallback,
    cells,
    check_all,
    decimal_units,
    exact_sum,
    line_numbers,
    local_times,
    minor_units,
    null_if_empty,
    read_block,
    round_half_up,
)

__all__ = [
    "BLOCK_BYTES", "WHITESPACE", "BillBytes", "Fallback", "StreamingChannel", "TextBlocks", "bad_encoding", "cells",
    "check_all", "decimal_units", "exact_sum", "line_blocks", "line_numbers", "lines_of", "local_times", "minor_units",
    "null_if_empty", "read_block", "round_half_up", "stream", "unpacked",
]
