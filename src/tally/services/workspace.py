"""The archive and the lake of this installation, under TALLY_HOME."""

from __future__ import annotations

from django.conf import settings

from tally.archive import Archive
from tally.lake import Lake


def archive() -> Archive:
    return Archive(settings.TALLY_HOME / "archive")


def lake() -> Lake:
    return Lake(settings.TALLY_HOME / "lake")
