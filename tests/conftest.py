"""Every test gets its own TALLY_HOME; data is built by factories in each test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
if not SAMPLES.exists():  # CI clones beside a copy of shared/
    SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"


@pytest.fixture(autouse=True)
def tally_home(settings, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    settings.TALLY_HOME = home
    return home


@pytest.fixture(autouse=True)
def default_language() -> None:
    """Every test starts in the default language, whatever an earlier test activated."""
    from django.utils import translation

    translation.activate("en")


@pytest.fixture
def samples() -> Path:
    assert SAMPLES.exists(), f"shared samples not found at {SAMPLES}"
    return SAMPLES


@pytest.fixture(autouse=True)
def _audit_log_flushable(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a transactional test, empty the append-only audit table before pytest-django
    empties the rest (tests/audit_guard.py says why)."""
    from pytest_django.fixtures import validate_django_db

    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and validate_django_db(marker)[0]) or any(
        name in request.fixturenames for name in ("live_server", "transactional_db"))
    if not transactional:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so torn down (flushed) after this
    yield
    from tests.audit_guard import clear_audit_log

    clear_audit_log()
