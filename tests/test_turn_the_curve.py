"""Turn the curve, unit level: hand-worked series for each verdict, intervals, records and tables."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.turn_the_curve import build
from oba_pipeline.turn_the_curve.build import build_tables
from oba_pipeline.turn_the_curve.forecast import Baseline, NoBaseline, WarmStart, add_months, fit_baseline
from oba_pipeline.turn_the_curve.intervals import value_interval
from oba_pipeline.turn_the_curve.records import (
    CycleRecord,
    Records,
    ScenarioRecord,
    add_scenario,
    load_records,
    set_target,
    start_cycle,
)
from oba_pipeline.turn_the_curve.scorecard import scorecard_row, trend_run
from oba_pipeline.turn_the_curve.series import in_series_order, period_label, period_labels
from oba_pipeline.turn_the_curve.story import decompose
from oba_pipeline.turn_the_curve.verdicts import Measure, Series, judge
from oba_pipeline.workers import WorkersSettingError

START = date(2021, 4, 1)


def months(n: int) -> list[date]:
    return [add_months(START, i) for i in range(n)]


def series_of(values: list[float | None], numerators: list[float | None] | None = None,
              denominators: list[float | None] | None = None) -> Series:
    n = len(values)
    return Series(months(n), values, numerators or [None] * n, denominators or [None] * n)


def ratio(polarity: str) -> Measure:
    """A measure without counts behind it (no small-number intervals), e.g. caseload per worker."""
    return Measure("test", polarity, "ratio", 1.0, 1)


def judged(values: list[float | None], polarity: str, cutoff_index: int, *, measure: Measure | None = None,
           series: Series | None = None):
    series = series or series_of(values)
    baseline = fit_baseline(series.periods, series.values, period_type="month", cutoff=series.periods[cutoff_index],
                            horizon=24, unit=(measure or ratio(polarity)).unit)
    return judge(measure or ratio(polarity), series, baseline, k=3), baseline


def noise(seed: int, n: int, sd: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, sd, n)


# --- hand-worked verdicts -------------------------------------------------------------------------------

def test_a_clear_turn_is_found_and_its_direction_follows_polarity() -> None:
    # Flat at 20 for three years, then 16 for a year: a fall of four standard deviations... of the noise.
    values = list(20 + noise(1, 48))
    values[36:] = [v - 4 for v in values[36:]]
    verdict, baseline = judged(values, "lower_is_better", 35)
    assert isinstance(baseline, Baseline)
    assert verdict.overall == "better"
    assert verdict.tests["beyond_interval"].result == "better"
    assert "below the interval" in verdict.tests["beyond_interval"].evidence
    assert verdict.tests["sustained"].result == "better"
    assert judged(values, "higher_is_better", 35)[0].overall == "worse"
    assert judged(values, "neutral", 35)[0].overall == "lower"


def test_a_slowing_is_told_apart_from_a_turn() -> None:
    # Rising by 1 a month for three years (bad: lower is better), then by 0.25 a month: still worse, more slowly.
    t = np.arange(48, dtype=float)
    values = list(50 + np.where(t < 36, t, 35 + 0.25 * (t - 35)) + noise(2, 48, 0.5))
    verdict, _ = judged(values, "lower_is_better", 35)
    assert verdict.tests["slowing"].result == "better"
    assert verdict.tests["slope_turned"].result == "no"  # the slope is still upward, in the bad direction
    assert "before +" in verdict.tests["slowing"].evidence
    assert verdict.overall in {"better", "slowing"}
    # The same curve for a measure where higher is better was never worsening, so it cannot be slowing.
    assert judged(values, "higher_is_better", 35)[0].tests["slowing"].result == "no"


def test_no_change_gives_no_verdict_of_a_turn() -> None:
    # Pure noise around a level: no seed may claim a turn (the false alarm this guards against).
    claims = []
    for seed in range(10):
        verdict, _ = judged(list(30 + noise(100 + seed, 48)), "lower_is_better", 35)
        claims.append(verdict.overall)
    assert claims.count("better") + claims.count("worse") <= 1, claims
    assert all(c in {"on_baseline", "better", "worse", "slowing"} for c in claims)


def test_a_series_too_short_is_withheld_with_the_reason() -> None:
    verdict, baseline = judged([5.0, 6.0, 5.5, 4.0, 3.0], "lower_is_better", 2)
    assert isinstance(baseline, NoBaseline)
    assert verdict.overall == "withheld"
    assert "at least 4" in verdict.reason
    assert all(t.result == "withheld" for t in verdict.tests.values())


def test_numbers_too_small_are_withheld_with_the_reason() -> None:
    # A percentage of about 3 out of 10 each month: the pooled interval of the year is too wide to judge.
    n = 40
    rng = np.random.default_rng(5)
    numerators = [float(x) for x in rng.binomial(10, 0.3, n)]
    denominators = [10.0] * n
    values = [a / b * 100 for a, b in zip(numerators, denominators, strict=True)]
    measure = Measure("test_pct", "higher_is_better", "percent", 100.0, 1)
    series = series_of(values, numerators, denominators)
    baseline = fit_baseline(series.periods, series.values, period_type="month", cutoff=series.periods[37],
                            horizon=24, unit="percent")
    verdict = judge(measure, series, baseline, k=3)
    assert verdict.overall == "withheld"
    assert "numbers too small" in verdict.reason


def test_nothing_is_fitted_through_a_suppressed_point() -> None:
    values: list[float | None] = list(40 + noise(3, 40))
    values[10] = None  # suppressed
    baseline = fit_baseline(months(40), values, period_type="month", cutoff=months(40)[35], horizon=6, unit="ratio")
    assert isinstance(baseline, Baseline)
    assert baseline.fitted_from == months(40)[11]  # the run after the gap
    assert baseline.fitted_points == 25
    assert "not used" in baseline.note
    assert [p.period_start for p in baseline.points] == months(42)[36:42]
    assert all(p.lower <= p.forecast <= p.upper and p.mean_lower <= p.mean_upper for p in baseline.points)


def test_seasonal_history_gets_a_seasonal_forecast() -> None:
    season = np.tile([0, 2, 4, -3, 1, 3, 0, -12, 1, 6, 7, 3], 5)
    values = list(100 + season + noise(4, 60, 0.8))
    baseline = fit_baseline(months(60), values, period_type="month", cutoff=months(60)[-1], horizon=12)
    assert isinstance(baseline, Baseline) and baseline.method == "ets_damped_seasonal"
    # The November dip (index 7 of the pattern) is forecast again.
    forecast = {p.period_start.month: p.forecast for p in baseline.points}
    assert forecast[11] < forecast[10] - 6


def test_percent_forecasts_stay_within_0_and_100() -> None:
    values = list(np.clip(97 + np.arange(30) * 0.2 + noise(6, 30), 0, 100))
    baseline = fit_baseline(months(30), values, period_type="month", cutoff=months(30)[-1], horizon=24, unit="percent")
    assert isinstance(baseline, Baseline)
    assert all(p.lower >= 0 and p.upper <= 100 for p in baseline.points)


def test_a_fit_started_from_the_latest_fit_lands_on_the_same_baseline() -> None:
    # The provisional baseline (a year less of the same run) starts from the latest forecast's parameters.
    season = np.tile([0, 2, 4, -3, 1, 3, 0, -12, 1, 6, 7, 3], 5)
    values = list(100 + season + np.arange(60) * 0.1 + noise(8, 60, 0.8))
    warm = WarmStart()
    latest = fit_baseline(months(60), values, period_type="month", cutoff=months(60)[-1], horizon=12, warm=warm)
    assert isinstance(latest, Baseline) and warm.run_start == months(60)[0]
    # Both candidates' parameters are kept: either may win on the shorter run.
    assert {name: len(p) for name, p in warm.params.items()} == {"ets_damped": 5, "ets_damped_seasonal": 18}
    cold = fit_baseline(months(60), values, period_type="month", cutoff=months(60)[47], horizon=12)
    started = fit_baseline(months(60), values, period_type="month", cutoff=months(60)[47], horizon=12, warm=warm)
    assert isinstance(cold, Baseline) and isinstance(started, Baseline) and started.method == cold.method
    assert [p.forecast for p in started.points] == pytest.approx([p.forecast for p in cold.points], rel=1e-3)
    # Parameters belong to their run's first period: a run that starts elsewhere starts from the usual guesses.
    other = WarmStart(run_start=months(60)[1], params={"ets_damped": np.full(5, np.nan)})
    assert fit_baseline(months(60), values, period_type="month", cutoff=months(60)[47], horizon=12,
                        warm=other) == cold
    assert other.run_start == months(60)[0]  # and leaves its own parameters for the next fit


# --- intervals, scorecard, story -------------------------------------------------------------------------

def test_small_number_intervals_are_wilson_and_exact_poisson() -> None:
    low, high = value_interval("percent", np.array([8.0]), np.array([10.0]), 100.0)
    assert (round(low[0], 1), round(high[0], 1)) == (49.0, 94.3)  # Wilson score interval for 8/10
    low, high = value_interval("count", np.array([0.0]), None, 1.0)
    assert (low[0], round(high[0], 2)) == (0.0, 3.69)  # exact Poisson upper bound for a count of 0
    low, high = value_interval("rate_per_10000", np.array([50.0]), np.array([10000.0]), 10000.0)
    assert (round(low[0], 1), round(high[0], 1)) == (37.1, 65.9)
    low, _ = value_interval("ratio", np.array([5.0]), np.array([2.0]), 1.0)
    assert np.isnan(low[0])


def test_period_labels_of_a_frame_match_the_label_of_each_period() -> None:
    starts = [date(2019, 4, 1), date(2024, 12, 1), date(2099, 4, 1), date(2000, 1, 1)]
    frame = pl.DataFrame({"period_type": ["month", "reporting_year"] * 4, "period_start": starts + starts[::-1]})
    labels = frame.select(period_labels()).to_series().to_list()
    assert labels == [period_label(start, kind) for kind, start in frame.iter_rows()]
    assert labels[4:6] == ["Jan 2000", "2099-00"]


def test_series_order_is_the_same_whether_the_rows_come_sorted_or_shuffled() -> None:
    values = pl.concat([indicator_values(13 + area, seed=area).with_columns(area_code=pl.lit(f"9{area:02d}"))
                        for area in range(4)])
    shuffled = in_series_order(values.sample(fraction=1.0, shuffle=True, seed=2))
    assert shuffled.get_column("series_number").is_sorted()
    assert shuffled.select(pl.col("period_start").is_sorted().over("series_number").all()).item()
    assert in_series_order(shuffled.drop("series_number")).equals(shuffled)  # already in order: numbered only
    assert in_series_order(values).get_column("area_code").unique(maintain_order=True).to_list() == [
        "900", "901", "902", "903"]
    backwards = in_series_order(values.reverse())  # each series in one run, but its periods newest first
    assert backwards.get_column("area_code").head(16).to_list() == ["903"] * 16
    assert backwards.get_column("period_start").head(16).is_sorted()
    # A series whose rows come in two runs is not in order, even though each run is.
    split = pl.concat([values.filter(area_code="900").head(5), values.filter(area_code="901"),
                       values.filter(area_code="900").tail(-5)])
    ordered = in_series_order(split)
    assert ordered.get_column("area_code").to_list() == ["900"] * 13 + ["901"] * 14
    assert ordered.get_column("series_number").unique(maintain_order=True).to_list() == [0, 1]


def test_trend_run_counts_moves_in_a_row_and_skips_suppressed_periods() -> None:
    assert trend_run([5, 4, 6, 7, None, 9]) == ("up", 3)
    assert trend_run([9, 8, 7]) == ("down", 2)
    assert trend_run([None, 3]) == ("none", 0)


def test_story_contributions_add_up_to_the_change() -> None:
    catalogue = load_catalogue()
    indicator = catalogue.get("assessments_within_45_days")
    groups = pl.DataFrame({
        "window": ["before", "before", "after", "after"], "area_code": ["999"] * 4,
        "group_value": ["A", "B", "A", "B"],
        "numerator": [80.0, 30.0, 90.0, 60.0], "denominator": [100.0, 50.0, 100.0, 100.0]})
    story = decompose(indicator, "referral_source", groups, None)
    before, after = 110 / 150 * 100, 150 / 200 * 100
    assert story.get_column("contribution").sum() == pytest.approx(after - before)
    assert story.get_column("total_change")[0] == pytest.approx(after - before)
    b = story.filter(group_value="B").row(0, named=True)
    assert b["mix_effect"] + b["rate_effect"] == pytest.approx(b["contribution"])
    assert b["rank"] == 1 and b["status"] == "ok"


def test_story_suppresses_small_groups() -> None:
    indicator = load_catalogue().get("referrals_received")
    groups = pl.DataFrame({
        "window": ["before", "before", "after", "after"], "area_code": ["999"] * 4,
        "group_value": ["big", "tiny", "big", "tiny"],
        "numerator": [400.0, 3.0, 300.0, 4.0], "denominator": [None, None, None, None]},
        schema_overrides={"denominator": pl.Float64})
    story = decompose(indicator, "referral_source", groups, None)
    assert "tiny" not in story.get_column("group_value").to_list()
    other = story.filter(pl.col("group_value").str.starts_with("other")).row(0, named=True)
    assert other["status"] == "c" and other["contribution"] is None



def test_story_is_the_same_whatever_order_the_groups_arrive_in() -> None:
    # Monthly averages (counts / 12) whose sum depends on the order they are added in, and two groups
    # with equal contributions: the old story's total and ranks followed the order DuckDB returned rows.
    indicator = load_catalogue().get("referrals_received")
    names = [f"g{i}" for i in range(12)]
    before = [12.0 + 7 * i for i in range(12)]
    after = [b + 1.2 * (i % 5) + 0.1 * i for i, b in enumerate(before)]
    after[3], after[7] = before[3] + 30, before[7] + 30
    groups = pl.DataFrame({
        "window": ["before"] * 12 + ["after"] * 12, "area_code": ["999"] * 24, "group_value": names * 2,
        "numerator": before + after, "denominator": [None] * 24}, schema_overrides={"denominator": pl.Float64})
    first = decompose(indicator, "referral_source", groups, None)
    for seed in range(20):
        again = decompose(indicator, "referral_source", groups.sample(fraction=1.0, shuffle=True, seed=seed), None)
        assert again.sort("group_value").equals(first.sort("group_value"))
    ranks = dict(first.select("group_value", "rank").iter_rows())
    assert (ranks["g3"], ranks["g7"]) == (1, 2)


def test_story_of_no_change_has_no_share_of_it() -> None:
    # Group changes that cancel out: their float sum is rounding noise, not a change to take shares of.
    indicator = load_catalogue().get("referrals_received")
    groups = pl.DataFrame({
        "window": ["before"] * 3 + ["after"] * 3, "area_code": ["999"] * 6, "group_value": ["a", "b", "c"] * 2,
        "numerator": [13.0, 71.0, 37.0, 71.0, 37.0, 13.0],
        "denominator": [None] * 6}, schema_overrides={"denominator": pl.Float64})
    story = decompose(indicator, "referral_source", groups, None)
    assert story.get_column("total_change").to_list() == [0.0] * story.height
    assert story.get_column("share_of_change").null_count() == story.height

# --- records: vintages, scenarios, targets ----------------------------------------------------------------

def indicator_values(n_months: int, seed: int = 9) -> pl.DataFrame:
    """indicator_values-shaped rows for referrals_received in one authority, n months from April 2021."""
    counts = np.random.default_rng(seed).poisson(120, n_months).astype(float)
    return pl.DataFrame({
        "indicator_id": "referrals_received", "area_code": "999", "area_name": "Testshire", "area_type": "authority",
        "period_type": "month", "period_start": months(n_months), "period_end": months(n_months),
        "period_label": [f"{d:%b %Y}" for d in months(n_months)], "value": counts, "numerator": counts,
        "denominator": pl.Series([None] * n_months, dtype=pl.Float64), "status": "ok"})


def test_a_frozen_vintage_is_not_redrawn_by_new_data(app_engine) -> None:
    catalogue = load_catalogue()
    early = indicator_values(40)
    cycle_id = start_cycle(app_engine, catalogue, early, indicator_id="referrals_received", area_code="999",
                           period_type="month", name="Front door", started_by="tester", started_on=date(2024, 8, 1))
    frozen = load_records(app_engine).cycles[0]
    assert frozen.cycle_id == cycle_id and frozen.baseline.fitted_to == months(40)[-1]
    # Later: twelve more months arrive, lower than before.
    later = indicator_values(52)
    later = later.with_columns(value=pl.when(pl.col("period_start") > months(40)[-1]).then(pl.col("value") * 0.6)
                               .otherwise(pl.col("value")))
    later = later.with_columns(numerator=pl.col("value"))
    tables = build_tables(later, catalogue, load_records(app_engine))
    vintage = tables.baselines.filter(series="vintage").sort("period_start")
    assert vintage.get_column("forecast_value").to_list() == [p.forecast for p in frozen.baseline.points]
    assert vintage.get_column("lower").to_list() == [p.lower for p in frozen.baseline.points]
    assert vintage.get_column("cycle_name").unique().to_list() == ["Front door"]
    latest = tables.baselines.filter(series="forecast").sort("period_start")
    assert latest.get_column("period_start")[0] == add_months(months(52)[-1], 1)  # the latest forecast moved on
    verdict = tables.turn_the_curve.filter(baseline="vintage").row(0, named=True)
    assert verdict["overall"] == "lower" and verdict["cycle_id"] == cycle_id  # no polarity: lower, not better


def test_scenarios_and_targets_reach_the_published_tables(app_engine) -> None:
    catalogue = load_catalogue()
    values = indicator_values(40)
    add_scenario(app_engine, catalogue, values, indicator_id="referrals_received", area_code="999",
                 period_type="month", name="Schools team", author="tester", reason="New liaison team in schools",
                 points={date(2024, 8, 1): 110.0, date(2024, 9, 1): 105.0})
    set_target(app_engine, catalogue, values, indicator_id="referrals_received", area_code="999",
               period_type="month", value=100.0, set_by="tester")
    set_target(app_engine, catalogue, values, indicator_id="referrals_received", area_code="999",
               period_type="month", value=96.0, set_by="tester")  # replaces the first
    tables = build_tables(values, catalogue, load_records(app_engine))
    scenario = tables.baselines.filter(series="scenario").sort("period_start")
    assert scenario.get_column("forecast_value").to_list() == [110.0, 105.0]
    assert "New liaison team" in scenario.get_column("note")[0]
    row = tables.scorecard.filter(period_type="month").row(0, named=True)
    assert row["target"] == 96.0
    assert row["variance_from_target"] == pytest.approx(row["current_value"] - 96.0)
    assert row["percent_of_target"] == pytest.approx(row["current_value"] / 96.0 * 100)
    assert row["next_forecast_lower"] <= row["next_forecast_value"] <= row["next_forecast_upper"]


def test_records_refuse_unknown_measures_and_areas_with_a_clear_message(app_engine) -> None:
    from oba_pipeline.turn_the_curve.records import RecordError

    values = indicator_values(40)
    with pytest.raises(RecordError, match="not in the indicator catalogue"):
        set_target(app_engine, load_catalogue(), values, indicator_id="nope", area_code="999", period_type="month",
                   value=1.0, set_by="tester")
    with pytest.raises(RecordError, match="no published values for area 'XYZ'"):
        set_target(app_engine, load_catalogue(), values, indicator_id="referrals_received", area_code="XYZ",
                   period_type="month", value=1.0, set_by="tester")
    assert load_records(app_engine) == Records([], [], {})


def test_scorecard_cells_show_target_forecast_change_and_verdict(tmp_path) -> None:
    import importlib

    from dash import html

    from dashboards.app import create_app
    from oba_pipeline.config import Home

    create_app(Home(tmp_path / "home").ensure())  # Dash requires an app before a page module registers
    ttc_cells = importlib.import_module("dashboards.pages.scorecard").ttc_cells

    row = {"target": 40.0, "variance_from_target": 5.0, "percent_of_target": 112.5, "target_met": False,
           "next_forecast_value": 44.0, "next_period": "Nov 2026", "next_forecast_lower": 38.0,
           "next_forecast_upper": 50.0, "change_since_baseline_start_pct": -8.2, "baseline_start_period": "Apr 2019",
           "ttc_verdict": "withheld", "ttc_reason": "numbers too small to judge", "cycle_name": None}
    cells = ttc_cells(row, "rate_per_10000", 1)
    assert all(isinstance(c, html.Td) for c in cells) and len(cells) == 4
    text = " ".join(str(c.children) for c in cells)
    assert "+5.0 (112% of target), not met" in text
    assert "Nov 2026, 95% interval" in text
    assert "-8.2%" in text and "since Apr 2019" in text
    assert "No verdict" in text and "numbers too small to judge" in text
    assert "No target set" in str(ttc_cells({}, "count", 0)[0].children)
    unforecast = ttc_cells({"forecast_note": "no forecast: only 3 of the 12 periods up to Oct 2025 are published"},
                           "count", 0)[1]
    assert "No forecast" in str(unforecast.children) and "only 3 of the 12 periods" in str(unforecast.children)


def test_honesty_summary_counts_hits_misses_and_false_alarms() -> None:
    from oba_pipeline.turn_the_curve.honesty import Judgement, _last_full_year_before, summarise

    judgements = [
        Judgement(1, "planted", "referral_rate", "LOC-E", "2022-03-01", "better", "better", -0.15),
        Judgement(1, "planted", "average_caseload_per_fte", "LOC-C", "2023-11-01", "worse", "on_baseline", 0.22),
        Judgement(1, "planted", "families_reliable_improvement_pct", "LOC-S", "2023-02-01", "worse", "withheld", -0.4),
        Judgement(1, "planted", "prevention_spend_share", "999", "2021-09-01", "better", "better", 0.003),  # tiny
        Judgement(1, "non_change", "referral_rate", "LOC-N", "2022-03-01", "none", "worse"),
        Judgement(1, "non_change", "referral_rate", "LOC-S", "2022-03-01", "none", "on_baseline"),
        Judgement(1, "non_change", "referral_rate", "LOC-W", "2022-03-01", "none", "slowing"),
        Judgement(1, "knock_on", "referral_rate", "999", "2022-03-01", "better", "better"),
    ]
    summary = summarise(judgements, [1])
    assert (summary.found, summary.planted, summary.planted_withheld) == (1, 3, 1)
    assert (summary.found_small, summary.planted_small) == (1, 1)
    assert (summary.false_alarms, summary.non_changes, summary.non_change_slowing) == (1, 3, 1)
    assert summary.recall == pytest.approx(1 / 3) and summary.false_alarm_rate == pytest.approx(1 / 3)
    assert summary.knock_on_found == 1
    # A change from March 2023 is judged against reporting years up to 2021-22 (the last full one before).
    assert _last_full_year_before(date(2023, 2, 1)) == date(2021, 4, 1)
    assert _last_full_year_before(date(2023, 3, 1)) == date(2022, 4, 1)


def test_the_tables_do_not_depend_on_how_many_workers_build_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Six areas, one with a cycle, a scenario and a target, so every kind of row crosses to a worker and back;
    # rows shuffled, so the series' first appearances are in neither area nor row order.
    values = pl.concat([indicator_values(40 + area, seed=area).with_columns(area_code=pl.lit(f"9{area:02d}"))
                        for area in range(6)]).sample(fraction=1.0, shuffle=True, seed=4)
    frozen = fit_baseline(months(40), [float(v) for v in values.filter(area_code="900").sort("period_start")
                                       .get_column("value")], period_type="month", cutoff=months(40)[35], horizon=24)
    assert isinstance(frozen, Baseline)
    key = ("referrals_received", "900", "month")
    records = Records(
        cycles=[CycleRecord(1, *key, "Front door", date(2024, 4, 1), "tester", 1, "2024-04-01T00:00:00", frozen)],
        scenarios=[ScenarioRecord(1, *key, "Schools team", "tester", "2024-04-02T00:00:00", "New liaison team",
                                  {date(2024, 9, 1): 105.0, date(2024, 8, 1): 110.0})],
        targets={key: 100.0})
    monkeypatch.setattr(build, "MIN_SERIES_PER_WORKER", 1)  # a pool even for six series
    monkeypatch.setattr(build, "BATCHES_PER_WORKER", 1)
    alone = build_tables(values, load_catalogue(), records, workers=1)  # one batch of all six series
    halves = build_tables(values, load_catalogue(), records, workers=2)  # two batches of three
    monkeypatch.setattr(build, "BATCHES_PER_WORKER", 16)
    shared = build_tables(values, load_catalogue(), records, workers=2)  # a batch for each series
    for name in ("baselines", "turn_the_curve", "scorecard", "scenarios"):
        assert getattr(halves, name).equals(getattr(alone, name)), name
        assert getattr(shared, name).equals(getattr(alone, name)), name
    first_seen = values.select("area_code").unique(maintain_order=True).get_column("area_code").to_list()
    assert alone.scorecard.get_column("area_code").to_list() == first_seen
    assert alone.baselines.get_column("area_code").unique(maintain_order=True).to_list() == first_seen
    assert alone.baselines.filter(series="scenario").get_column("scenario").to_list() == ["Schools team"] * 2
    assert alone.turn_the_curve.filter(baseline="vintage").get_column("cycle_name").to_list() == ["Front door"]
    assert alone.scorecard.filter(area_code="900").get_column("target").to_list() == [100.0]


def test_verdict_and_scorecard_rows_have_exactly_the_declared_columns() -> None:
    # A column missing from a declared schema would be dropped from the published table without a word.
    measure = ratio("lower_is_better")
    series = series_of(list(100 + noise(3, 40)))
    baseline = fit_baseline(series.periods, series.values, period_type="month", cutoff=series.periods[27], horizon=12)
    verdict = judge(measure, series, baseline, k=3)
    key = ("test", "999", "month")
    assert list(build._verdict_row(key, "provisional", baseline, verdict, 3)) == list(build.VERDICT_SCHEMA)
    row = scorecard_row(key, measure, series, baseline, (verdict, baseline, None), 5.0)
    assert list(row) == list(build.SCORECARD_SCHEMA)


def test_no_indicator_values_give_empty_typed_tables() -> None:
    tables = build_tables(indicator_values(1).clear(), load_catalogue(), Records([], [], {}))
    assert tables.baselines.schema == pl.Schema(build.BASELINE_SCHEMA)
    assert tables.turn_the_curve.height == 0 and tables.turn_the_curve.schema["window_from"] == pl.Date
    assert tables.scorecard.height == 0 and tables.scorecard.schema["target"] == pl.Float64


@pytest.mark.parametrize("setting", ["two", "0", "-1", "1.5", "2 workers"])
def test_a_workers_setting_that_is_not_a_whole_number_says_what_to_set(monkeypatch: pytest.MonkeyPatch,
                                                                       setting: str) -> None:
    monkeypatch.setenv("OBA_TTC_WORKERS", setting)
    with pytest.raises(WorkersSettingError) as raised:
        build.workers_setting()
    message = str(raised.value)
    assert message.startswith("OBA_TTC_WORKERS must be a whole number of processes, 1 or more")
    assert repr(setting) in message and "unset it for one process per CPU" in message


def test_workers_setting_reads_a_whole_number_and_defaults_to_one_per_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBA_TTC_WORKERS", raising=False)
    assert build.workers_setting() is None
    monkeypatch.setenv("OBA_TTC_WORKERS", "")
    assert build.workers_setting() is None
    monkeypatch.setenv("OBA_TTC_WORKERS", " 3 ")
    assert build.workers_setting() == 3
