"""Benchmark (not a test): how long a nightly refresh takes in full and when only the latest month changed.

Run from the repository root:  .venv/bin/python tests/bench_refresh.py [--scale sample|tiny]
It writes synthetic extracts to a temporary folder, refreshes on them without the latest month, then
with it (the incremental refresh), then the same extracts with --full, and prints the wall time of each
and how many indicator periods were recomputed. Figures go in the README with the machine they ran on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from oba_pipeline.config import Home
from oba_pipeline.generate import generate
from oba_pipeline.refresh import run_refresh

MONTH_COLUMNS = {"referrals.csv": "referral_date", "caseloads.csv": "snapshot_date", "spend.csv": "period_month",
                 "family_outcomes.csv": "reading_date"}


def indicator_seconds(home: Home, run_id: str) -> float:
    """Seconds the indicator_values step took in one run, from the Dagster event log."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    instance = dg.DagsterInstance.get()
    stats = {s.step_key: s for s in instance.get_run_step_stats(run_id)}
    step = stats["indicator_values"]
    return float((step.end_time or 0) - (step.start_time or 0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="sample")
    args = parser.parse_args()
    os.environ.setdefault("OBA_PSEUDONYM_KEY", "benchmark-key-0123456789abcdef0123456789")
    root = Path(tempfile.mkdtemp(prefix="oba-bench-"))
    try:
        full = root / "full"
        generate(full, seed=42, scale=args.scale)
        dates = pl.read_csv(full / "referrals.csv", infer_schema=False).get_column("referral_date")
        month = str(dates.filter(dates.str.contains(r"^\d{4}-\d{2}-\d{2}$")).str.slice(0, 7).max())
        before = root / "before"
        shutil.copytree(full, before)
        for name, column in MONTH_COLUMNS.items():
            frame = pl.read_csv(full / name, infer_schema=False)
            frame.filter(~pl.col(column).fill_null("").str.starts_with(month)).write_csv(before / name)
        home = Home(root / "home")
        for label, inputs, full_refresh in [("first refresh (all history)", before, False),
                                            (f"incremental: {month} added", full, False),
                                            ("same extracts, --full", full, True),
                                            ("same extracts again (nothing changed)", full, False)]:
            started = time.perf_counter()
            outcome = run_refresh(home, inputs, full=full_refresh, notify_failures=False)
            seconds = time.perf_counter() - started
            assert outcome.success, outcome.failures + outcome.failed_checks
            con = duckdb.connect(str(home.warehouse), read_only=True)
            recomputed = con.execute("select count(*) from recomputed_periods").fetchone()[0]  # type: ignore[index]
            total = con.execute("select count(distinct (indicator_id, period_type, period_start)) "
                                "from indicator_values").fetchone()[0]  # type: ignore[index]
            con.close()
            step = indicator_seconds(home, outcome.run_id)
            print(f"{label:<40} refresh {seconds:6.1f} s   indicator step {step:5.1f} s"
                  f"   periods recomputed {recomputed:>5} of {total}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
