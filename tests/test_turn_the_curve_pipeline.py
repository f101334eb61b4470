"""Turn the curve through the real pipeline: baselines for every measure and area are published, and a
vintage frozen from one refresh is published unchanged after a refresh with newer extracts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from oba_pipeline.cli import main
from oba_pipeline.config import Home
from oba_pipeline.generate import generate
from oba_pipeline.publish import current_snapshot
from oba_pipeline.refresh import run_refresh

pytestmark = pytest.mark.integration


def published(home: Home, table: str) -> pl.DataFrame:
    snapshot = current_snapshot(home)
    assert snapshot is not None
    with duckdb.connect(str(snapshot / "oba.duckdb"), read_only=True) as con:
        return con.execute(f'select * from "{table}"').pl()


def test_freeze_refresh_and_read_back_the_same_vintage(tmp_path: Path, oba_home: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    home = Home(oba_home)
    first = tmp_path / "extracts-2025"
    generate(first, seed=11, scale="tiny", end_date=date(2025, 10, 31))
    assert run_refresh(home, first).success

    # Every catalogue entry, for the authority and each locality, has a forecast with its interval, or (in
    # this tiny authority, where small numbers are suppressed) a scorecard note saying why there is none.
    # The verdict is judged on the provisional baseline, which can exist when the latest forecast cannot be
    # fitted (the most recent periods suppressed), so a verdict is not what explains a missing forecast.
    values = published(home, "indicator_values")
    baselines = published(home, "baselines")
    forecasts = baselines.filter(series="forecast")
    verdicts = published(home, "turn_the_curve")
    pairs = values.select("indicator_id", "area_code", "period_type").unique()
    missing = pairs.join(forecasts, on=["indicator_id", "area_code", "period_type"], how="anti")
    scorecard = published(home, "scorecard")
    noted = scorecard.filter(pl.col("forecast_note").str.starts_with("no forecast: "))
    assert missing.join(noted, on=["indicator_id", "area_code", "period_type"], how="anti").is_empty()
    assert scorecard.filter(pl.col("forecast_note").is_not_null() & pl.col("next_forecast_value").is_not_null()
                            ).is_empty()
    assert verdicts.filter(pl.col("reason").str.starts_with("no baseline")).height > 0
    assert forecasts.filter(~((pl.col("lower") <= pl.col("forecast_value"))
                              & (pl.col("forecast_value") <= pl.col("upper")))).is_empty()
    assert set(verdicts.get_column("overall")) <= {"better", "worse", "slowing", "on_baseline", "higher", "lower",
                                                   "withheld"}
    assert verdicts.filter((pl.col("overall") == "withheld") & pl.col("reason").is_null()).is_empty()
    assert pairs.join(scorecard, on=["indicator_id", "area_code"], how="anti").is_empty()
    assert published(home, "story_behind_the_curve").height > 0

    authority = values.filter(area_type="authority").get_column("area_code")[0]
    assert main(["ttc", "start", "referrals_received", authority, "--name", "Front door", "--by", "tester"]) == 0
    assert main(["ttc", "target", "referrals_received", authority, "150", "--by", "tester"]) == 0
    assert "Front door" in capsys.readouterr().out

    second = tmp_path / "extracts-2026"
    generate(second, seed=12, scale="tiny", end_date=date(2026, 4, 30))
    assert run_refresh(home, second).success
    after = published(home, "baselines")
    # The frozen vintage is published exactly as frozen, although the latest forecast moved on.
    frozen = after.filter(series="vintage", indicator_id="referrals_received", area_code=authority,
                          period_type="month").sort("period_start")
    assert frozen.height == 24 and frozen.get_column("period_start")[0] == date(2025, 11, 1)
    from oba_pipeline.appdb import make_engine
    from oba_pipeline.turn_the_curve.records import load_records

    engine = make_engine(home=home)
    stored = load_records(engine).cycles[0].baseline.points
    engine.dispose()
    assert frozen.get_column("forecast_value").to_list() == [p.forecast for p in stored]
    assert frozen.get_column("upper").to_list() == [p.upper for p in stored]
    latest = after.filter(series="forecast", indicator_id="referrals_received", area_code=authority,
                          period_type="month")
    assert latest.get_column("period_start").min() == date(2026, 5, 1)
    verdict = published(home, "turn_the_curve").filter(baseline="vintage").row(0, named=True)
    assert verdict["cycle_name"] == "Front door" and verdict["periods_judged"] == 6
    card = published(home, "scorecard").filter(indicator_id="referrals_received", area_code=authority,
                                               period_type="month").row(0, named=True)
    assert card["target"] == 150 and card["verdict_baseline"] == "vintage"

    # The dashboard's scorecard shows the new columns from the real snapshot.
    import importlib

    from dashboards import data
    from dashboards.app import create_app

    ttc = data.ttc_scorecard(home, authority, "month").filter(indicator_id="referrals_received").row(0, named=True)
    assert ttc["target"] == 150 and ttc["cycle_name"] == "Front door" and ttc["ttc_verdict"] is not None
    create_app(home)
    page = importlib.import_module("dashboards.pages.scorecard")
    text = str(page.scorecard_body(home, authority, "month"))
    assert "Turn the curve" in text and "against the baseline frozen for Front door" in text
    assert "of target" in text and "95% interval" in text
