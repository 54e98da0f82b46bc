"""A paginator for lists that may hold millions of rows (the break queue).

Counting a million breaks on every page view costs more than showing the page. This one counts
at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (… LIMIT cap + 1)``, read from the queue's index):
below the cap the count is exact; above it the page says "more than 10,000" and offers pages up
to the cap. Nobody pages through ten thousand breaks: they filter.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

CAP = 10_000


class CappedPaginator(Paginator):
    cap = CAP

    @cached_property
    def count(self) -> int:
        # Which rows are counted does not matter, so no order: the planner may read any index.
        return int(self.object_list.order_by()[: self.cap + 1].count())  # type: ignore[attr-defined]

    @property
    def capped(self) -> bool:
        """True when there are more rows than were counted."""
        return self.count > self.cap
