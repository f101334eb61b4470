"""The `oba` command: parses arguments and calls the library. No logic lives here."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from oba_pipeline.config import REPO_ROOT, SAMPLE_DATA_DIR, Home

log = logging.getLogger("oba")

DEMO_DIR = Path(".oba-demo")
DEMO_HOME_LA = "206"  # Islington: the published authority the demo compares (OBA_HOME_LA overrides)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.handler is _bench:
        args.bench_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.home:
        os.environ["OBA_HOME"] = str(Path(args.home).resolve())
    return int(args.handler(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oba", description="Outcomes-Based Accountability toolkit for "
                                     "children's services partnerships.")
    parser.add_argument("--home", help="state folder (default: $OBA_HOME, else ./.oba-home)")
    parser.add_argument("--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="sample data, full refresh, then serve the dashboard and Dagster UI")
    demo.add_argument("--port", type=int, default=8050, help="dashboard port (default 8050)")
    demo.add_argument("--dagster-port", type=int, default=3000, help="Dagster UI port (default 3000)")
    demo.add_argument("--no-serve", action="store_true", help="refresh only; do not start the servers")
    demo.set_defaults(handler=_demo)

    refresh = commands.add_parser("refresh", help="load, validate, compute and publish")
    refresh.add_argument("--input", type=Path, default=SAMPLE_DATA_DIR, help="folder holding the extracts")
    refresh.add_argument("--full", action="store_true", help="recompute all history, not only the changed months")
    refresh.add_argument("--backfill", metavar="FROM:TO",
                         help="also recompute the months FROM to TO (YYYY-MM:YYYY-MM) whatever changed")
    refresh.set_defaults(handler=_refresh)

    status = commands.add_parser("status", help="what is published, what the last refresh did and what failed")
    status.set_defaults(handler=_status)

    rollback = commands.add_parser("rollback", help="make the previous published snapshot live again")
    rollback.add_argument("--to", metavar="SNAPSHOT", help="a kept snapshot's id (see `oba status`)")
    rollback.set_defaults(handler=_rollback)

    serve = commands.add_parser("serve", help="serve the dashboard on the last published data")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.set_defaults(handler=_serve)

    export = commands.add_parser("export", help="write every published table to a folder")
    export.add_argument("--format", choices=("csv", "parquet", "xlsx"), default="csv")
    export.add_argument("--audience", choices=("standard", "public"), default="standard",
                        help="standard (default) or the public subset under the stricter public profile")
    export.add_argument("dir", type=Path)
    export.set_defaults(handler=_export)

    generate = commands.add_parser("generate", help="write synthetic extracts")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--scale", default="sample",
                          help="sample (default), tiny, regional (30 authorities) or national (153)")
    generate.add_argument("--workers", type=int, default=1,
                          help="processes simulating authorities side by side (regional, national)")
    generate.add_argument("dir", type=Path)
    generate.set_defaults(handler=_generate)

    bench = commands.add_parser("bench", help="benchmark refresh, dashboard and a pandas yardstick by scale",
                                add_help=False)
    bench.set_defaults(handler=_bench)  # its options are the benchmark module's: `oba bench --help`

    _users_parser(commands)
    _add_ttc_commands(commands)
    return parser


def _users_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`oba users ...`: dashboard accounts and roles (stored in the application database)."""
    from oba_pipeline.appdb.accounts import ROLES

    users = commands.add_parser("users", help="dashboard accounts: add, list, role, reset-password, remove")
    actions = users.add_subparsers(required=True, metavar="ACTION")
    roles = ", ".join(ROLES)
    add = actions.add_parser("add", help="add an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=list(ROLES), help=f"one of {roles}")
    add.add_argument("--area", action="append", default=[], help="area code (partnership members; repeatable)")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from standard input (never from the command line)")
    add.set_defaults(handler=_users, action="add")
    listing = actions.add_parser("list", help="list accounts and roles")
    listing.set_defaults(handler=_users, action="list")
    role = actions.add_parser("role", help="change an account's role (and areas)")
    role.add_argument("username")
    role.add_argument("role", choices=list(ROLES))
    role.add_argument("--area", action="append", default=[])
    role.set_defaults(handler=_users, action="role")
    reset = actions.add_parser("reset-password", help="set a new password, read from standard input")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", required=True)
    reset.set_defaults(handler=_users, action="reset-password")
    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("username")
    remove.set_defaults(handler=_users, action="remove")


def _users(args: argparse.Namespace) -> int:
    import getpass

    from oba_pipeline.appdb import accounts, create_schema, make_engine, record_audit, session_scope

    engine = make_engine(home=Home.from_env())
    create_schema(engine)
    actor = f"cli:{getpass.getuser()}"
    try:
        with session_scope(engine) as session:
            if args.action == "list":
                for view in accounts.list_accounts(session):
                    areas = f"  areas: {', '.join(view.areas)}" if view.areas else ""
                    print(f"{view.username:<24} {view.role:<20}{areas}")
                return 0
            if args.action == "add":
                view = accounts.add_account(session, args.username, args.role, _read_password(),
                                            tuple(args.area))
                record_audit(session, actor, "account_add", view.username, role=view.role, areas=list(view.areas))
                print(f"Added {view.username} ({view.role}).")
            elif args.action == "role":
                view = accounts.change_role(session, args.username, args.role, tuple(args.area))
                record_audit(session, actor, "account_role", view.username, role=view.role, areas=list(view.areas))
                print(f"{view.username} is now {view.role}.")
            elif args.action == "reset-password":
                view = accounts.reset_password(session, args.username, _read_password())
                record_audit(session, actor, "account_password_reset", view.username)
                print(f"New password set for {view.username}.")
            elif args.action == "remove":
                accounts.remove_account(session, args.username)
                record_audit(session, actor, "account_remove", args.username.strip().lower())
                print(f"Removed {args.username}.")
    except accounts.AccountError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _read_password() -> str:
    """The password from standard input: the first line, without its line ending."""
    from oba_pipeline.appdb.accounts import AccountError

    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise AccountError("No password on standard input: pipe it in, e.g. "
                           "`read -rs PW && printf '%s\\n' \"$PW\" | oba users add NAME --role ROLE --password-stdin`.")
    return line


def _add_ttc_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`oba ttc ...`: turn-the-curve cycles, scenarios and targets (see oba_pipeline/turn_the_curve)."""
    ttc = commands.add_parser("ttc", help="turn the curve: start a cycle, add a scenario, set a target, list")
    actions = ttc.add_subparsers(required=True, metavar="ACTION")

    def measure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("indicator", help="catalogue id, e.g. referral_rate")
        parser.add_argument("area", help="area code: the authority's 3-digit code or a locality code")
        parser.add_argument("--period", choices=("month", "reporting_year"), default="month")
        parser.add_argument("--by", default=os.environ.get("USER", "unknown"), help="who is recording this")

    start = actions.add_parser("start", help="start a cycle: freeze the measure's baseline as it stands today")
    measure(start)
    start.add_argument("--name", required=True, help="what the cycle is called")
    start.set_defaults(handler=_ttc, action="start")
    scenario = actions.add_parser("scenario", help="add a named forecast scenario beside the statistical one")
    measure(scenario)
    scenario.add_argument("--name", required=True)
    scenario.add_argument("--reason", required=True, help="what partners know that the statistics do not")
    scenario.add_argument("values", nargs="+", help="PERIOD=VALUE, e.g. 2027-03=540")
    scenario.set_defaults(handler=_ttc, action="scenario")
    target = actions.add_parser("target", help="set the target for a measure in an area")
    measure(target)
    target.add_argument("value", type=float)
    target.add_argument("--note", default="")
    target.set_defaults(handler=_ttc, action="target")
    listing = actions.add_parser("list", help="list cycles, scenarios and targets")
    listing.set_defaults(handler=_ttc, action="list")


def _ttc(args: argparse.Namespace) -> int:
    from oba_pipeline.turn_the_curve import commands
    from oba_pipeline.turn_the_curve.records import RecordError

    home = Home.from_env()
    try:
        if args.action == "start":
            message = commands.start_cycle(home, indicator_id=args.indicator, area_code=args.area,
                                           period_type=args.period, name=args.name, by=args.by)
        elif args.action == "scenario":
            message = commands.add_scenario(home, indicator_id=args.indicator, area_code=args.area,
                                            period_type=args.period, name=args.name, by=args.by,
                                            reason=args.reason, items=args.values)
        elif args.action == "target":
            message = commands.set_target(home, indicator_id=args.indicator, area_code=args.area,
                                          period_type=args.period, value=args.value, by=args.by, note=args.note)
        else:
            message = commands.list_records(home)
    except RecordError as error:
        print(f"oba ttc {args.action}: {error}", file=sys.stderr)
        return 1
    print(message)
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from oba_pipeline.refresh import describe, run_refresh

    home = Home.from_env()
    backfill = None
    if args.backfill:
        first, _, last = args.backfill.partition(":")
        backfill = (first, last or first)
    outcome = run_refresh(home, args.input, log_level="INFO" if args.verbose else "WARNING", full=args.full,
                          backfill=backfill)
    print(describe(outcome))
    return 0 if outcome.success else 1


def _status(args: argparse.Namespace) -> int:
    from oba_pipeline.orchestration.status import status_report

    print(status_report(Home.from_env()))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from oba_pipeline.publish import RollbackError, WriterBusyError, rollback

    try:
        before, after = rollback(Home.from_env(), to=args.to)
    except (RollbackError, WriterBusyError) as error:
        print(error, file=sys.stderr)
        return 1
    undo = f" Undo with `oba rollback --to {before.name}`." if before else ""
    print(f"Rolled back: the dashboard now serves snapshot {after.name} (was {before.name if before else 'nothing'})."
          + undo)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from dashboards.app import serve
    from dashboards.auth import MissingSecretError, secret_key

    home = Home.from_env()
    try:
        secret_key()
    except MissingSecretError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Dashboard: http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    _interrupt_on_signals()
    with contextlib.suppress(KeyboardInterrupt):
        serve(home, host=args.host, port=args.port)
    return 0


def _export(args: argparse.Namespace) -> int:
    from oba_pipeline.export import DisclosureBreachError, NothingPublishedError, export_published

    home = Home.from_env()
    try:
        written = export_published(home, args.dir, args.format, audience=args.audience)
    except (NothingPublishedError, DisclosureBreachError) as error:
        print(error, file=sys.stderr)
        return 1
    _audit_cli(home, "export", str(args.dir.resolve()), format=args.format, audience=args.audience,
               files=[p.name for p in written])
    for path in written:
        print(path)
    return 0


def _audit_cli(home: Home, action: str, target: str, **detail: object) -> None:
    """Record a command-line action in the application database's audit trail."""
    import getpass

    from oba_pipeline.appdb import create_schema, make_engine, record_audit, session_scope

    engine = make_engine(home=home)
    try:
        create_schema(engine)
        with session_scope(engine) as session:
            record_audit(session, f"cli:{getpass.getuser()}", action, target, **detail)
    finally:
        engine.dispose()


def _generate(args: argparse.Namespace) -> int:
    from oba_pipeline.generate import generate

    try:
        truth = generate(args.dir, seed=args.seed, scale=args.scale, workers=args.workers)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"Wrote synthetic extracts to {args.dir} (ground truth: {truth})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from oba_pipeline.perf import bench

    bench.main(args.bench_args)
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Set up a demo home with its own pseudonymisation key, refresh on the sample data, serve both UIs."""
    from oba_pipeline.refresh import describe, prepare_instance, run_refresh

    demo_root = DEMO_DIR.resolve()
    home = Home.from_env(os.environ.get("OBA_HOME") or demo_root / "home").ensure()
    os.environ["OBA_HOME"] = str(home.root)
    # The key lives beside the demo home, never inside the data folder.
    key_file = demo_root / "keys" / "pseudonym.key"
    if not os.environ.get("OBA_PSEUDONYM_KEY") and not os.environ.get("OBA_PSEUDONYM_KEY_FILE"):
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32), encoding="utf-8")
            key_file.chmod(0o600)
        os.environ["OBA_PSEUDONYM_KEY_FILE"] = str(key_file)
    secret_file = demo_root / "keys" / "secret.key"
    if not os.environ.get("OBA_SECRET_KEY"):
        os.environ["OBA_SECRET_KEY"] = _demo_key(secret_file)
    sign_in = _demo_account(home, demo_root / "keys" / "demo-account.txt")
    # Northwold (999) is not a real authority: the demo benchmarks a real one (see oba_pipeline/benchmarks/home.py).
    os.environ.setdefault("OBA_HOME_LA", DEMO_HOME_LA)
    print(f"Refreshing on the sample data in {SAMPLE_DATA_DIR} (home: {home.root}) ...", flush=True)
    outcome = run_refresh(home, SAMPLE_DATA_DIR)
    print(describe(outcome), flush=True)
    if not outcome.success:
        return 1
    if args.no_serve:
        print(f"Dashboard sign-in: {sign_in[0]} / {sign_in[1]} (demo data team account)", flush=True)
        return 0
    prepare_instance(home)
    _interrupt_on_signals()
    env = {**os.environ, "OBA_INPUT_DIR": str(SAMPLE_DATA_DIR), "DAGSTER_HOME": str(home.dagster_home)}
    dagster = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(args.dagster_port),
         "-w", str(REPO_ROOT / "workspace.yaml")],
        cwd=REPO_ROOT, env=env, start_new_session=True,
        stdout=open(home.logs / "dagster.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    try:
        _wait_for(f"http://127.0.0.1:{args.dagster_port}/server_info", timeout=90)
        print(f"Dagster UI: http://127.0.0.1:{args.dagster_port}/", flush=True)
        print(f"Dashboard:  http://127.0.0.1:{args.port}/  (Ctrl-C stops both)", flush=True)
        print(f"Sign in as  {sign_in[0]}  with password  {sign_in[1]}  (demo data team account)", flush=True)
        from dashboards.app import serve

        serve(home, host="127.0.0.1", port=args.port)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(dagster)
    return 0


def _demo_key(path: Path) -> str:
    """A random secret kept in a file beside the demo home (never in the data folder), made once."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


DEMO_USER = "demo"


def _demo_account(home: Home, details: Path) -> tuple[str, str]:
    """The demo's data team account: made once with a random password, kept beside the demo keys."""
    from oba_pipeline.appdb import create_schema, make_engine, record_audit, session_scope
    from oba_pipeline.appdb.accounts import add_account, list_accounts, reset_password

    engine = make_engine(home=home)
    try:
        create_schema(engine)
        with session_scope(engine) as session:
            exists = any(view.username == DEMO_USER for view in list_accounts(session))
            if exists and details.exists():
                return DEMO_USER, details.read_text(encoding="utf-8").strip()
            password = secrets.token_urlsafe(12)
            if exists:
                reset_password(session, DEMO_USER, password)
            else:
                add_account(session, DEMO_USER, "data_team", password)
            record_audit(session, "oba demo", "account_add", DEMO_USER, role="data_team")
    finally:
        engine.dispose()
    details.parent.mkdir(parents=True, exist_ok=True)
    details.write_text(password, encoding="utf-8")
    details.chmod(0o600)
    return DEMO_USER, password


def _wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.5)
    log.warning("%s did not answer within %.0f s; see the logs folder", url, timeout)


def _interrupt_on_signals() -> None:
    """Make SIGTERM and SIGINT stop the servers cleanly, even when the parent started us with them ignored."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, interrupt)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    raise SystemExit(main())
