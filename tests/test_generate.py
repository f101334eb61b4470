"""The synthetic data generator: deterministic, contract-shaped, realistic, honest about its mess.

The checks below read the generated CSVs the way a user's tool would (as text), and use a small
independent re-implementation of the data contracts' rules, so a generator bug cannot hide behind
the project's own validator.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from oba_pipeline.config import CONTRACTS_DIR
from oba_pipeline.generate import SCALES, generate

SOURCES = ("referrals", "caseloads", "spend", "family_outcomes", "population")
INDICATORS = {
    "referral_rate",
    "rereferral_rate_12m",
    "assessments_within_45_days",
    "average_caseload_per_fte",
    "prevention_spend_share",
    "families_reliable_improvement_pct",
}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("tiny")
    truth_path = generate(out, seed=42, scale="tiny")
    assert truth_path == out / "ground_truth.yaml"
    return out, yaml.safe_load(truth_path.read_text(encoding="utf-8"))


def _contract(source: str) -> dict[str, Any]:
    return yaml.safe_load((CONTRACTS_DIR / f"{source}.yaml").read_text(encoding="utf-8"))


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Data rows with their file row number (the header is row 1)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        yield from enumerate(reader, start=2)


def _date(value: str) -> date | None:
    if not ISO.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _broken_rows(path: Path, contract: dict[str, Any], extract_date: date, localities: set[str]) -> set[int]:
    """Row numbers breaking any rule of the contract (types, codes, ranges, row rules, uniqueness)."""
    broken: set[int] = set()
    seen: dict[tuple[str, ...], int] = {}
    columns = contract["columns"]
    for number, row in _rows(path):
        typed: dict[str, Any] = {}
        bad = False
        for col in columns:
            value = (row[col["name"]] or "").strip()
            if not value:
                bad |= bool(col.get("required"))
                typed[col["name"]] = None
                continue
            kind = col["type"]
            if kind == "date":
                parsed = _date(value)
                bad |= parsed is None
                if parsed is not None:
                    bad |= "min" in col and parsed < date.fromisoformat(str(col["min"]))
                    bad |= col.get("not_after") == "extract_date" and parsed > extract_date
                typed[col["name"]] = parsed
            elif kind in ("integer", "decimal"):
                try:
                    number_value = int(value) if kind == "integer" else float(value)
                except ValueError:
                    bad = True
                    continue
                bad |= "min" in col and number_value < col["min"]
                bad |= "max" in col and number_value > col["max"]
                typed[col["name"]] = number_value
            else:
                typed[col["name"]] = value
            bad |= "allowed" in col and value not in [str(a) for a in col["allowed"]]
            bad |= "regex" in col and re.fullmatch(col["regex"], value) is None
            bad |= col.get("references") == "population.locality" and value not in localities
        for rule in contract.get("row_rules", []):
            left, right = typed.get(rule["column"]), typed.get(rule["other"])
            if rule["rule"] == "not_before" and left is not None and right is not None:
                bad |= left < right
            if rule["rule"] == "requires" and left is not None:
                bad |= right is None
        for key in contract.get("unique", []):
            values = tuple(row[k] for k in key)
            if values in seen:
                bad = True
            seen.setdefault(values, number)
        if bad:
            broken.add(number)
    return broken


def _mean(series: pl.Series) -> float:
    """Mean of a numeric or boolean column as a plain float."""
    return float(series.cast(pl.Float64).to_numpy().mean())


def _sum(series: pl.Series) -> float:
    return float(series.cast(pl.Float64).to_numpy().sum())


def _frame(folder: Path, source: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{source}.csv", infer_schema=False)


def test_scales_exist() -> None:
    assert {"sample", "tiny"} <= set(SCALES)


def test_same_seed_same_bytes(tiny: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    first, _ = tiny
    generate(tmp_path, seed=42, scale="tiny")
    for name in [f"{s}.csv" for s in SOURCES] + ["ground_truth.yaml"]:
        assert (tmp_path / name).read_bytes() == (first / name).read_bytes(), name


def test_another_seed_differs(tiny: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    first, _ = tiny
    generate(tmp_path, seed=7, scale="tiny")
    assert (tmp_path / "referrals.csv").read_bytes() != (first / "referrals.csv").read_bytes()


@pytest.mark.parametrize("source", SOURCES)
def test_columns_match_the_contract(tiny: tuple[Path, dict[str, Any]], source: str) -> None:
    folder, _ = tiny
    expected = [c["name"] for c in _contract(source)["columns"]]
    with (folder / f"{source}.csv").open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == expected


@pytest.mark.parametrize("source", SOURCES)
def test_every_broken_row_is_in_the_ground_truth(tiny: tuple[Path, dict[str, Any]], source: str) -> None:
    """The rows that break the contract are exactly the rows planted as bad, and there are few."""
    folder, truth = tiny
    extract_date = date.fromisoformat(truth["extract_date"])
    localities = set(_frame(folder, "population")["locality"].to_list())
    broken = _broken_rows(folder / f"{source}.csv", _contract(source), extract_date, localities)
    listed = {r["row"] for r in truth["bad_rows"] if r["file"] == f"{source}.csv"}
    assert broken == listed
    data_rows = truth["files"][f"{source}.csv"]["data_rows"]
    assert len(listed) / data_rows < 0.05
    if source == "population":
        assert not listed  # its contract tolerates no rejected rows
    else:
        kinds = {r["kind"] for r in truth["bad_rows"] if r["file"] == f"{source}.csv"}
        assert "duplicate_row" in kinds and len(kinds) >= 3


def test_bad_rows_are_rare_overall(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, truth = tiny
    total = sum(f["data_rows"] for f in truth["files"].values())
    assert len(truth["bad_rows"]) / total < 0.01


def test_duplicates_point_at_an_identical_row(tiny: tuple[Path, dict[str, Any]]) -> None:
    folder, truth = tiny
    for bad in (r for r in truth["bad_rows"] if r["kind"] == "duplicate_row"):
        lines = (folder / bad["file"]).read_text(encoding="utf-8").splitlines()
        assert lines[bad["row"] - 1] == lines[bad["duplicate_of_row"] - 1]


def _reporting_year(col: str) -> pl.Expr:
    d = pl.col(col)
    return pl.when(d.dt.month() >= 4).then(d.dt.year()).otherwise(d.dt.year() - 1)


def test_headline_rates_are_plausible(tiny: tuple[Path, dict[str, Any]]) -> None:
    folder, truth = tiny
    window_start = date.fromisoformat(truth["window"]["start"])
    extract_date = date.fromisoformat(truth["extract_date"])
    full_years = range(window_start.year, extract_date.year - (0 if extract_date.month >= 4 else 1))
    population = _frame(folder, "population").with_columns(
        pl.col("mid_year").cast(pl.Int64), pl.col("children_0_17").cast(pl.Int64)
    )
    assert (
        6_000 <= _sum(population.filter(pl.col("mid_year") == window_start.year)["children_0_17"]) <= 10_000
    )
    refs = (
        _frame(folder, "referrals")
        .unique(keep="first", maintain_order=True)
        .with_columns(
            [
                pl.col(c).str.to_date(strict=False)
                for c in ("referral_date", "cla_start_date", "cla_end_date", "cpp_start_date", "cpp_end_date")
            ]
        )
        .filter(pl.col("referral_date").is_not_null())
    )
    refs = refs.sort(["child_id", "referral_date"]).with_columns(
        pl.col("referral_date").shift(1).over("child_id").alias("previous")
    )
    refs = refs.with_columns(
        (
            pl.col("previous").is_not_null()
            & (pl.col("previous").dt.offset_by("12mo") >= pl.col("referral_date"))
        ).alias("rereferral"),
        _reporting_year("referral_date").alias("year"),
    )
    for year in full_years:
        children = _sum(population.filter(pl.col("mid_year") == year)["children_0_17"])
        in_year = refs.filter(pl.col("year") == year)
        rate = in_year.height / children * 10_000
        assert 300 <= rate <= 900, (year, rate)
        assert 0.12 <= _mean(in_year["rereferral"]) <= 0.32, year
        assert 0.02 <= _mean(in_year["referral_nfa"] == "Y") <= 0.12, year
        march = date(year + 1, 3, 31)
        looked_after = refs.filter(
            (pl.col("cla_start_date") <= march)
            & (pl.col("cla_end_date").is_null() | (pl.col("cla_end_date") > march))
        )["child_id"].n_unique()
        assert 30 <= looked_after / children * 10_000 <= 130, year
    # Over the whole window the re-referral share is close to England's ~22%.
    window = refs.filter(pl.col("referral_date") >= window_start)
    assert 0.15 <= _mean(window["rereferral"]) <= 0.30
    headline = truth["authorities"][0]["realised_headline_rates"]["average_of_full_years"]
    assert 75 <= headline["assessments_within_45_days_pct"] <= 92
    assert 14 <= headline["caseload_per_fte"] <= 21
    assert 15 <= headline["second_or_later_cpp_pct"] <= 32
    assert 10 <= headline["prevention_spend_share_pct"] <= 35


def test_codes_and_shapes_look_like_real_extracts(tiny: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = tiny
    refs = _frame(folder, "referrals")
    police = _mean(refs["referral_source"] == "6")
    schools = _mean(refs["referral_source"] == "2A")
    assert 0.2 < police < 0.38 and 0.12 < schools < 0.28
    assert refs["primary_need_code"].value_counts(sort=True)["primary_need_code"][0] == "N1"
    assert 0.01 < _mean(refs["ethnicity"].is_null()) < 0.06
    assert set(refs["sex"].unique()) <= {"M", "F", "U"}
    categories = refs["cpp_category"].drop_nulls().value_counts(sort=True)["cpp_category"].to_list()
    assert categories[:2] == ["NEG", "EMO"]
    caseloads = _frame(folder, "caseloads")
    assert caseloads["snapshot_date"].str.slice(0, 7).n_unique() >= 36
    spend = _frame(folder, "spend").with_columns(pl.col("amount_gbp").cast(pl.Float64, strict=False))
    assert _sum(spend["amount_gbp"] < 0) >= 1  # credits
    assert spend["locality"].null_count() > 0 and spend["locality"].drop_nulls().n_unique() >= 2
    by_line = spend.group_by(pl.col("s251_line").str.slice(0, 3)).agg(pl.col("amount_gbp").sum())
    assert by_line.sort("amount_gbp", descending=True)["s251_line"][0] == "3.1"  # care costs most


def test_family_outcomes_link_to_referrals(tiny: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = tiny
    refs = set(_frame(folder, "referrals")["child_id"].to_list())
    out = _frame(folder, "family_outcomes")
    statutory = out.filter(pl.col("episode_type") != "early_help")["child_id"].drop_nulls()
    assert statutory.len() > 0 and set(statutory.to_list()) <= refs
    early_help = out.filter(pl.col("episode_type") == "early_help")["child_id"].drop_nulls()
    assert not set(early_help.to_list()) & refs
    assert {
        "family_star_plus",
        "sdq",
        "signs_of_safety",
        "goal_based_outcomes",
        "swemwbs",
        "family_life",
        "what_matters",
        "my_star",
    } <= set(out["instrument"].unique())
    # SDQ total difficulties is the sum of the four difficulty subscales.
    sdq = out.filter(pl.col("instrument") == "sdq").with_columns(
        pl.col("score").cast(pl.Float64, strict=False)
    )
    wide = sdq.pivot(on="item", index="reading_id", values="score", aggregate_function="first").drop_nulls()
    assert wide.height > 0
    total = wide["emotional"] + wide["conduct"] + wide["hyperactivity"] + wide["peer_problems"]
    assert _mean((total - wide["total_difficulties"]).abs() < 1e-9) > 0.99
    # Signs of Safety is rated by parents and workers, parents usually higher.
    sos = out.filter(pl.col("instrument") == "signs_of_safety").with_columns(
        pl.col("score").cast(pl.Float64, strict=False)
    )
    means = dict(sos.group_by("respondent_role").agg(pl.col("score").mean()).iter_rows())
    assert means["parent"] > means["worker"]


def test_ground_truth_describes_the_plants(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, truth = tiny
    authority = truth["authorities"][0]
    areas = {authority["la_code"], *(loc["code"] for loc in authority["localities"])}
    changes = authority["planted_changes"]
    assert {c["indicator"] for c in changes} == INDICATORS
    for change in changes:
        assert {
            "id",
            "indicator",
            "area",
            "start",
            "lag_months",
            "effect",
            "direction",
            "description",
        } <= set(change)
        assert change["area"] in areas
        assert change["direction"] in ("increase", "decrease")
        assert (change["effect"] > 0) == (change["direction"] == "increase")
    planted = {(c["indicator"], c["area"]) for c in changes}
    knock_on = {(k["indicator"], k["area"]) for k in authority["knock_on_effects"]}
    quiet = {(n["indicator"], n["area"]) for n in authority["planted_non_changes"]}
    assert quiet and not quiet & (planted | knock_on)
    assert {i for i, _ in quiet} <= INDICATORS


def test_prevention_investment_lowers_referrals_after_the_lag(tiny: tuple[Path, dict[str, Any]]) -> None:
    folder, truth = tiny
    change = next(
        c
        for c in truth["authorities"][0]["planted_changes"]
        if c["indicator"] == "referral_rate" and c["effect"] < 0
    )
    refs = (
        _frame(folder, "referrals")
        .unique(keep="first", maintain_order=True)
        .with_columns(pl.col("referral_date").str.to_date(strict=False))
        .filter(pl.col("locality") == change["area"])
    )
    # Every referral from the look-back start is in the extract, so the before period can use it too.
    before_from = date.fromisoformat(truth["window"]["lookback_start"])
    start = date.fromisoformat(change["start"])
    effect_from = date.fromisoformat(change["effect_from"])
    end = date.fromisoformat(truth["extract_date"])
    before = refs.filter(pl.col("referral_date").is_between(before_from, start, closed="left")).height
    after = refs.filter(pl.col("referral_date").is_between(effect_from, end)).height
    per_day_before = before / (start - before_from).days
    per_day_after = after / ((end - effect_from).days + 1)
    assert per_day_after < 0.97 * per_day_before
    # ... and the spend that caused it rose in that locality.
    spend = _frame(folder, "spend").with_columns(
        pl.col("period_month").str.to_date(strict=False), pl.col("amount_gbp").cast(pl.Float64, strict=False)
    )
    family_support = spend.filter(
        pl.col("s251_line").str.starts_with("3.4.") & (pl.col("locality") == change["area"])
    )
    pre = _mean(family_support.filter(pl.col("period_month") < start)["amount_gbp"])
    post = _mean(family_support.filter(pl.col("period_month") >= start)["amount_gbp"])
    assert post > 1.25 * pre


def test_end_date_moves_the_window_and_nothing_is_later(tmp_path: Path) -> None:
    end = date(2025, 6, 15)
    truth = yaml.safe_load(generate(tmp_path, seed=3, scale="tiny", end_date=end).read_text(encoding="utf-8"))
    assert truth["extract_date"] == "2025-06-15"
    assert truth["window"]["start"] == "2022-04-01"  # three full reporting years before 2025-26
    localities = set(_frame(tmp_path, "population")["locality"].to_list())
    for source in SOURCES:
        broken = _broken_rows(tmp_path / f"{source}.csv", _contract(source), end, localities)
        assert broken == {r["row"] for r in truth["bad_rows"] if r["file"] == f"{source}.csv"}, source
    years = _frame(tmp_path, "population")["mid_year"].cast(pl.Int64)
    assert years.min() == 2019 and years.max() == 2025
