"""``tally bench --web``: the back office under load, on loopback.

1. A PostgreSQL database of its own (``tally_bench_web`` on 127.0.0.1:5432, user postgres) gets
   the schema, ``--users`` viewers, three plans and ``--breaks`` breaks loaded with COPY; a temporary
   TALLY_HOME gets one business day of ``--records`` records in the lake (written by DuckDB) with
   its Bill row.
2. ``tally serve`` starts on a free loopback port against them (as in production: gunicorn,
   whitenoise, the JSON request log to TALLY_HOME/logs).
3. ``--users`` threads, each logged in as its own user (a session cookie, as a browser has),
   send ``--requests`` page requests in all, half to the break queue and half to the data
   browser, in a fixed mix (see ``mix``) with random filters, pages and order numbers. Every
   URL is asked once before measuring (warm-up: the first search of the day builds its key index).
   Each request's wall time is recorded; the answer is p50/p95/max per page kind and overall.

A user is a person: after each page they pause for ``--think`` seconds on average (drawn
uniformly from half to one and a half times it, so users do not fall into step), as one reads a
page before the next click. ``--think 0`` removes the pause: every user always has a request in
flight, i.e. as many requests at once as users, far more than that many people send.

Nothing here is imported by the rest of Tally; the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "tally_bench_web"
PASSWORD = "bench-web-password"  # noqa: S105 (the throwaway users of a throwaway database)
DAY = date(2024, 6, 30)
PLANS = ("wechat_vs_shop", "alipay_vs_shop", "bank_vs_ledger")
STATUSES = (("open", 20), ("resolved", 70), ("suspended", 5), ("pending_approval", 5))
SOURCE = "wechat"
SHA = "be" * 32


def _env(home: Path, db: str = DB) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}", "TALLY_HOME": str(home),
            "DJANGO_SETTINGS_MODULE": "tally.settings", "TALLY_SECRET_KEY": "bench-web-" + "k" * 40,
            "TALLY_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as con:
        con.execute(sql)


# --- 1. loading (in a child process with its own settings) -------------------------------------

def load(breaks: int, records: int, users: int) -> dict[str, Any]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from tally.breaks.models import Plan
    from tally.ingest.models import Bill, Source
    from tally.web.roles import ensure_roles

    ensure_roles()
    viewers = Group.objects.get(name="viewer")
    for n in range(users):
        user = User.objects.create_user(f"bench{n:02d}", password=PASSWORD)
        user.groups.add(viewers)
    plans = [Plan.objects.create(name=name, spec={"ours": "shop", "theirs": SOURCE}) for name in PLANS]
    started = time.perf_counter()
    orders = _copy_breaks(connection, [p.pk for p in plans], breaks)
    breaks_s = time.perf_counter() - started
    source = Source.objects.create(name=SOURCE, kind="table")
    path = Path(settings.TALLY_HOME) / "lake" / "records" / f"source={SOURCE}" / f"day={DAY}" / f"{SHA}.parquet"
    started = time.perf_counter()
    _write_day(path, records)
    Bill.objects.create(source=source, name=f"pay_{SOURCE}_{DAY:%Y%m%d}_01.csv", sha256=SHA, business_day=DAY,
                        status=Bill.Status.IMPORTED, rows=records, days=[DAY.isoformat()])
    with connection.cursor() as cursor:
        # As autovacuum leaves a table soon after a bulk insert (PostgreSQL 13+ vacuums after inserts):
        # without the visibility map an index-only scan reads the table too, and a capped count of
        # the queue costs 12 ms instead of 1.5.
        cursor.execute("VACUUM ANALYZE")
    return {"break_orders": orders, "breaks_load_s": round(breaks_s, 1),
            "lake_write_s": round(time.perf_counter() - started, 1)}


def _copy_breaks(connection: Any, plan_ids: list[int], n: int) -> list[str]:
    """n breaks over 90 days before DAY, spread over the plans, with COPY (psycopg 3)."""
    columns = ["plan_id", "identity", "day", "detected_on", "kind", "status", "record_kind", "order_no", "refund_no",
               "currency", "ours_amount_minor", "theirs_amount_minor", "reason", "suggestions", "resolution",
               "created_at", "updated_at"]
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    rng = random.Random(7)  # noqa: S311 (test data, not secrets)
    sample: list[str] = []
    now = "2024-07-01 00:00:00+00"
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY breaks_break ({', '.join(columns)}) FROM STDIN") as copy:
        for i in range(n):
            day = DAY - timedelta(days=i % 90)
            kind = ("short", "long", "mismatch")[i % 3]
            order = f"ORD{i:09d}"
            ours = None if kind == "long" else rng.randrange(100, 10_000_000)
            theirs = None if kind == "short" else (ours or rng.randrange(100, 10_000_000)) - (i % 7 if ours else 0)
            reason = {"short": "only_ours", "long": "only_theirs", "mismatch": "amount_mismatch"}[kind]
            copy.write_row((plan_ids[i % len(plan_ids)], f"bench-{i}", day, day, kind, statuses[i % len(statuses)],
                            "refund" if i % 10 == 0 else "payment", order, "", "CNY", ours, theirs, reason, "[]", "",
                            now, now))
            if i % max(1, n // 200) == 0:
                sample.append(order)
    raw.commit()
    return sample


def _write_day(path: Path, n: int) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    # The lake's schema and habits: one row group per 65,536 records, in line order.
    duckdb.connect().execute(f"""
        COPY (SELECT '{SOURCE}' AS source, DATE '{DAY}' AS business_day,
              CASE WHEN i % 10 = 0 THEN 'refund' ELSE 'payment' END AS record_kind,
              'W' || lpad(CAST(i AS VARCHAR), 10, '0') AS order_no,
              CASE WHEN i % 10 = 0 THEN 'R' || lpad(CAST(i AS VARCHAR), 10, '0') END AS refund_no,
              '4200' || lpad(CAST(i AS VARCHAR), 12, '0') AS channel_txn_id,
              CAST(hash(i) % 1000000 AS BIGINT) * (CASE WHEN i % 10 = 0 THEN -1 ELSE 1 END) AS amount_minor,
              CAST(i % 60 AS BIGINT) AS fee_minor, CAST(0 AS BIGINT) AS discount_minor, 'CNY' AS currency,
              TIMESTAMPTZ '{DAY} 00:00:00+08' + INTERVAL (i % 86400) SECOND AS occurred_at,
              'SUCCESS' AS status, CAST(NULL AS VARCHAR) AS item, CAST(NULL AS BIGINT) AS quantity,
              '{SHA}' AS bill_sha256, CAST(i + 2 AS BIGINT) AS line_no
              FROM range({n}) t(i)) TO '{path}' (FORMAT PARQUET, ROW_GROUP_SIZE 65536)""")


# --- 2. the server ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tally.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    errors = open(Path(env["TALLY_HOME"]) / "serve.err", "wb")  # noqa: SIM115 (kept by the server process)
    server = subprocess.Popen(command, env=env,  # noqa: S603 (our own interpreter and arguments)
                              stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).text == "ok":
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("tally serve did not start: " + (Path(env["TALLY_HOME"]) / "serve.err").read_text())


# --- 3. the load ----------------------------------------------------------------------------

def _login(base: str, username: str) -> Any:
    import httpx

    client = httpx.Client(base_url=base, timeout=300, follow_redirects=False)
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, "no CSRF token on the login page"
    done = client.post("/login/", data={"username": username, "password": PASSWORD,
                                        "csrfmiddlewaretoken": token.group(1)})
    assert done.status_code == 302, f"login of {username} failed: {done.status_code}"
    return client


def mix(orders: list[str], records: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, URL) for one request of each kind."""
    day = DAY - timedelta(days=rng.randrange(90))
    line = rng.randrange(2, max(3, records - 100))
    record = rng.randrange(records)
    browse = f"/browse/?source={SOURCE}&first={DAY}"
    return [
        ("queue: all", "/breaks/"),
        ("queue: open", "/breaks/?status=open"),
        ("queue: plan+day", f"/breaks/?plan={rng.choice(PLANS)}&day={day}"),
        ("queue: order no.", f"/breaks/?order_no={rng.choice(orders)}"),
        ("queue: page n", f"/breaks/?status=open&page={rng.randrange(2, 200)}"),
        ("browser: first page", browse),
        ("browser: next page", f"{browse}&after={line}&n={line}"),
        ("browser: search", f"{browse}&q=W{record:010d}"),
        ("browser: refunds", f"{browse}&record_kind=refund&after={line}"),
        ("browser: count", f"/browse/count/?source={SOURCE}&first={DAY}"),
    ]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def hammer(base: str, orders: list[str], records: int, users: int, requests: int,
           think: float = 0.0) -> dict[str, Any]:
    import httpx

    clients = [_login(base, f"bench{n:02d}") for n in range(users)]
    rng = random.Random(11)  # noqa: S311 (a reproducible request mix)
    for _kind, url in mix(orders, records, rng):  # warm-up: every kind once (builds the search index)
        clients[0].get(url)
    work = [item for _ in range(requests // 10 + 1) for item in mix(orders, records, rng)][:requests]
    rng.shuffle(work)
    lock = threading.Lock()
    results: list[tuple[str, float, int]] = []
    retries: list[str] = []
    local = threading.local()
    counter = iter(range(users))

    def one(item: tuple[str, str]) -> None:
        if not hasattr(local, "client"):
            with lock:
                n = next(counter)
                local.client = clients[n]
                local.rng = random.Random(n)  # noqa: S311 (pauses, not secrets)
        if think:
            time.sleep(local.rng.uniform(0.5 * think, 1.5 * think))
        started = time.perf_counter()
        try:
            answer = local.client.get(item[1])
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # The server closed an idle keep-alive connection as this request went out: a browser
            # sends it again on a new connection, and so does this (timed from the first try).
            with lock:
                retries.append(item[0])
            answer = local.client.get(item[1])
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            results.append((item[0], elapsed, answer.status_code))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        list(pool.map(one, work))
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    return {**summarize(results, wall), "retried": len(retries)}


def summarize(results: list[tuple[str, float, int]], wall: float) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, float]:
        return {"n": len(values), "p50_ms": round(_percentile(values, 0.5), 1),
                "p95_ms": round(_percentile(values, 0.95), 1), "max_ms": round(max(values), 1)}

    kinds = sorted({kind for kind, _, _ in results})
    pages = {kind: stats([ms for k, ms, _ in results if k == kind]) for kind in kinds}
    queue = [ms for k, ms, _ in results if k.startswith("queue")]
    browser = [ms for k, ms, _ in results if k.startswith("browser") and k != "browser: count"]
    errors = [(k, status) for k, _, status in results if status != 200]
    return {"requests": len(results), "wall_s": round(wall, 1), "throughput_rps": round(len(results) / wall, 1),
            "break_queue": stats(queue), "data_browser": stats(browser), "pages": pages,
            "errors": len(errors), "error_samples": errors[:5]}


def run(breaks: int = 1_000_000, records: int = 10_000_000, users: int = 20, requests: int = 2_000,
        think: float = 0.0, progress: Callable[[str], None] = lambda text: None, db: str = DB) -> dict[str, Any]:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", db):
        raise ValueError(f"not a database name: {db!r}")
    home = Path(tempfile.mkdtemp(prefix="tally-bench-web-"))
    env = _env(home, db)
    _admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    _admin(f"CREATE DATABASE {db}")
    server = None
    try:
        progress(f"loading {breaks} breaks into PostgreSQL and {records} records into the lake…")
        command = [sys.executable, "-m", "tally.bench_web", "load", str(breaks), str(records), str(users)]
        loaded = subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603
        info = json.loads(loaded.stdout.strip().splitlines()[-1])
        port = _free_port()
        progress(f"serving on 127.0.0.1:{port}; {users} users, {requests} requests, {think} s between pages…")
        server = _serve(env, port)
        result = hammer(f"http://127.0.0.1:{port}", info["break_orders"], records, users, requests, think)
        web = {"workers": env.get("TALLY_WEB_WORKERS", "2"), "threads": env.get("TALLY_WEB_THREADS", "4")}
        return {"breaks": breaks, "lake_records": records, "users": users, "think_s": think, "server": web,
                "breaks_load_s": info["breaks_load_s"], "lake_write_s": info["lake_write_s"], **result}
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        _admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["load"])
    parser.add_argument("breaks", type=int)
    parser.add_argument("records", type=int)
    parser.add_argument("users", type=int)
    ns = parser.parse_args()
    print(json.dumps(load(ns.breaks, ns.records, ns.users)))  # noqa: T201 (read by the parent process)
