"""The `cramp-audit` command (outputs.md): run, validate, rules, schedule, report, export, sql.

Exit status: 0 success; 2 bad usage, an unreadable extract or bad SQL (one line on stderr, database
untouched); 3 the database is busy with another run; 1 any other failure (the run is marked failed)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cramp_audit.transforms.base import ExtractError
from cramp_audit.transforms.registry import FORMATS

if TYPE_CHECKING:  # imported lazily at run time, so --help stays fast
    from cramp_audit.pipeline import AuditRequest

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3
BUNDLED_SAMPLE = Path(__file__).resolve().parent.parent / "data_samples" / "sample"
DEFAULT_DB = "cramp_audit.duckdb"  # pipeline.DEFAULT_DB (not imported here, so --help stays fast)


class UsageError(Exception):
    pass


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (expected YYYY-MM-DD): {text}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of shards (1 or more): {text}")
    return value


def _cron(text: str) -> str:
    from cramp_audit.schedule import CronError, check_cron

    try:
        return check_cron(text)
    except CronError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's default prints usage too)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cramp-audit", description="Audit EHR extracts against the leg-cramps guideline.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add_source_options(p: argparse.ArgumentParser, source_optional: bool) -> None:
        p.add_argument("source", nargs="?" if source_optional else None, default=None,
                       help="extract folder" + (" (default: the bundled sample)" if source_optional else ""))
        p.add_argument("--format", choices=FORMATS, default=None, help="source format (default: detected)")

    def add_db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", default=DEFAULT_DB, help=f"DuckDB file (default: {DEFAULT_DB})")

    def add_wait_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                       help="wait this long for another run on the same database to finish (default: refuse)")

    run = commands.add_parser("run", help="the whole audit as one Prefect flow run")
    add_source_options(run, source_optional=True)
    add_db_option(run)
    run.add_argument("--reports", default="reports", help="reports folder (default: reports/)")
    run.add_argument("--period-start", type=_date)
    run.add_argument("--period-end", type=_date)
    run.add_argument("--config", help="TOML file overriding rule parameters")
    add_wait_option(run)
    run.add_argument("--no-prefect", action="store_true",
                     help="run the same steps as plain functions, without Prefect (for debugging)")
    run.add_argument("--shards", type=_positive, default=1, metavar="N",
                     help="split the audit by patient into N shards run on a Dask cluster (default: 1, one process)")
    run.add_argument("--dask", metavar="ADDRESS", default=None,
                     help="the Dask scheduler to run the shards on, e.g. tcp://10.0.0.5:8786 (needs PREFECT_API_URL; "
                          "default: a local cluster of this machine)")

    validate = commands.add_parser("validate", help="ingest and validate only; writes nothing")
    add_source_options(validate, source_optional=False)

    rules = commands.add_parser("rules", help="list the rule pack and the parameters in force")
    rules.add_argument("--config", help="TOML file overriding rule parameters")
    rules.add_argument("--markdown", action="store_true", help="print the rule catalogue as Markdown")

    schedule = commands.add_parser(
        "schedule", help="run the audit on a cron schedule until stopped",
        description="Runs the audit on a cron schedule, one run at a time, until Ctrl-C or SIGTERM. Without "
                    "PREFECT_API_URL this process keeps the schedule, in the machine's local time; with it, "
                    "the flow is served to that Prefect server, which keeps the schedule (in UTC).")
    schedule.add_argument("--cron", required=True, type=_cron,
                          help='five-field cron expression, e.g. "0 6 * * 1" (Mondays 06:00, local time)')
    add_source_options(schedule, source_optional=False)
    add_db_option(schedule)
    schedule.add_argument("--reports", default="reports", help="reports folder (default: reports/)")
    schedule.add_argument("--config", help="TOML file overriding rule parameters")
    add_wait_option(schedule)
    schedule.add_argument("--name", default="cramp-audit", help="deployment name (with PREFECT_API_URL only)")
    schedule.add_argument("--no-prefect", action="store_true",
                          help="run each audit as plain functions, without Prefect (this process keeps the schedule)")

    report = commands.add_parser("report", help="write a stored succeeded run's reports again",
                                 description="Rebuilds reports/<RUN_ID>/ from the run's rows in the database, "
                                             "with the suppress_below the run recorded.")
    report.add_argument("run_id", metavar="RUN_ID", help="a run id of audit.runs")
    add_db_option(report)
    report.add_argument("--reports", default="reports", help="reports folder (default: reports/)")

    export = commands.add_parser("export", help="write a stored succeeded run's FHIR MeasureReport bundle",
                                 description="Writes reports/<RUN_ID>/measure_reports.json (a FHIR R4 Bundle of one "
                                             "summary MeasureReport per rule) from the run's rows in the database, "
                                             "suppressed as the run's other reports.")
    export.add_argument("run_id", metavar="RUN_ID", help="a run id of audit.runs")
    export.add_argument("--measure-report", action="store_true", required=True,
                        help="write measure_reports.json (the one export so far)")
    add_db_option(export)
    export.add_argument("--reports", default="reports", help="reports folder (default: reports/)")

    sql = commands.add_parser("sql", help="an SQL prompt on the database (read-only)",
                              description="Opens the database read-only; audit.runs, audit.latest_rule_results, "
                                          "staging.labs ... resolve as the README writes them. Statements end "
                                          "with ';'.")
    add_db_option(sql)
    sql.add_argument("-c", dest="query", metavar="QUERY", help="run QUERY, print its rows as a table and exit")
    return parser


def _request(args: argparse.Namespace):  # noqa: ANN202 - AuditRequest, imported lazily (fast --help)
    from cramp_audit.pipeline import AuditRequest

    if args.period_start and args.period_end and args.period_start > args.period_end:
        raise UsageError("--period-start is after --period-end")
    config = getattr(args, "config", None)
    if config:
        from cramp_audit.config import load_parameters

        if not Path(config).is_file():
            raise UsageError(f"{config}: no such configuration file")
        load_parameters(Path(config))  # a bad key is refused now, not after the extract is loaded
    shards, dask = getattr(args, "shards", 1), getattr(args, "dask", None)
    if dask and shards == 1:
        raise UsageError("--dask runs shards on a cluster: give --shards N with N of 2 or more")
    if shards > 1 and getattr(args, "no_prefect", False):
        raise UsageError("--shards runs through Prefect's Dask task runner: it cannot be combined with --no-prefect")
    return AuditRequest(
        source=str(args.source or BUNDLED_SAMPLE), db_path=args.db, reports_dir=args.reports,
        source_format=args.format, period_start=getattr(args, "period_start", None),
        period_end=getattr(args, "period_end", None), config_path=config,
        lock_wait_seconds=getattr(args, "wait", 0.0), shards=shards, dask_address=dask)


def _progress(message: str) -> None:
    print(f"cramp-audit: {message}", file=sys.stderr, flush=True)


def _warn_about_db_name(db_path: str) -> None:
    from cramp_audit.db import ambiguous_name_warning

    warning = ambiguous_name_warning(db_path)
    if warning:
        print(f"cramp-audit: warning: {warning}", file=sys.stderr, flush=True)


def _check_database(request: AuditRequest) -> None:
    """Refuses a --db file that is not a DuckDB database (exit 2) before Prefect or the run start.
    (An unreadable extract is refused when the run opens its session, before the database too.)"""
    _refuse_foreign_database(Path(request.db_path))
    _warn_about_db_name(request.db_path)


def _refuse_foreign_database(db_path: Path) -> None:
    # A DuckDB file says "DUCK" at byte 8. Only a file without it is opened here (DuckDB then says what
    # is wrong): opening a real database would briefly lock it against a run that is starting.
    if db_path.is_dir() or (db_path.is_file() and _header(db_path)[8:12] != b"DUCK"):
        from cramp_audit.db import connect

        connect(db_path, read_only=True).close()


def _header(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(12)


def command_run(args: argparse.Namespace) -> int:
    from cramp_audit.summary import closing_lines

    request = _request(args)
    if request.dask_address:
        from cramp_audit.flows.sharded import refuse_without_server

        refuse_without_server(request)  # before the database is looked at
    _check_database(request)
    from cramp_audit.session import sigterm_interrupts

    with sigterm_interrupts():
        if request.shards > 1:
            from cramp_audit.flows.sharded import run_sharded

            summary = run_sharded(request, progress=_progress)
        elif args.no_prefect:
            from cramp_audit.pipeline import run_audit

            summary = run_audit(request, progress=_progress)
        else:
            from cramp_audit.flows.audit import run_flow

            summary = run_flow(request, progress=_progress)
    print("\n".join(closing_lines(request, summary)))
    return EXIT_OK


def command_validate(args: argparse.Namespace) -> int:
    from cramp_audit.load import check_extract
    from cramp_audit.summary import validation_table
    from cramp_audit.validation_summary import summarise

    extract, validations = check_extract(Path(args.source), args.format)
    print(validation_table(extract, summarise(extract, validations)))
    return EXIT_OK


def command_rules(args: argparse.Namespace) -> int:
    from cramp_audit.config import load_parameters
    from cramp_audit.rules_engine import catalogue_markdown, list_rules_text

    params = load_parameters(Path(args.config) if args.config else None)
    # The catalogue as docs/rules.md holds it (`make catalogue` redirects this), byte for byte.
    sys.stdout.write(catalogue_markdown(params) if args.markdown else list_rules_text(params) + "\n")
    return EXIT_OK


def command_schedule(args: argparse.Namespace) -> int:
    from cramp_audit.schedule import run_on_schedule
    from cramp_audit.transforms.registry import preflight

    args.period_start = args.period_end = None
    request = _request(args)
    preflight(Path(request.source), request.source_format)  # now, not at the first scheduled run
    _check_database(request)
    if args.no_prefect:
        run_on_schedule(args.cron, lambda: _scheduled_run(request, through_prefect=False))
        return EXIT_OK
    from cramp_audit.flows.audit import serve_on_schedule, uses_server
    from cramp_audit.flows.local_server import PrefectStartError, for_runs

    if uses_server():  # the server keeps the schedule
        serve_on_schedule(request, cron=args.cron, name=args.name)
        return EXIT_OK
    # Prefect's local server cannot schedule: this process keeps the clock, and one local server for its
    # whole life (started now, so a machine where it cannot start says so at once), used by every run.
    try:
        with for_runs(_progress):
            run_on_schedule(args.cron, lambda: _scheduled_run(request, through_prefect=True))
    except PrefectStartError as exc:
        print(f"cramp-audit: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def command_report(args: argparse.Namespace) -> int:
    from cramp_audit.pipeline import rebuild_reports

    _refuse_foreign_database(Path(args.db))
    _warn_about_db_name(args.db)
    from cramp_audit.session import sigterm_interrupts

    with sigterm_interrupts():
        out_dir = rebuild_reports(args.db, args.run_id, args.reports, progress=_progress)
    print(f"reports: {out_dir}")
    return EXIT_OK


def command_export(args: argparse.Namespace) -> int:
    from cramp_audit.export import export_measure_report

    _refuse_foreign_database(Path(args.db))
    _warn_about_db_name(args.db)
    path = export_measure_report(args.db, args.run_id, args.reports)
    print(f"measure report: {path}")
    return EXIT_OK


def command_sql(args: argparse.Namespace) -> int:
    from cramp_audit.db import NoDatabaseError
    from cramp_audit.sql_shell import run_command, run_prompt

    if not Path(args.db).is_file():
        raise NoDatabaseError(f"{args.db}: no such database file")
    _refuse_foreign_database(Path(args.db))
    _warn_about_db_name(args.db)
    if args.query is not None:
        run_command(args.db, args.query)
        return EXIT_OK
    return EXIT_USAGE if run_prompt(args.db) else EXIT_OK


def _scheduled_run(request: AuditRequest, through_prefect: bool) -> str:
    if through_prefect:
        from cramp_audit.flows.audit import run_flow

        summary = run_flow(request, progress=_progress)
    else:
        from cramp_audit.pipeline import run_audit

        summary = run_audit(request, progress=_progress)
    cohort = summary.evaluation.cohort
    return f"run {summary.run_id} {summary.status}: cohort {cohort:,} patients; reports: {summary.reports_dir}"


COMMANDS = {"run": command_run, "validate": command_validate, "rules": command_rules, "schedule": command_schedule,
            "report": command_report, "export": command_export, "sql": command_sql}


def main(argv: list[str] | None = None) -> int:
    from cramp_audit.config import ConfigError
    from cramp_audit.db import DatabaseBusyError, DatabaseWriteError, NoDatabaseError, NotADatabaseError, first_line
    from cramp_audit.flows.quiet import release_frames  # Prefect keeps a failed run's exception: see there
    from cramp_audit.ledger import UnreportableRunError
    from cramp_audit.reports import ReportWriteError
    from cramp_audit.session import RunTerminated
    from cramp_audit.shards import ClusterUsageError
    from cramp_audit.sql_shell import SqlError

    command = None
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        return COMMANDS[command](args)
    except (UsageError, ExtractError, ConfigError, NotADatabaseError, NoDatabaseError, UnreportableRunError,
            SqlError, ClusterUsageError) as exc:
        release_frames(exc)
        print(f"cramp-audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseBusyError as exc:
        release_frames(exc)
        print(f"cramp-audit: error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except KeyboardInterrupt as exc:
        release_frames(exc)
        what = "terminated" if isinstance(exc, RunTerminated) else "interrupted"
        after = ("no report was changed" if command == "report" else
                 "a run that had not published is marked failed and audit.* keeps none of its rows")
        print(f"cramp-audit: {what}; {after}", file=sys.stderr)
        return EXIT_FAILED
    except (DatabaseWriteError, ReportWriteError) as exc:
        release_frames(exc)
        print(f"cramp-audit: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the last line a user sees; the ledger has the details
        release_frames(exc)
        what = "the run failed" if command in ("run", "schedule") else f"{command} failed"
        print(f"cramp-audit: error: {what}: {type(exc).__name__}: {first_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
