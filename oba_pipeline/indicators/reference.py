"""Reference tables the marts and the indicator engine join to: periods, areas, population, registries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import yaml

from oba_pipeline.config import CATALOGUE_DIR
from oba_pipeline.family_voice.registry import instruments_frame, load_instruments
from oba_pipeline.indicators.engine import Coverage, _add_months

# The date column that places each source's rows in time, used to find the months it covers.
SOURCE_DATES = {
    "referrals": "referral_date",
    "caseloads": "snapshot_date",
    "spend": "period_month",
    "family_outcomes": "reading_date",
}
# A month counts as covered once its volume reaches this share of the typical (median) month:
# extracts often carry a thin tail of older, still-open records before their real start.
COVERAGE_THRESHOLD = 0.5
# When the extracts pool several authorities (a regional alliance, or national analysis), the top area
# is the pool: every locality of every authority sums to it.
POOLED_CODE = "ALL"


def periods_frame(first_month: date, last_month: date) -> pl.DataFrame:
    """Calendar months and reporting years (1 April to 31 March) between two months inclusive.

    `population_year` is the ONS mid-year estimate DfE uses as the denominator: the one for the
    calendar year in which the reporting year starts.
    """
    months = pl.date_range(first_month, last_month, interval="1mo", eager=True)
    month_rows = pl.DataFrame({"period_start": months}).with_columns(
        period_type=pl.lit("month"),
        period_end=pl.col("period_start").dt.month_end(),
        period_label=pl.col("period_start").dt.strftime("%b %Y"),
    )
    first_year = first_month.year if first_month.month >= 4 else first_month.year - 1
    years = [date(y, 4, 1) for y in range(first_year, last_month.year + 1) if date(y, 4, 1) <= last_month]
    year_rows = pl.DataFrame({"period_start": years}, schema={"period_start": pl.Date}).with_columns(
        period_type=pl.lit("reporting_year"),
        period_end=pl.date(pl.col("period_start").dt.year() + 1, 3, 31),
        period_label=pl.format("{}-{}", pl.col("period_start").dt.year(),
                               (pl.col("period_start").dt.year() + 1).cast(pl.Utf8).str.slice(2, 2)),
    )
    return pl.concat([month_rows, year_rows], how="diagonal").with_columns(
        population_year=(pl.col("period_start").dt.year()
                         - (pl.col("period_start").dt.month() < 4).cast(pl.Int32)).cast(pl.Int64),
    ).select("period_type", "period_start", "period_end", "period_label", "population_year")


def top_area(population: pl.DataFrame) -> tuple[str, str]:
    """The code and name of the top area: the authority, or the pool when several authorities are pooled."""
    authorities = population.select("la_code", "la_name").unique().sort("la_code")
    if authorities.height == 1:
        code, name = authorities.row(0)
        return str(code), str(name)
    return POOLED_CODE, f"All {authorities.height} authorities pooled"


def areas_frame(population: pl.DataFrame) -> pl.DataFrame:
    """The authority (or the pool of authorities) and each locality, from the population reference file."""
    latest = population.sort("mid_year").group_by("locality", maintain_order=True).last()
    la_code, la_name = top_area(latest)
    localities = latest.sort("locality").select(
        area_code=pl.col("locality"), area_name=pl.col("locality_name"), area_type=pl.lit("locality"),
        parent_code=pl.lit(la_code))
    top = pl.DataFrame({"area_code": [la_code], "area_name": [la_name], "area_type": ["authority"],
                        "parent_code": [None]}, schema=localities.schema)
    return pl.concat([top, localities]).with_row_index("display_order", offset=1).with_columns(
        pl.col("display_order").cast(pl.Int64))


def area_population(population: pl.DataFrame, last_year: int) -> pl.DataFrame:
    """Children aged 0-17 per area and mid-year, the authority being the sum of its localities.

    Years after the latest estimate carry the latest one forward (ONS publishes each mid-year
    estimate about a year late); years before the first estimate are absent, so rates there are 'x'.
    """
    per_locality = population.select(area_code=pl.col("locality"), mid_year="mid_year",
                                     children_0_17="children_0_17")
    la_code, _ = top_area(population)
    authority = per_locality.group_by("mid_year").agg(pl.col("children_0_17").sum()).with_columns(
        area_code=pl.lit(la_code))
    known = pl.concat([per_locality, authority.select(per_locality.columns)])
    first_year = int(known.get_column("mid_year").min())  # type: ignore[arg-type]
    years = pl.DataFrame({"mid_year": list(range(first_year, max(last_year, first_year) + 1))})
    grid = known.select("area_code").unique().join(years, how="cross")
    return (grid.join(known, on=["area_code", "mid_year"], how="left")
            .sort("area_code", "mid_year")
            .with_columns(pl.col("children_0_17").forward_fill().over("area_code"))
            .drop_nulls("children_0_17")
            .with_columns(pl.col("mid_year").cast(pl.Int64), pl.col("children_0_17").cast(pl.Int64)))


def coverage_of(dates: pl.Series, extract_date: date) -> Coverage | None:
    """The complete months a source covers, from the dates that place its rows in time."""
    months = dates.drop_nulls().dt.truncate("1mo")
    if months.is_empty():
        return None
    counts = months.value_counts().sort(months.name)
    typical = counts.get_column("count").median()
    full = counts.filter(pl.col("count") >= COVERAGE_THRESHOLD * float(typical))  # type: ignore[arg-type]
    first_month = full.get_column(months.name).min()
    last_month = last_complete_month(extract_date)
    if not isinstance(first_month, date) or first_month > last_month:  # none, when no month is full
        return None
    return Coverage(first_month=first_month, last_month=last_month)


def last_complete_month(extract_date: date) -> date:
    """The first day of the last month the extracts cover to its end."""
    this_month = extract_date.replace(day=1)
    month_ends = _add_months(this_month, 1).toordinal() - 1 == extract_date.toordinal()
    return this_month if month_ends else _add_months(this_month, -1)


def spend_lines(path: Path | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The Section 251 prefix classes, and the class for lines no prefix matches."""
    raw = yaml.safe_load((path or CATALOGUE_DIR / "spend_lines.yaml").read_text(encoding="utf-8"))
    prefixes = pl.DataFrame({"prefix": list(raw["prefixes"]), "spend_class": list(raw["prefixes"].values())})
    return prefixes, pl.DataFrame({"default_class": [raw["default"]]})


def instruments(path: Path | None = None) -> pl.DataFrame:
    """The instrument registry as a table: headline scoring, direction, reliable change, review timing."""
    return instruments_frame(load_instruments(path))
