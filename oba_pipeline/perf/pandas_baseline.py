"""The yardstick: the children's social care indicators computed the way an analyst would in pandas.

Reads the referrals, caseloads, spend and population extracts with `pandas.read_csv`, and computes the
sixteen catalogue entries those extracts feed (rates per 10,000 children, front door, child protection,
caseloads and prevention spend) for the authority and each locality, by month and reporting year:
one groupby per measure for events, a loop over period ends for stocks. It follows the catalogue's
definitions (working days, re-referral look-back, months a source covers, 'x' and 'z') so that its
figures equal the pipeline's before disclosure control, which `tests/test_perf_baseline.py` checks.
It does no validation, pseudonymisation or disclosure control: that is what the pipeline adds.

    .venv/bin/python -m oba_pipeline.perf.pandas_baseline EXTRACTS_DIR [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import holidays
import numpy as np
import pandas as pd

# The catalogue entries computed here, all from referrals, caseloads, spend and population.
INDICATORS = (
    "referral_rate", "cin_rate", "cpp_rate", "cla_rate", "referrals_received", "assessments_completed",
    "assessments_within_45_days", "rereferral_rate_12m", "cpp_started", "second_cpp_percent",
    "case_holding_fte", "average_caseload_per_fte", "workers_over_20_cases",
    "prevention_spend", "prevention_spend_per_child", "prevention_spend_share",
)
PREVENTION_PREFIXES = ("3.0", "3.4", "3.5")
CASE_HOLDING = ("social_worker", "senior_practitioner")
REFERRAL_DATES = ["date_of_birth", "referral_date", "assessment_start_date", "assessment_authorised_date",
                  "s47_start_date", "cpp_start_date", "cpp_end_date", "cla_start_date", "cla_end_date",
                  "closure_date"]


@dataclass
class Extracts:
    referrals: pd.DataFrame
    caseloads: pd.DataFrame
    spend: pd.DataFrame
    population: pd.DataFrame


def read_extracts(folder: Path) -> Extracts:
    """The four CSV extracts, dates parsed (a date that cannot be read becomes NaT, as analysts do)."""
    referrals = _dates(pd.read_csv(folder / "referrals.csv", dtype={"cpp_previous_plans": "float64"}),
                       REFERRAL_DATES)
    caseloads = _dates(pd.read_csv(folder / "caseloads.csv"), ["snapshot_date"])
    spend = _dates(pd.read_csv(folder / "spend.csv", dtype={"s251_line": str}), ["period_month"])
    population = pd.read_csv(folder / "population.csv", dtype={"la_code": str})
    return Extracts(referrals, caseloads, spend, population)


def _dates(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
    return frame


def compute(data: Extracts, today: date | None = None) -> pd.DataFrame:
    """Every indicator for the authority and its localities, month and reporting year, before disclosure."""
    today = today or date.today()
    ref, cases, spend = data.referrals.copy(), data.caseloads.copy(), data.spend.copy()
    la_code = data.population["la_code"].iloc[0] if data.population["la_code"].nunique() == 1 else "ALL"

    # Derived columns, as the analyst adds them.
    ref["previous"] = ref.sort_values(["referral_date", "referral_id"]).groupby("child_id")["referral_date"].shift()
    ref["rereferral"] = ref["previous"].notna() & (ref["previous"] >= ref["referral_date"] - pd.DateOffset(months=12))
    bank = np.array(sorted(holidays.country_holidays("GB", subdiv="ENG", years=range(2000, today.year + 2))),
                    dtype="datetime64[D]")
    done = ref["assessment_authorised_date"].notna() & ref["referral_date"].notna()
    working = np.full(len(ref), np.nan)
    working[done.to_numpy()] = np.busday_count(
        (ref.loc[done, "referral_date"] + pd.Timedelta(days=1)).to_numpy().astype("datetime64[D]"),
        (ref.loc[done, "assessment_authorised_date"] + pd.Timedelta(days=1)).to_numpy().astype("datetime64[D]"),
        holidays=bank)
    ref["within_45"] = working <= 45
    ref["second_cpp"] = ref["cpp_start_date"].notna() & (ref["cpp_previous_plans"].fillna(0) >= 1)
    cases["case_holding"] = cases["role"].isin(CASE_HOLDING)
    cases["ch_fte"] = cases["fte"].where(cases["case_holding"], 0.0)
    cases["ch_cases"] = cases["cases_held"].where(cases["case_holding"], 0)
    cases["over_20"] = cases["case_holding"] & (cases["cases_held"] > 20)
    spend["prevention"] = spend["amount_gbp"].where(spend["s251_line"].str[:3].isin(PREVENTION_PREFIXES), 0.0)

    # The months each source covers, and the periods to publish.
    latest = max(ref["referral_date"].max(), cases["snapshot_date"].max(), spend["period_month"].max())
    extract_date = min(latest.date(), today)
    last_month = _last_complete_month(extract_date)
    coverage = {"referrals": _first_full_month(ref["referral_date"]),
                "caseloads": _first_full_month(cases["snapshot_date"]),
                "spend": _first_full_month(spend["period_month"])}
    population = _area_population(data.population, la_code, today.year)
    localities = sorted(data.population["locality"].unique())

    rows = []
    for period_type in ("month", "reporting_year"):
        for source, first in coverage.items():
            periods = _periods(period_type, first, last_month)
            periods.attrs["localities"] = localities
            if source == "referrals":
                rows += _referral_measures(ref, periods, period_type, first, la_code, population)
            elif source == "caseloads":
                rows += _caseload_measures(cases, periods, period_type, la_code)
            else:
                rows += _spend_measures(spend, periods, period_type, la_code, population)
    return pd.concat(rows, ignore_index=True)


def _referral_measures(ref: pd.DataFrame, periods: pd.DataFrame, period_type: str, first: pd.Timestamp,
                       la: str, population: pd.DataFrame) -> list[pd.DataFrame]:
    out = []
    by_ref = _event_counts(ref, "referral_date", periods, period_type, la,
                           {"n": ("referral_id", "size"), "rereferrals": ("rereferral", "sum")})
    assessed = ref.dropna(subset=["assessment_authorised_date"])
    by_assessment = _event_counts(assessed, "assessment_authorised_date", periods, period_type, la,
                                  {"n": ("referral_id", "size"), "on_time": ("within_45", "sum")})
    by_cpp = _event_counts(ref.dropna(subset=["cpp_start_date"]), "cpp_start_date", periods, period_type, la,
                           {"n": ("referral_id", "size"), "second": ("second_cpp", "sum")})
    with_pop = by_ref.merge(population, on=["area_code", "population_year"], how="left")
    out.append(_values("referral_rate", with_pop, with_pop["n"], with_pop["children"], 10_000))
    out.append(_values("referrals_received", by_ref, by_ref["n"], None, 1))
    lookback = by_ref.copy()
    lookback["too_early"] = lookback["period_start"] < first + pd.DateOffset(months=12)
    out.append(_values("rereferral_rate_12m", lookback, lookback["rereferrals"], lookback["n"], 100))
    out.append(_values("assessments_completed", by_assessment, by_assessment["n"], None, 1))
    out.append(_values("assessments_within_45_days", by_assessment, by_assessment["on_time"], by_assessment["n"], 100))
    out.append(_values("cpp_started", by_cpp, by_cpp["n"], None, 1))
    out.append(_values("second_cpp_percent", by_cpp, by_cpp["second"], by_cpp["n"], 100))
    open_cases = ref[ref["referral_nfa"] != "Y"]
    for indicator, frame, start, end in (("cin_rate", open_cases, "referral_date", "closure_date"),
                                         ("cpp_rate", ref, "cpp_start_date", "cpp_end_date"),
                                         ("cla_rate", ref, "cla_start_date", "cla_end_date")):
        stock = _stock_counts(frame, start, end, periods, la).merge(
            population, on=["area_code", "population_year"], how="left")
        out.append(_values(indicator, stock, stock["n"], stock["children"], 10_000))
    return out


def _caseload_measures(cases: pd.DataFrame, periods: pd.DataFrame, period_type: str, la: str) -> list[pd.DataFrame]:
    counts = _event_counts(cases, "snapshot_date", periods, period_type, la, {
        "fte": ("ch_fte", "sum"), "cases": ("ch_cases", "sum"), "snapshots": ("snapshot_date", "nunique"),
        "holders": ("case_holding", "sum"), "over_20": ("over_20", "sum")})
    return [_values("case_holding_fte", counts, counts["fte"], counts["snapshots"], 1),
            _values("average_caseload_per_fte", counts, counts["cases"], counts["fte"], 1),
            _values("workers_over_20_cases", counts, counts["over_20"], counts["holders"], 100)]


def _spend_measures(spend: pd.DataFrame, periods: pd.DataFrame, period_type: str, la: str,
                    population: pd.DataFrame) -> list[pd.DataFrame]:
    counts = _event_counts(spend, "period_month", periods, period_type, la,
                           {"prevention": ("prevention", "sum"), "total": ("amount_gbp", "sum")})
    counts = counts[counts["area_code"] == la]  # spend is published for the whole authority only
    with_pop = counts.merge(population, on=["area_code", "population_year"], how="left")
    return [_values("prevention_spend", counts, counts["prevention"], None, 1),
            _values("prevention_spend_per_child", with_pop, with_pop["prevention"], with_pop["children"], 1),
            _values("prevention_spend_share", counts, counts["prevention"], counts["total"], 100)]


def _event_counts(frame: pd.DataFrame, date_column: str, periods: pd.DataFrame, period_type: str, la: str,
                  aggregations: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Aggregates per locality and period for rows dated in the period, plus the authority, on the full grid."""
    frame = frame.copy()
    if period_type == "month":
        frame["period_start"] = frame[date_column].dt.to_period("M").dt.to_timestamp()
    else:
        # Reporting years start on 1 April: three months back, the calendar year, three months on.
        back = frame[date_column] - pd.DateOffset(months=3)
        frame["period_start"] = back.dt.to_period("Y").dt.to_timestamp() + pd.DateOffset(months=3)
    by_locality = frame.groupby(["period_start", "locality"]).agg(**aggregations).reset_index()
    by_authority = frame.groupby("period_start").agg(**aggregations).reset_index()
    by_authority["locality"] = la
    totals = pd.concat([by_locality, by_authority]).rename(columns={"locality": "area_code"})
    grid = _grid(periods, la)
    result = grid.merge(totals, on=["period_start", "area_code"], how="left")
    return result.fillna({name: 0 for name in aggregations})


def _stock_counts(frame: pd.DataFrame, start: str, end: str, periods: pd.DataFrame, la: str) -> pd.DataFrame:
    """Children open at the end of each period (started by then and not ended by then), per area."""
    results = []
    for period in periods.itertuples():
        open_then = frame[(frame[start] <= period.period_end)
                          & (frame[end].isna() | (frame[end] > period.period_end))]
        counts = open_then.groupby("locality")["child_id"].nunique().rename("n").reset_index()
        counts = pd.concat([counts, pd.DataFrame({"locality": [la], "n": [open_then["child_id"].nunique()]})])
        counts["period_start"] = period.period_start
        results.append(counts)
    totals = pd.concat(results).rename(columns={"locality": "area_code"})
    grid = _grid(periods, la)
    return grid.merge(totals, on=["period_start", "area_code"], how="left").fillna({"n": 0})


def _grid(periods: pd.DataFrame, la: str) -> pd.DataFrame:
    """Every period for the authority and every locality in the population file (`periods.attrs`)."""
    areas = pd.DataFrame({"area_code": [la, *periods.attrs["localities"]]})
    return periods.merge(areas, how="cross")


def _values(indicator: str, frame: pd.DataFrame, numerator: pd.Series, denominator: pd.Series | None,
            scale: float) -> pd.DataFrame:
    out = frame[["period_type", "period_start", "area_code"]].copy()
    out["indicator_id"] = indicator
    out["numerator"] = numerator.astype(float).to_numpy()
    if denominator is None:
        out["denominator"] = np.nan
        out["status"] = "ok"
        out["value"] = out["numerator"]
        return out
    out["denominator"] = denominator.astype(float).to_numpy()
    out["status"] = np.where(out["denominator"].isna(), "x", np.where(out["denominator"] == 0, "z", "ok"))
    if "too_early" in frame:
        out.loc[frame["too_early"].to_numpy(), "status"] = "x"
    out["value"] = np.where(out["status"] == "ok", out["numerator"] / out["denominator"] * scale, np.nan)
    return out


def _area_population(population: pd.DataFrame, la: str, last_year: int) -> pd.DataFrame:
    """Children per locality and mid-year, the authority as their sum, the latest estimate carried forward."""
    per_locality = population.rename(columns={"locality": "area_code", "children_0_17": "children"})
    authority = per_locality.groupby("mid_year", as_index=False)["children"].sum()
    authority["area_code"] = la
    known = pd.concat([per_locality[["area_code", "mid_year", "children"]], authority])
    years = range(int(known["mid_year"].min()), last_year + 1)
    full = (known.set_index(["area_code", "mid_year"])["children"]
            .unstack().reindex(columns=years).ffill(axis=1).stack().rename("children").reset_index())
    return full.rename(columns={"mid_year": "population_year"})


def _periods(period_type: str, first: pd.Timestamp, last_month: pd.Timestamp) -> pd.DataFrame:
    if period_type == "month":
        starts = pd.date_range(first, last_month, freq="MS")
        ends = starts + pd.offsets.MonthEnd(0)
    else:
        first_year = first.year if first.month >= 4 else first.year - 1
        starts = pd.DatetimeIndex([pd.Timestamp(y, 4, 1) for y in range(first_year, last_month.year + 1)])
        ends = pd.DatetimeIndex([pd.Timestamp(s.year + 1, 3, 31) for s in starts])
        keep = (starts >= first) & (ends <= last_month + pd.offsets.MonthEnd(0))
        starts, ends = starts[keep], ends[keep]
    return pd.DataFrame({"period_type": period_type, "period_start": starts, "period_end": ends,
                         "population_year": starts.year - (starts.month < 4)})


def _first_full_month(dates: pd.Series) -> pd.Timestamp:
    """The first month whose volume reaches half the typical month's (extracts carry a thin older tail)."""
    per_month = dates.dropna().dt.to_period("M").value_counts()
    return per_month[per_month >= 0.5 * per_month.median()].index.min().to_timestamp()


def _last_complete_month(extract_date: date) -> pd.Timestamp:
    day = pd.Timestamp(extract_date)
    this_month = day.to_period("M").to_timestamp()
    return this_month if day.is_month_end else this_month - pd.DateOffset(months=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extracts", type=Path)
    parser.add_argument("--json", action="store_true", help="print the timings as one JSON object")
    args = parser.parse_args()
    started = time.perf_counter()
    data = read_extracts(args.extracts)
    read = time.perf_counter()
    values = compute(data)
    done = time.perf_counter()
    timings = {"read_s": read - started, "indicators_s": done - read, "values": len(values)}
    if args.json:
        print(json.dumps(timings))
    else:
        print(f"pandas: read {timings['read_s']:.1f} s, indicators {timings['indicators_s']:.1f} s, "
              f"{len(values):,} values")


if __name__ == "__main__":
    main()
