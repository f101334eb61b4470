"""The marts and the indicator engine on small hand-made tables, with expected values worked by hand."""

import random
from datetime import date, timedelta

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.sql_files import read_sql
from assets.tables import replace_table
from oba_pipeline.catalogue import Indicator, load_catalogue
from oba_pipeline.disclosure import apply_disclosure_control
from oba_pipeline.indicators import reference
from oba_pipeline.indicators.calendar import calendar_frame
from oba_pipeline.indicators.engine import Coverage, _aggregate_sql, compute_indicator_values
from oba_pipeline.turn_the_curve.story import build_story

REFERRAL_DATES = ["referral_date", "assessment_start_date", "assessment_authorised_date", "s47_start_date",
                  "cpp_start_date", "cpp_end_date", "cla_start_date", "cla_end_date", "closure_date"]


def stg_referrals(rows: list[dict[str, object]]) -> pl.DataFrame:
    """A staged referrals table with sensible defaults for every column a test does not care about."""
    defaults: dict[str, object] = {
        "referral_key": None, "child_key": None, "sex": "F", "ethnicity": "WBRI", "locality": "A",
        "referral_source": "6", "primary_need_code": "N1", "referral_nfa": "N", "cpp_category": None,
        "cpp_previous_plans": None, "closure_reason": None, "age_at_referral": 7,
        **{column: None for column in REFERRAL_DATES},
    }
    full = [{**defaults, "referral_key": f"R{i}", **row} for i, row in enumerate(rows)]
    schema = {**{c: pl.Utf8 for c in defaults}, **{c: pl.Date for c in REFERRAL_DATES},
              "cpp_previous_plans": pl.Int64, "age_at_referral": pl.Int64}
    return pl.DataFrame(full, schema=schema)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    replace_table(connection, "calendar", calendar_frame(date(2020, 1, 1), date(2026, 12, 31)))
    return connection


def mart(con: duckdb.DuckDBPyConnection, rows: list[dict[str, object]]) -> pl.DataFrame:
    replace_table(con, "stg_referrals", stg_referrals(rows))
    con.execute(f"create or replace table mart_referrals as {read_sql('mart_referrals')}")
    return con.execute("select * from mart_referrals order by referral_key").pl()


def test_rereferral_exactly_12_months_apart_counts(con: duckdb.DuckDBPyConnection) -> None:
    result = mart(con, [
        {"child_key": "a", "referral_date": date(2023, 3, 15)},
        {"child_key": "a", "referral_date": date(2024, 3, 15)},  # exactly 12 months: a re-referral
        {"child_key": "b", "referral_date": date(2023, 3, 15)},
        {"child_key": "b", "referral_date": date(2024, 3, 16)},  # 12 months and a day: not
        {"child_key": "c", "referral_date": date(2024, 1, 10)},  # first referral: not
    ])
    assert result.get_column("is_rereferral_12m").to_list() == [False, True, False, False, False]


def test_assessment_timescale_in_working_days(con: duckdb.DuckDBPyConnection) -> None:
    result = mart(con, [
        # 1 Dec 2023 + 45 working days (Christmas, Boxing Day and New Year's Day skipped) = 7 Feb 2024.
        {"child_key": "a", "referral_date": date(2023, 12, 1), "assessment_authorised_date": date(2024, 2, 7)},
        {"child_key": "b", "referral_date": date(2023, 12, 1), "assessment_authorised_date": date(2024, 2, 8)},
        {"child_key": "c", "referral_date": date(2023, 12, 1)},
    ])
    assert result.get_column("assessment_working_days").to_list() == [45, 46, None]
    assert result.get_column("assessment_within_45").to_list() == [True, False, None]


def build_reference(con: duckdb.DuckDBPyConnection, first: date, last: date) -> None:
    population = pl.DataFrame({
        "la_code": ["999"] * 4, "la_name": ["Testshire"] * 4, "locality": ["A", "B", "A", "B"],
        "locality_name": ["Alpha", "Beta", "Alpha", "Beta"], "mid_year": [2022, 2022, 2023, 2023],
        "children_0_17": [10_000, 30_000, 10_000, 30_000],
    })
    replace_table(con, "areas", reference.areas_frame(population))
    replace_table(con, "area_population", reference.area_population(population, last_year=2025))
    replace_table(con, "periods", reference.periods_frame(first, last))


def test_engine_counts_rates_and_percentages_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    rows = []
    # Locality A: 6 referrals in reporting year 2023-24, 3 of them re-referrals of one child.
    for day in (5, 6, 7, 8):
        rows.append({"child_key": "a1", "locality": "A", "referral_date": date(2023, 6, day)})
    rows += [{"child_key": f"a{i}", "locality": "A", "referral_date": date(2023, 9, 1)} for i in (2, 3)]
    # Locality B: 2 referrals, one child on a plan from May 2023 to June 2024.
    rows += [{"child_key": "b1", "locality": "B", "referral_date": date(2023, 5, 1),
              "cpp_start_date": date(2023, 5, 20), "cpp_end_date": date(2024, 6, 30)},
             {"child_key": "b2", "locality": "B", "referral_date": date(2024, 1, 2)}]
    mart(con, rows)
    build_reference(con, date(2023, 4, 1), date(2024, 3, 1))
    catalogue = load_catalogue()
    coverage = {"referrals": Coverage(first_month=date(2023, 4, 1), last_month=date(2024, 3, 1))}
    values = compute_indicator_values(con, catalogue, coverage)
    year = values.filter(pl.col("period_type") == "reporting_year")

    def cell(indicator: str, area: str) -> dict[str, object]:
        return year.filter(indicator_id=indicator, area_code=area).row(0, named=True)

    assert cell("referrals_received", "A")["value"] == 6
    assert cell("referrals_received", "999")["value"] == 8  # the authority is the sum of its localities
    # 2023-24 uses the mid-2023 estimate: 6 / 10,000 * 10,000 = 6.0; authority 8 / 40,000 * 10,000 = 2.0.
    assert cell("referral_rate", "A")["value"] == pytest.approx(6.0)
    assert cell("referral_rate", "999")["value"] == pytest.approx(2.0)
    # Re-referrals need 12 months of history before the period: not available in the first year.
    assert cell("rereferral_rate_12m", "A")["status"] == "x"
    # Child b1 is on a plan at 31 March 2024: 1 / 30,000 * 10,000.
    assert cell("cpp_rate", "B")["value"] == pytest.approx(1 / 3)
    assert cell("cpp_rate", "A")["value"] == 0
    # No assessments anywhere: a percentage of nothing is not applicable, never 0%.
    assert cell("assessments_within_45_days", "A")["status"] == "z"
    assert cell("assessments_within_45_days", "A")["value"] is None
    monthly = values.filter(period_type="month", indicator_id="referrals_received", area_code="A")
    assert monthly.height == 12
    assert monthly.get_column("value").sum() == 6
    # Only the referrals source is covered: the other sources' entries are absent, not zero.
    assert set(values.get_column("indicator_id")) <= {i.id for i in catalogue.indicators if i.source == "referrals"}

    published = apply_disclosure_control(values, catalogue)
    suppressed = published.filter(period_type="reporting_year", indicator_id="referrals_received", area_code="B")
    assert suppressed.get_column("status").item() == "c" and suppressed.get_column("value").item() is None
    # 6 is above the threshold, but with two localities it would give B away (8 - 6 = 2): secondary
    # suppression hides it too, and the authority's 8 stays published.
    year = published.filter(period_type="reporting_year", indicator_id="referrals_received")
    assert dict(zip(year.get_column("area_code"), year.get_column("status"), strict=True)) == {
        "999": "ok", "A": "c", "B": "c"}


def test_periods_and_population_year() -> None:
    periods = reference.periods_frame(date(2023, 1, 1), date(2024, 4, 1))
    years = periods.filter(period_type="reporting_year")
    assert years.get_column("period_label").to_list() == ["2022-23", "2023-24", "2024-25"]
    assert years.get_column("population_year").to_list() == [2022, 2023, 2024]
    january = periods.filter(period_type="month", period_start=date(2024, 1, 1)).row(0, named=True)
    assert january["period_end"] == date(2024, 1, 31)
    assert january["period_label"] == "Jan 2024"
    assert january["population_year"] == 2023  # January 2024 falls in reporting year 2023-24


def test_last_complete_month() -> None:
    assert reference.last_complete_month(date(2026, 10, 31)) == date(2026, 10, 1)
    assert reference.last_complete_month(date(2026, 10, 30)) == date(2026, 9, 1)
    assert reference.last_complete_month(date(2024, 2, 29)) == date(2024, 2, 1)


def by_definition(con: duckdb.DuckDBPyConnection, indicator: Indicator, period: dict[str, object]) -> pl.DataFrame:
    """One entry's totals for one period, straight from the catalogue's definition of timing: a row is
    counted when its date falls between the period's first and last day (events), or when it started
    by the period's last day and had not ended by then (stocks)."""
    calc = indicator.calculation
    bounds = {"end": period["period_end"]}
    if calc.timing == "event":
        bounds["start"] = period["period_start"]
        condition = f"{calc.date} between $start and $end"
    else:
        condition = f"{calc.start} is not null and {calc.start} <= $end and ({calc.end} is null or {calc.end} > $end)"
    denominator = calc.denominator
    counts_denominator = denominator is not None and denominator.aggregate != "population"
    aggregates = [_aggregate_sql(calc.numerator, str(period["period_type"])) + " as numerator"]
    if counts_denominator:
        aggregates.append(_aggregate_sql(denominator, str(period["period_type"])) + " as denominator")
    return con.execute(
        f"select coalesce(f.locality, '999') as area_code, {', '.join(aggregates)} "
        f"from {calc.table} as f where {condition} group by rollup (f.locality)",
        bounds).pl()


def test_engine_places_rows_in_periods_as_defined(con: duckdb.DuckDBPyConnection) -> None:
    """Random referrals with dates on month and year boundaries, open and closed plans and repeat
    children: every entry, area and period equals a count made period by period from the definition."""
    rng = random.Random(7)
    first, last = date(2022, 4, 1), date(2024, 3, 1)
    edges = [date(2022, 3, 31), date(2022, 4, 1), date(2023, 3, 31), date(2023, 4, 1), date(2023, 1, 31),
             date(2023, 2, 1), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 1)]

    def day() -> date:
        return rng.choice(edges) if rng.random() < 0.3 else date(2022, 1, 1) + timedelta(days=rng.randrange(900))

    def later(start: date) -> date | None:
        return None if rng.random() < 0.3 else max(start, day())

    rows = []
    for _ in range(400):
        referral, cpp, cla = day(), day() if rng.random() < 0.4 else None, day() if rng.random() < 0.2 else None
        assessed = referral + timedelta(days=rng.randrange(90)) if rng.random() < 0.7 else None
        rows.append({"child_key": f"c{rng.randrange(80)}", "locality": rng.choice("AB"), "referral_date": referral,
                     "referral_nfa": rng.choice("YN"), "closure_date": later(referral),
                     "assessment_start_date": assessed, "assessment_authorised_date": assessed,
                     "cpp_start_date": cpp, "cpp_end_date": cpp and later(cpp), "cpp_previous_plans": rng.randrange(3),
                     "cla_start_date": cla, "cla_end_date": cla and later(cla)})
    mart(con, rows)
    build_reference(con, first, last)
    catalogue = load_catalogue()
    values = compute_indicator_values(con, catalogue, {"referrals": Coverage(first_month=first, last_month=last)})
    periods = con.execute("select * from periods").pl()
    checked = 0
    for indicator in catalogue.indicators:
        if indicator.source != "referrals":
            continue
        for period in periods.iter_rows(named=True):
            expected = by_definition(con, indicator, period)
            ours = values.filter(indicator_id=indicator.id, period_type=period["period_type"],
                                 period_start=period["period_start"])
            assert ours.height == 3
            for row in ours.iter_rows(named=True):
                want = expected.filter(area_code=row["area_code"])
                assert row["numerator"] == (want.item(0, "numerator") if want.height else 0.0), (indicator.id, row)
                if "denominator" in expected.columns:
                    assert row["denominator"] == (want.item(0, "denominator") if want.height else 0.0)
                checked += 1
    assert checked == 10 * 26 * 3  # referral entries x (24 months + 2 years) x (2 localities + authority)
    assert values.filter(indicator_id="cin_rate").get_column("numerator").sum() > 100

    # Recomputing a few periods gives exactly the rows of the full computation.
    only = {"cin_rate": pl.DataFrame({"period_type": ["month", "month"],
                                      "period_start": [date(2023, 3, 1), date(2023, 4, 1)]}),
            "referrals_received": pl.DataFrame({"period_type": ["reporting_year"],
                                                "period_start": [date(2023, 4, 1)]})}
    partial = compute_indicator_values(con, catalogue, {"referrals": Coverage(first_month=first, last_month=last)},
                                       only=only)
    assert partial.height == 9
    assert_frame_equal(partial, values.join(partial.select("indicator_id", "period_type", "period_start").unique(),
                                            on=["indicator_id", "period_type", "period_start"], how="semi"))


def test_story_splits_the_authority_by_every_breakdown_and_adds_up(con: duckdb.DuckDBPyConnection) -> None:
    """The story's groups come from one statement per batch: each breakdown's contributions add up to the
    authority's change, the authority is split by locality, and a locality is not split by itself."""
    rng = random.Random(11)
    first, last = date(2022, 4, 1), date(2024, 3, 1)
    rows = []
    for number in range(1_500):
        referral = first + timedelta(days=rng.randrange(700 if rng.random() < 0.5 else 400))
        rows.append({"child_key": f"c{number}", "locality": rng.choice("AB"), "referral_date": referral,
                     "referral_source": rng.choice(["1A", "2A", "3A"]), "referral_nfa": "N"})
    mart(con, rows)
    build_reference(con, first, last)
    catalogue = load_catalogue()
    values = compute_indicator_values(con, catalogue, {"referrals": Coverage(first_month=first, last_month=last)})
    story = build_story(con, catalogue, values).filter(indicator_id="referrals_received")

    monthly = values.filter(indicator_id="referrals_received", period_type="month", area_code="999")
    after = monthly.filter(pl.col("period_start") >= date(2023, 4, 1)).get_column("numerator").sum() / 12
    before = monthly.filter(pl.col("period_start") < date(2023, 4, 1)).get_column("numerator").sum() / 12
    authority = story.filter(area_code="999")
    assert set(authority.get_column("dimension")) == {"locality", "referral_source"}
    for dimension in ("locality", "referral_source"):
        groups = authority.filter(dimension=dimension)
        assert groups.get_column("status").unique().to_list() == ["ok"]
        assert groups.get_column("contribution").sum() == pytest.approx(after - before)
    assert sorted(authority.filter(dimension="locality").get_column("group_value")) == ["A", "B"]
    for locality in ("A", "B"):
        own = story.filter(area_code=locality)
        assert own.get_column("dimension").unique().to_list() == ["referral_source"]
        local = values.filter(indicator_id="referrals_received", period_type="month", area_code=locality)
        change = (local.filter(pl.col("period_start") >= date(2023, 4, 1)).get_column("numerator").sum()
                  - local.filter(pl.col("period_start") < date(2023, 4, 1)).get_column("numerator").sum()) / 12
        assert own.get_column("contribution").sum() == pytest.approx(change)
