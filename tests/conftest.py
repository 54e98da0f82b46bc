"""Every test gets its own TALLY_HOME; data is built by factories in each test module."""

from __future__ import annotations

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


@pytest.fixture
def samples() -> Path:
    assert SAMPLES.exists(), f"shared samples not found at {SAMPLES}"
    return SAMPLES
