"""FX rates: one row per business day and currency pair, as exact decimal text.

``rate`` is how many units of ``quote`` one unit of ``base`` buys on ``day`` (1 USD = 7.2 CNY:
base USD, quote CNY, rate "7.2"). Kept as text and read through ``Decimal``: a rate is never a
float. Imported with ``tally rates import FILE.csv``; read by the ``fx`` rule.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class FxRate(models.Model):
    day = models.DateField()
    base = models.CharField(max_length=3)
    quote = models.CharField(max_length=3)
    rate = models.CharField(max_length=40)
    source = models.CharField(max_length=255, blank=True)  # the file it came from
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-day", "base", "quote")
        constraints = (models.UniqueConstraint(fields=("day", "base", "quote"), name="one_rate_per_day_and_pair"),)

    def __str__(self) -> str:
        return f"{self.day} 1 {self.base} = {self.rate} {self.quote}"

    @property
    def value(self) -> Decimal:
        return Decimal(self.rate)
