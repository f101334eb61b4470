"""The honesty benchmark: how often are the verdicts right about the generator's planted changes?

For each seed: write synthetic extracts (`oba generate`), run the real refresh on them, read the published
`indicator_values`, and for every planted change freeze a baseline the month before the change takes
effect (as a partnership starting a cycle that day would), then judge the following 24 months; where the
monthly figures are too small or too suppressed for a verdict, judge the reporting years instead (baseline
frozen at the last full year before the change, the next 3 years judged, sustained for 2). Pairs of
indicator and area where nothing was planted are judged from the same date: any verdict of better or
worse there is a false alarm.

    python -m oba_pipeline.turn_the_curve.honesty --seeds 20 [--first-seed 1] [--work DIR]

Refreshed seeds are cached in the work folder, so a second run only re-judges. Prints the figures and
writes them to `honesty.json` in the work folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import yaml

from oba_pipeline.catalogue import Indicator, load_catalogue
from oba_pipeline.turn_the_curve.build import measure_of
from oba_pipeline.turn_the_curve.forecast import add_months, fit_baseline
from oba_pipeline.turn_the_curve.records import VINTAGE_HORIZON
from oba_pipeline.turn_the_curve.series import measure_series
from oba_pipeline.turn_the_curve.verdicts import SUSTAINED_K, Verdict, judge

log = logging.getLogger(__name__)

# Planted changes smaller than this (realised, relative) are not "of the size a partnership would care
# about": they are reported but left out of recall.
MATTERS = 0.05
DEFAULT_WORK = Path(".oba-bench") / "honesty"
YEARLY_K = 2


@dataclass
class Judgement:
    seed: int
    kind: str  # planted | non_change | knock_on
    indicator_id: str
    area_code: str
    cutoff: str
    expected: str  # better | worse | none
    overall: str
    realised_change: float | None = None
    reason: str = ""
    period_type: str = "month"


@dataclass
class Summary:
    seeds: list[int]
    planted: int = 0
    found: int = 0
    planted_small: int = 0
    found_small: int = 0
    planted_withheld: int = 0
    non_changes: int = 0
    false_alarms: int = 0
    non_change_withheld: int = 0
    non_change_slowing: int = 0
    knock_on: int = 0
    knock_on_found: int = 0
    by_change: dict[str, str] = field(default_factory=dict)
    refresh_seconds_per_seed: float | None = None
    judge_seconds_per_seed: float = 0.0

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else float("nan")

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.non_changes if self.non_changes else float("nan")


def prepare_seed(seed: int, work: Path) -> tuple[pl.DataFrame, dict, float | None]:
    """The published indicator values and ground truth for one seed, generating and refreshing if needed."""
    from oba_pipeline.config import Home
    from oba_pipeline.generate import generate
    from oba_pipeline.publish import current_snapshot
    from oba_pipeline.refresh import run_refresh

    folder = work / f"seed{seed}"
    cached = folder / "indicator_values.parquet"
    extracts = folder / "extracts"
    elapsed = None
    if not cached.exists():
        started = time.perf_counter()
        generate(extracts, seed=seed, scale="sample")
        home = Home(folder / "home")
        outcome = run_refresh(home, extracts)
        snapshot = current_snapshot(home)
        if not outcome.success or snapshot is None:
            raise RuntimeError(f"seed {seed}: the refresh failed: {outcome.failures or outcome.failed_checks}")
        with duckdb.connect(str(snapshot / "oba.duckdb"), read_only=True) as con:
            con.execute("select * from indicator_values").pl().write_parquet(cached)
        elapsed = time.perf_counter() - started
    truth = yaml.safe_load((extracts / "ground_truth.yaml").read_text(encoding="utf-8"))
    return pl.read_parquet(cached), truth, elapsed


def judge_seed(seed: int, values: pl.DataFrame, truth: dict, k: int = SUSTAINED_K) -> list[Judgement]:
    """Judge every planted change, knock-on effect and planted non-change of one seed."""
    catalogue = load_catalogue()
    authority = truth["authorities"][0]
    cutoffs: dict[str, date] = {}
    items: list[tuple[str, str, str, str, float | None]] = []
    for change in authority["planted_changes"]:
        effect_from = date.fromisoformat(change["effect_from"])
        cutoffs[change["indicator"]] = add_months(effect_from, -1)
        realised = change.get("realised", {}).get("relative_change")
        items.append(("planted", change["indicator"], change["area"], change["valence"], realised))
    items += [("knock_on", k_["indicator"], k_["area"], _valence_of(authority, k_["because"]), None)
              for k_ in authority.get("knock_on_effects", [])]
    items += [("non_change", n["indicator"], n["area"], "none", None) for n in authority["planted_non_changes"]]
    out = []
    for kind, indicator_id, area, expected, realised in items:
        indicator = catalogue.get(indicator_id)
        cutoff = cutoffs[indicator_id]
        verdict = _judge_as_of(values, indicator, area, "month", cutoff, k)
        period_type = "month"
        if verdict.overall == "withheld" and "reporting_year" in indicator.periods:
            # Monthly figures too small or too suppressed: a partnership would read the reporting years.
            verdict = _judge_as_of(values, indicator, area, "reporting_year", _last_full_year_before(cutoff),
                                   YEARLY_K)
            period_type = "reporting_year"
        out.append(Judgement(seed, kind, indicator_id, area, cutoff.isoformat(), expected, verdict.overall,
                             realised, verdict.reason, period_type))
    return out


def _judge_as_of(values: pl.DataFrame, indicator: Indicator, area: str, period_type: str, cutoff: date,
                 k: int) -> Verdict:
    series = measure_series(values, indicator.id, area, period_type)
    baseline = fit_baseline(series.periods, series.values, period_type=period_type, cutoff=cutoff,
                            horizon=VINTAGE_HORIZON[period_type], unit=indicator.unit)
    return judge(measure_of(indicator), series, baseline, k=k)


def _last_full_year_before(cutoff: date) -> date:
    """The start of the last reporting year (April to March) that ends on or before the cutoff month."""
    following = add_months(cutoff, 1)
    year_start = date(following.year if following.month >= 4 else following.year - 1, 4, 1)
    return add_months(year_start, -12)


def _valence_of(authority: dict, change_id: str) -> str:
    return next(c["valence"] for c in authority["planted_changes"] if c["id"] == change_id)


def summarise(judgements: list[Judgement], seeds: list[int]) -> Summary:
    summary = Summary(seeds=seeds)
    outcomes: dict[str, Counter] = {}
    for j in judgements:
        if j.kind == "planted":
            small = j.realised_change is not None and abs(j.realised_change) < MATTERS
            hit = j.overall == j.expected
            outcomes.setdefault(f"{j.indicator_id} in {'the authority' if j.area_code.isdigit() else j.area_code}"
                                f" ({j.expected})", Counter())[j.overall] += 1
            if small:
                summary.planted_small += 1
                summary.found_small += hit
                continue
            summary.planted += 1
            summary.found += hit
            summary.planted_withheld += j.overall == "withheld"
        elif j.kind == "knock_on":
            summary.knock_on += 1
            summary.knock_on_found += j.overall == j.expected
        else:
            summary.non_changes += 1
            summary.false_alarms += j.overall in ("better", "worse")
            summary.non_change_withheld += j.overall == "withheld"
            summary.non_change_slowing += j.overall == "slowing"
    summary.by_change = {name: ", ".join(f"{v} {n}" for v, n in counts.most_common())
                         for name, counts in outcomes.items()}
    return summary


def run(seeds: list[int], work: Path, k: int = SUSTAINED_K) -> tuple[Summary, list[Judgement]]:
    os.environ.setdefault("OBA_PSEUDONYM_KEY", secrets.token_hex(32))  # synthetic data: a throwaway key
    judgements: list[Judgement] = []
    refresh_times: list[float] = []
    judge_time = 0.0
    for seed in seeds:
        values, truth, elapsed = prepare_seed(seed, work)
        if elapsed is not None:
            refresh_times.append(elapsed)
        started = time.perf_counter()
        judgements += judge_seed(seed, values, truth, k)
        judge_time += time.perf_counter() - started
        log.info("seed %s judged", seed)
    summary = summarise(judgements, seeds)
    summary.refresh_seconds_per_seed = sum(refresh_times) / len(refresh_times) if refresh_times else None
    summary.judge_seconds_per_seed = judge_time / len(seeds)
    return summary, judgements


def report(summary: Summary) -> str:
    lines = [
        f"Seeds: {len(summary.seeds)} ({summary.seeds[0]} to {summary.seeds[-1]})",
        f"Recall on planted changes of at least {MATTERS:.0%}: {summary.found}/{summary.planted} = "
        f"{summary.recall:.1%} (withheld: {summary.planted_withheld})",
        f"False alarms on planted non-changes: {summary.false_alarms}/{summary.non_changes} = "
        f"{summary.false_alarm_rate:.1%} (withheld: {summary.non_change_withheld}; 'slowing': "
        f"{summary.non_change_slowing})",
        f"Planted changes below {MATTERS:.0%} realised (not in recall): found {summary.found_small}/"
        f"{summary.planted_small}",
        f"Knock-on effects (diluted into the authority) found: {summary.knock_on_found}/{summary.knock_on}",
        "By planted change (verdict: count):",
        *[f"  {name}: {outcome}" for name, outcome in summary.by_change.items()],
        f"Time per seed: judging {summary.judge_seconds_per_seed:.2f} s"
        + (f"; generate + refresh {summary.refresh_seconds_per_seed:.0f} s"
           if summary.refresh_seconds_per_seed else "; refresh cached"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"cache folder (default {DEFAULT_WORK})")
    parser.add_argument("--k", type=int, default=SUSTAINED_K, help="periods a turn must be sustained")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    args.work.mkdir(parents=True, exist_ok=True)
    summary, judgements = run(seeds, args.work, args.k)
    text = report(summary)
    sys.stdout.write(text + "\n")
    (args.work / "honesty.json").write_text(json.dumps(
        {"summary": {**asdict(summary), "recall": summary.recall, "false_alarm_rate": summary.false_alarm_rate},
         "judgements": [asdict(j) for j in judgements]}, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
