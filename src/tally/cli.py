"""The ``tally`` command (CONTRACT.md). Exit codes: 0 done, 2 input rejected, 1 anything else.

Errors are printed once, here, as ``error[CODE]: message (FILE:LINE)``; tracebacks go to the log
file under TALLY_HOME/logs, never to the user.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from tally.errors import ConfigError, TallyError
from tally.records import EARLIEST_DAY, LATEST_DAY

log = logging.getLogger("tally.cli")


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise argparse.ArgumentTypeError(
            f"{text} is outside the business days Tally keeps ({EARLIEST_DAY} to {LATEST_DAY})")
    return day


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit code is 2 too; keep the error format
        raise ConfigError("BAD_ARGUMENTS", message, hint=f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tally", description="Payment reconciliation: bills in, breaks out.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="build the demo merchant, reconcile it, serve the back office")
    p.add_argument("--no-serve", action="store_true")
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("serve", help="serve the back office and the API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("apply", help="declare sources and plans from a TOML file")
    p.add_argument("file", type=Path)
    p = sub.add_parser("export", help="write the declared sources and plans to a TOML file")
    p.add_argument("file", type=Path)

    p = sub.add_parser("import", help="archive, parse and normalize bills")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--source", required=True)
    p.add_argument("--day", type=_day, help="business day of the bill, when its content cannot tell")

    p = sub.add_parser("fetch", help="acquire one day's bill from the channel now")
    p.add_argument("--source", required=True)
    p.add_argument("--day", type=_day, required=True)

    p = sub.add_parser("reparse", help="parse an archived bill again and show what would change")
    p.add_argument("bill", help="the bill's standard name (`tally bills` lists them)")
    p.add_argument("--version", type=int, help="source version to parse under (default: the bill's own; "
                   "with --apply: the source's current one)")
    p.add_argument("--apply", action="store_true", help="replace the bill's records with the re-parsed ones")

    p = sub.add_parser("worker", help="the background queue: scheduled bill fetches, inbox scans, alerts, runs")
    p.add_argument("--workers", type=int, default=2, help="jobs run at once (threads)")
    p.add_argument("--no-schedule", dest="schedule", action="store_false",
                   help="only run queued jobs; another worker enqueues each minute's work")

    p = sub.add_parser("run", help="reconcile a plan's days in order")
    p.add_argument("plan")
    p.add_argument("--from", dest="first", type=_day, required=True)
    p.add_argument("--to", dest="last", type=_day)
    p.add_argument("--only", help="comma-separated sources: run with just these (e.g. some order databases)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("bench", help="benchmarks: the reconcile engine, or with --parse the bill parsers")
    p.add_argument("--parse", action="store_true", help="parse + normalize + Parquet beside DuckDB's read_csv")
    p.add_argument("--web", action="store_true", help="the back office under load (PostgreSQL on 127.0.0.1:5432)")
    p.add_argument("--breaks", type=int, default=1_000_000, help="with --web: breaks in the database")
    p.add_argument("--records", type=int, default=10_000_000, help="with --web: records of the browsed day")
    p.add_argument("--users", type=int, default=20, help="with --web: concurrent users")
    p.add_argument("--requests", type=int, default=2_000, help="with --web: requests in all")
    p.add_argument("--think", type=float, default=1.0,
                   help="with --web: a user's mean pause between pages, in seconds (0: none)")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("createuser", help="add a user in a role; the password is read from stdin or asked for")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["viewer", "operator", "approver", "admin"])
    p.add_argument("--email", default="")

    p = sub.add_parser("token", help="API tokens: `tally token create USER` prints a new one (shown once)")
    p.add_argument("action", choices=["create"])
    p.add_argument("user")
    p.add_argument("--name", default="", help="what the token is for")

    p = sub.add_parser("bills", help="list bills")
    p.add_argument("--source")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("breaks", help="list or export breaks")
    p.add_argument("--plan")
    p.add_argument("--day", type=_day)
    p.add_argument("--status")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", type=Path)
    out.add_argument("--xlsx", type=Path)

    p = sub.add_parser("audit", help="the audit log: `tally audit verify` recomputes its hash chain")
    p.add_argument("audit_action", choices=["verify"])
    p.add_argument("--expect-head", help="a head hash written down earlier: the log must still contain it")
    p = sub.add_parser("actions", help="list actions waiting for approval")
    p.add_argument("--json", action="store_true")
    p.add_argument("--remind", action="store_true",
                   help="remind approvers now of those waiting longer than TALLY_APPROVAL_REMIND_HOURS "
                        "(as the worker does; each at most once per that period)")
    p = sub.add_parser("approve", help="approve a proposed action as USER (never one's own)")
    p.add_argument("action_id", type=int)
    p.add_argument("--as", dest="user", required=True)
    p = sub.add_parser("reject", help="reject a proposed action as USER, with a reason")
    p.add_argument("action_id", type=int)
    p.add_argument("--as", dest="user", required=True)
    p.add_argument("--reason", required=True)
    p = sub.add_parser("rules", help="a plan's automatic rules: `tally rules apply PLAN [--day D] [--dry-run]`")
    p.add_argument("rules_action", choices=["apply"])
    p.add_argument("plan")
    p.add_argument("--day", type=_day, help="only the breaks of this business day")
    p.add_argument("--dry-run", action="store_true", help="list what the rules would resolve; change nothing")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("rates", help="FX rates for the fx rule: `tally rates import FILE.csv` (day,base,quote,rate)")
    p.add_argument("rates_action", choices=["import"])
    p.add_argument("file", type=Path)
    p = sub.add_parser("report", help="the day's statement of a plan (应收/实收/手续费/长款/短款/挂账, aging)")
    p.add_argument("--plan", required=True)
    p.add_argument("--day", type=_day, required=True)
    p.add_argument("--xlsx", type=Path, help="also write it, with the day's breaks, to this Excel file")
    p.add_argument("--csv", type=Path, help="also write it to this CSV file")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _setup()
        return int(COMMANDS[args.command](args) or 0)
    except TallyError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error[INTERRUPTED]: stopped; nothing half-done was kept", file=sys.stderr)
        return 1
    except Exception as exc:
        log.exception("unexpected failure")
        print(f"error[INTERNAL]: {type(exc).__name__}: {exc} (details in TALLY_HOME/logs/tally.log)",
              file=sys.stderr)
        return 1


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tally.settings")
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    logs = settings.TALLY_HOME / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(logs / "tally.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    # Tracebacks go to the log file only; the user sees the one-line error.
    log.propagate = False
    log.addHandler(handler)
    call_command("migrate", verbosity=0, interactive=False)


def cmd_demo(args: argparse.Namespace) -> int:
    from tally.services import demo
    from tally.web.roles import ensure_roles

    ensure_roles()
    demo.ensure_users()
    outcomes = demo.build(args.days, progress=lambda day, outcome: print(_summary(day, outcome)))
    total = sum(len(o.breaks) for o in outcomes)
    print(f"demo ready: plan {demo.PLAN}, {len(outcomes)} days, {total} breaks")
    print(f"log in at http://{args.host}:{args.port}/ as admin, maker or checker, password {demo.PASSWORD}")
    if args.no_serve:
        return 0
    return cmd_serve(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from tally.web.server import serve

    serve(args.host, args.port)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from tally.services.declarations import apply_file

    applied = apply_file(args.file)
    for label, names in (("created", applied.created), ("updated", applied.updated),
                         ("unchanged", applied.unchanged)):
        for name in names:
            print(f"{label}: {name}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tally.services.declarations import export_file

    export_file(args.file)
    print(f"wrote {args.file}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from tally.services.importing import import_path

    for path in args.files:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise ConfigError("FILE_NOT_FOUND", f"cannot read {path}: {exc.strerror}", file=str(path)) from None
        # Read from the file as it goes: a bill of any size is imported in bounded memory.
        result = import_path(path, args.source, file_name=str(path), day=args.day)
        if result.already:
            print(f"already imported: {result.bill.name} (sha256 {result.bill.sha256[:12]}…)")
        else:
            print(f"imported {result.bill.name}: {result.bill.rows} records")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from tally.services.fetching import fetch

    attempt = fetch(args.source, args.day)
    if (error := attempt.error()) is not None:
        raise error
    if attempt.bills and attempt.outcome == "imported":
        for bill in attempt.bills:
            print(f"imported {bill.name}: {bill.rows} records")
    elif attempt.bills:
        for bill in attempt.bills:
            print(f"already imported: {bill.name} (sha256 {bill.sha256[:12]}…)")
    else:
        print(attempt.outcome + (f": {attempt.reason}" if attempt.reason else ""))
    return 0


def cmd_reparse(args: argparse.Namespace) -> int:
    from tally.services.reparsing import bill_named, reimport, reparse
    from tally.services.sources import version_of

    bill = bill_named(args.bill)
    version = version_of(bill.source, args.version) if args.apply else args.version
    diff = reparse(bill, version)
    print(f"{diff.bill} ({diff.source}): version {diff.from_version or '-'} → {diff.to_version}: "
          f"{diff.counts['added']} added, {diff.counts['removed']} removed, {diff.counts['changed']} changed, "
          f"{diff.counts['unchanged']} unchanged")
    for change in diff.changed:
        fields = ", ".join(f"{name} {old!r} → {new!r}" for name, (old, new) in change.fields.items())
        print(f"  line {change.line}: {fields}")
    for label, records in (("added", diff.added), ("removed", diff.removed)):
        for record in records:
            print(f"  line {record['line_no']}: {label} {record['record_kind']} {record['order_no'] or ''} "
                  f"{record['amount_minor']} {record['currency']}")
    if args.apply:
        bill = reimport(bill, version)
        print(f"reimported {bill.name}: {bill.rows} records under version {diff.to_version}; "
              f"re-run the plans of days {', '.join(bill.days) or '-'}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from tally.worker import run

    return run(args)


def cmd_run(args: argparse.Namespace) -> int:
    from tally.services.running import catch_up_to, days_between, run_plan

    last = args.last or catch_up_to(args.plan, args.first)
    if args.json:
        def emit(day: date, outcome: Any) -> None:
            print(json.dumps({"plan": outcome.plan, "day": day.isoformat(), "matched": outcome.matched,
                              "pending": outcome.pending, "breaks": outcome.counts()}), flush=True)
        run_plan(args.plan, args.first, last, progress=emit, only=_only(args))
        return 0
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"running {args.plan}", total=len(days_between(args.first, last)))

        def step(day: date, outcome: Any) -> None:
            bar.advance(task)
            bar.console.print(_summary(day, outcome))
        run_plan(args.plan, args.first, last, progress=step, only=_only(args))
    return 0


def _only(args: argparse.Namespace) -> list[str] | None:
    return [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None


def _summary(day: date, outcome: Any) -> str:
    c = outcome.counts()
    return (f"{outcome.plan} {day}: matched {outcome.matched}, pending {outcome.pending}, "
            f"short {c['short']}, long {c['long']}, mismatch {c['mismatch']}")


def cmd_bench(args: argparse.Namespace) -> int:
    if args.web:
        from tally.bench_web import run as run_web

        if args.think < 0:
            raise ConfigError("BAD_ARGUMENTS", "--think cannot be negative", field="think")
        result = run_web(args.breaks, args.records, args.users, args.requests, args.think,
                         progress=lambda text: print(text, file=sys.stderr, flush=True))
        print(json.dumps(result) if args.json else json.dumps(result, indent=1))
        return 0
    if args.parse:
        from tally.bench_parse import run
    else:
        from tally.engine.bench import run
    result = run(args.rows)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def cmd_createuser(args: argparse.Namespace) -> int:
    import getpass

    from tally.web.accounts import create_user

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise ConfigError("PASSWORD_MISMATCH", "the two passwords differ")
    else:  # e.g. `printf %s "$PW" | tally createuser NAME --role operator`
        password = sys.stdin.readline().rstrip("\n")
    user = create_user(args.username, password, args.role, email=args.email)
    print(f"created {user.get_username()} ({args.role})")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from tally.web.api.auth import create_token

    _, token = create_token(args.user, args.name)
    print(token)
    return 0


def cmd_bills(args: argparse.Namespace) -> int:
    from tally.services.listing import bills

    rows = bills(args.source)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for row in rows:
        error = f"  {row['error']}" if row["error"] else ""
        print(f"{row['business_day'] or '-':10}  {row['status']:8}  {row['rows']:>8}  {row['name']}{error}")
    return 0


def cmd_breaks(args: argparse.Namespace) -> int:
    from tally.services.listing import breaks, write_csv, write_xlsx

    rows = breaks(plan=args.plan, day=args.day, status=args.status)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    elif args.csv:
        write_csv(rows, args.csv)
        print(f"wrote {len(rows)} breaks to {args.csv}")
    elif args.xlsx:
        write_xlsx(rows, args.xlsx)
        print(f"wrote {len(rows)} breaks to {args.xlsx}")
    else:
        for row in rows:
            print(f"{row['day']}  {row['kind']:8}  {row['record_kind']:7}  {row['order_no']:20} "
                  f"{row['refund_no'] or '':14} {row['ours_amount'] or '-':>12} {row['theirs_amount'] or '-':>12} "
                  f"{row['currency']}  {row['reason']}  {row['status']}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from tally.services.audit import verify

    result = verify(expect_head=args.expect_head)
    if not result.ok:
        raise TallyError("AUDIT_BROKEN", f"the audit log is broken at event {result.broken_seq}: {result.problem}",
                         hint="restore the database from a backup and compare; nothing was changed by this check")
    print(f"audit log intact: {result.count} events, head {result.head}")
    return 0


def cmd_actions(args: argparse.Namespace) -> int:
    from tally.services.approvals import waiting_rows

    if args.remind:
        from tally.services.break_alerts import remind_hours, remind_waiting

        reminded = ", ".join(map(str, remind_waiting())) or "none"
        print(f"reminded approvers of actions waiting over {remind_hours()} h: {reminded}",
              file=sys.stderr if args.json else sys.stdout)
    rows = waiting_rows()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for row in rows:
        print(f"{row['id']:>6}  {row['plan']}  {row['kind']:12} {row['amount_minor'] or '-':>12} {row['currency']}  "
              f"by {row['maker'] or '-'}  breaks {','.join(map(str, row['breaks']))}  {row['reason']}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from tally.services.access import user_named
    from tally.services.approvals import approve, reject

    by = user_named(args.user)
    action = reject(args.action_id, by, args.reason) if args.command == "reject" else approve(args.action_id, by)
    print(f"action {action.pk} ({action.kind}): {action.state}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo, "serve": cmd_serve, "apply": cmd_apply, "export": cmd_export, "import": cmd_import,
    "fetch": cmd_fetch, "worker": cmd_worker, "token": cmd_token, "createuser": cmd_createuser,
    "run": cmd_run, "bench": cmd_bench, "bills": cmd_bills, "breaks": cmd_breaks, "reparse": cmd_reparse,
}

COMMANDS.update({"audit": cmd_audit, "actions": cmd_actions, "approve": cmd_approve, "reject": cmd_approve})


def cmd_rules(args: argparse.Namespace) -> int:
    from tally.services.rules import apply_rules, summary_line

    result = apply_rules(args.plan, day=args.day, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
        return 0
    verb = "would resolve" if args.dry_run else "resolved"
    done = [o for o in result.resolved if o.applied or args.dry_run]
    print(f"{result.plan}: {len(done)} of {result.examined} open break(s) {verb}")
    for outcome in result.resolved:
        print(("  " if outcome.applied or args.dry_run else "  not resolved: ") + summary_line(outcome)
              + (f"  ({outcome.error})" if outcome.error else ""))
    for outcome in result.noted:
        print("  noted: " + summary_line(outcome))
    for day, count in result.cross_day:
        print(f"  {day}: {count} pair(s) matched across days (carry-over)")
    return 0


def cmd_rates(args: argparse.Namespace) -> int:
    from tally.services.fxrates import import_rates

    result = import_rates(args.file)
    pairs = ", ".join(f"{b}/{q}" for b, q in sorted(result.pairs)) or "none"
    print(f"rates: {result.created} new, {result.updated} changed, {result.unchanged} unchanged ({pairs})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tally.services import report_export
    from tally.services.reports import statement

    st = statement(args.plan, args.day)
    if args.xlsx:
        report_export.write_xlsx(st, args.xlsx, report_export.breaks_of(st.plan, st.day))
    if args.csv:
        report_export.write_csv(st, args.csv)
    if args.json:
        print(json.dumps(report_export.as_json(st), ensure_ascii=False, indent=1))
    else:
        print(report_export.text(st))
    for path in (args.xlsx, args.csv):
        if path:
            print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


COMMANDS.update({"rules": cmd_rules, "rates": cmd_rates, "report": cmd_report})

if __name__ == "__main__":
    sys.exit(main())
