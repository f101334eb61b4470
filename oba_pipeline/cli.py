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


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
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
    export.add_argument("dir", type=Path)
    export.set_defaults(handler=_export)

    generate = commands.add_parser("generate", help="write synthetic extracts")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--scale", default="sample", help="sample (default) or tiny")
    generate.add_argument("dir", type=Path)
    generate.set_defaults(handler=_generate)
    return parser


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

    home = Home.from_env()
    print(f"Dashboard: http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)
    _interrupt_on_signals()
    with contextlib.suppress(KeyboardInterrupt):
        serve(home, host=args.host, port=args.port)
    return 0


def _export(args: argparse.Namespace) -> int:
    from oba_pipeline.export import NothingPublishedError, export_published

    try:
        written = export_published(Home.from_env(), args.dir, args.format)
    except NothingPublishedError as error:
        print(error, file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def _generate(args: argparse.Namespace) -> int:
    from oba_pipeline.generate import generate

    truth = generate(args.dir, seed=args.seed, scale=args.scale)
    print(f"Wrote synthetic extracts to {args.dir} (ground truth: {truth})")
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
    print(f"Refreshing on the sample data in {SAMPLE_DATA_DIR} (home: {home.root}) ...", flush=True)
    outcome = run_refresh(home, SAMPLE_DATA_DIR)
    print(describe(outcome), flush=True)
    if not outcome.success:
        return 1
    if args.no_serve:
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
        from dashboards.app import serve

        serve(home, host="127.0.0.1", port=args.port)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(dagster)
    return 0


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
