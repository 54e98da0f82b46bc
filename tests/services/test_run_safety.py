"""Runs never overlap, and a run killed with SIGKILL leaves every day as it was or as published whole."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tally.errors import OperationFailed
from tally.services import demo
from tally.services.leases import lease
from tally.services.running import run_plan


@pytest.mark.django_db
def test_a_second_run_of_the_same_plan_is_refused_while_one_runs() -> None:
    demo.build(3)
    with lease(f"plan:{demo.PLAN}", timedelta(minutes=5)), pytest.raises(OperationFailed) as caught:
        run_plan(demo.PLAN, date(2026, 11, 1), date(2026, 11, 1))
    assert caught.value.code == "LEASE_HELD"


@pytest.mark.django_db(transaction=True)
def test_a_killed_run_leaves_whole_days_and_the_next_run_completes(tmp_path: Path, tally_home: Path) -> None:
    db = tmp_path / "child.sqlite3"
    env = {**os.environ, "TALLY_HOME": str(tally_home), "DATABASE_URL": f"sqlite:///{db}"}
    command = [sys.executable, "-m", "tally.cli"]
    subprocess.run([*command, "demo", "--no-serve"], env=env, check=True, capture_output=True)
    # A wider tolerance changes day 1's result (MISMATCH-0001 differs by 1.00), so a half-published
    # day would show: its counts would disagree with its break rows.
    toml = (tally_home / "demo" / "tally.toml").read_text().replace("tolerance_minor = 0", "tolerance_minor = 100")
    (tmp_path / "wider.toml").write_text(toml)
    subprocess.run([*command, "apply", str(tmp_path / "wider.toml")], env=env, check=True, capture_output=True)

    def days() -> dict[str, tuple[int, int]]:
        with sqlite3.connect(db) as con:
            counted = dict(con.execute("select day, mismatch from breaks_dayresult").fetchall())
            rows = dict(con.execute("select detected_on, count(*) from breaks_break where kind = 'mismatch' "
                                    "group by detected_on").fetchall())
        return {day: (n, rows.get(day, 0)) for day, n in counted.items()}

    assert days()["2026-11-01"] == (1, 1)
    child = subprocess.Popen([*command, "run", demo.PLAN, "--from", "2026-11-01", "--to", "2026-11-03"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert all(counted == rows for counted, rows in days().values())  # each day old or new, whole
    done = subprocess.run([*command, "run", demo.PLAN, "--from", "2026-11-01", "--to", "2026-11-03", "--json"],
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr  # the dead run's lease does not block this one
    assert len(done.stdout.splitlines()) == 3
    assert days()["2026-11-01"] == (0, 0)
