"""Disclosure control: the one place every published figure passes through.

Following the Department for Education's convention, a count of children or families from 1 to the
threshold (5 by default) is suppressed, and so is any rate or percentage built on such a count, or on
a denominator that small. Suppressed cells keep no number and carry the symbol 'c'.

Primary suppression alone is not enough: a locality's count is the authority's count minus the other
localities', and a month's count is the year's minus the other eleven months'. Secondary suppression
therefore hides a second cell wherever a single suppressed cell could be worked out by subtraction,
choosing the smallest non-zero published cell (so as little as possible is lost), and hides the total
when no such cell exists. The rules repeat until no suppressed cell stands alone in any total.

Thresholds and profiles are configuration (`oba_pipeline/catalogue/disclosure.yaml`, or a file named
by `OBA_DISCLOSURE_CONFIG`): the `standard` profile governs what signed-in users and exports see, the
stricter `public` profile the explicitly published subset shown to the public.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from oba_pipeline.catalogue import Catalogue
from oba_pipeline.config import CATALOGUE_DIR

DEFAULT_THRESHOLD = 5
SUPPRESSED = "c"
CONFIG_ENV = "OBA_DISCLOSURE_CONFIG"
DEFAULT_CONFIG = CATALOGUE_DIR / "disclosure.yaml"
PROFILE_KEYS = {"threshold", "secondary", "indicators", "area_types", "description"}


class DisclosureConfigError(ValueError):
    """The disclosure configuration file is not usable."""


@dataclass(frozen=True)
class DisclosureProfile:
    """How strictly one audience's figures are protected."""

    name: str
    threshold: int = DEFAULT_THRESHOLD
    secondary: bool = True
    indicators: tuple[str, ...] | None = None  # None: every catalogue entry
    area_types: tuple[str, ...] = ("authority", "locality")
    description: str = ""


def load_profiles(path: Path | None = None) -> dict[str, DisclosureProfile]:
    """The disclosure profiles by name; `standard` and `public` must both be present."""
    path = path or Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise DisclosureConfigError(f"{path}: cannot read the disclosure configuration ({error}).") from error
    profiles: dict[str, DisclosureProfile] = {}
    for name, entry in (raw.get("profiles") or {}).items():
        unknown = set(entry or {}) - PROFILE_KEYS
        if unknown:
            raise DisclosureConfigError(f"{path}: profile {name!r} has unknown keys {sorted(unknown)}; "
                                        f"allowed: {sorted(PROFILE_KEYS)}.")
        threshold = entry.get("threshold", DEFAULT_THRESHOLD)
        if not isinstance(threshold, int) or threshold < 1:
            raise DisclosureConfigError(f"{path}: profile {name!r} threshold must be a whole number of at "
                                        f"least 1, not {threshold!r}.")
        indicators = entry.get("indicators")
        profiles[name] = DisclosureProfile(
            name=name, threshold=threshold, secondary=bool(entry.get("secondary", True)),
            indicators=tuple(indicators) if indicators is not None else None,
            area_types=tuple(entry.get("area_types", ("authority", "locality"))),
            description=str(entry.get("description", "")).strip(),
        )
    for required in ("standard", "public"):
        if required not in profiles:
            raise DisclosureConfigError(f"{path}: no {required!r} profile; both 'standard' and 'public' are needed.")
    if profiles["public"].threshold < profiles["standard"].threshold:
        raise DisclosureConfigError(f"{path}: the public threshold ({profiles['public'].threshold}) must not be "
                                    f"lower than the standard one ({profiles['standard'].threshold}).")
    return profiles


def apply_disclosure_control(values: pl.DataFrame, catalogue: Catalogue, threshold: int | None = None, *,
                             profile: DisclosureProfile | None = None) -> pl.DataFrame:
    """Suppress small counts of people in `indicator_values`-shaped rows; other rows pass unchanged.

    With a profile, rows outside its indicators and area types are dropped first. Secondary
    suppression runs when the rows carry their area and period (as `indicator_values` does).
    """
    profile = profile or DisclosureProfile(name="standard")
    limit = threshold if threshold is not None else profile.threshold
    if profile.indicators is not None:
        values = values.filter(pl.col("indicator_id").is_in(list(profile.indicators)))
    if "area_type" in values.columns:
        values = values.filter(pl.col("area_type").is_in(list(profile.area_types)))
    people = [i.id for i in catalogue.indicators if i.people]
    uses_count_denominator = [i.id for i in catalogue.indicators
                              if i.people and i.calculation.denominator is not None
                              and i.calculation.denominator.aggregate != "population"]

    def small(column: str) -> pl.Expr:
        return (pl.col(column) >= 1) & (pl.col(column) <= limit)

    is_people = pl.col("indicator_id").is_in(people)
    suppress = (
        (pl.col("status") == "ok") & is_people
        & (small("numerator") | (pl.col("indicator_id").is_in(uses_count_denominator) & small("denominator")))
    )
    # A figure that is not available ('x') publishes none of its parts either: a count of 3 must not
    # reach a reader as the numerator of an unavailable rate.
    unavailable = (pl.col("status") == "x") & is_people
    result = values.with_columns(
        status=pl.when(suppress).then(pl.lit(SUPPRESSED)).otherwise(pl.col("status")),
        value=pl.when(suppress).then(None).otherwise(pl.col("value")),
        numerator=pl.when(suppress | unavailable).then(None).otherwise(pl.col("numerator")),
        denominator=pl.when((suppress | unavailable) & pl.col("indicator_id").is_in(uses_count_denominator))
        .then(None).otherwise(pl.col("denominator")),
    )
    if profile.secondary and {"area_code", "area_type", "period_type", "period_start"} <= set(values.columns):
        additive_in_time = {i.id for i in catalogue.indicators if i.people and i.calculation.timing == "event"}
        extra = secondary_suppression(values, result, set(people), additive_in_time)
        if extra:
            hide = np.zeros(result.height, dtype=bool)
            hide[sorted(extra)] = True
            result = result.with_columns(pl.Series("hide", hide)).with_columns(
                status=pl.when(pl.col("hide")).then(pl.lit(SUPPRESSED)).otherwise(pl.col("status")),
                value=pl.when(pl.col("hide")).then(None).otherwise(pl.col("value")),
                numerator=pl.when(pl.col("hide")).then(None).otherwise(pl.col("numerator")),
                denominator=pl.when(pl.col("hide") & pl.col("indicator_id").is_in(uses_count_denominator))
                .then(None).otherwise(pl.col("denominator")),
            ).drop("hide")
    return result


def secondary_suppression(before: pl.DataFrame, after: pl.DataFrame, people: set[str],
                          additive_in_time: set[str]) -> set[int]:
    """Row positions to suppress so that no suppressed cell can be worked out by subtraction.

    `before` holds the figures before suppression (to choose complements by size), `after` the rows
    after primary suppression. Two kinds of total are protected: the authority over its localities
    (every indicator counting people), and a reporting year over its twelve months (indicators whose
    rows are counted in the period they happen, so months add up to the year).
    """
    # Arrays and a frame of groups, not a Python object per row: a national table has millions of rows.
    numerators = before.get_column("numerator").cast(pl.Float64).to_numpy()  # NaN where there is none
    status = after.get_column("status")
    ok = (status == "ok").fill_null(False).to_numpy()
    primary = (status == SUPPRESSED).fill_null(False).to_numpy()
    area_codes, period_starts = after.get_column("area_code"), after.get_column("period_start")
    suppressed = set(np.flatnonzero(primary).tolist())
    groups = _total_groups(after, people, additive_in_time)

    def published(index: int) -> bool:
        return bool(ok[index]) and index not in suppressed

    changed = True
    while changed:
        changed = False
        for total, parts in groups:
            if not published(total):
                continue
            hidden = [i for i in parts if i in suppressed]
            if len(hidden) != 1:
                continue
            candidates = sorted((i for i in parts if published(i) and (numerators[i] or 0) > 0),
                                key=lambda i: (numerators[i], area_codes[i], period_starts[i]))
            suppressed.add(candidates[0] if candidates else total)
            changed = True
    return {i for i in suppressed if not primary[i]}


def _total_groups(rows: pl.DataFrame, people: set[str], additive_in_time: set[str]) -> list[tuple[int, list[int]]]:
    """(total row, part rows) of every total that secondary suppression protects, by row position: each
    authority row over the same indicator and period's other rows (in order of first appearance), then each
    reporting year of an additive indicator over its area's twelve months (years in row order)."""
    frame = (rows.select("indicator_id", "area_code", "area_type", "period_type", "period_start")
             .with_row_index("_row").filter(pl.col("indicator_id").is_in(list(people))))
    authority = pl.col("area_type") == "authority"
    by_area = (frame.group_by("indicator_id", "period_type", "period_start", maintain_order=True)
               .agg(total=pl.col("_row").filter(authority).last(), parts=pl.col("_row").filter(~authority))
               .filter(pl.col("total").is_not_null() & (pl.col("parts").list.len() > 0)))
    additive = frame.filter(pl.col("indicator_id").is_in(list(additive_in_time)))
    month_index = pl.col("period_start").dt.year() * 12 + pl.col("period_start").dt.month() - 1
    months = additive.filter(pl.col("period_type") == "month").select(
        "indicator_id", "area_code", month_index.alias("_month"), pl.col("_row").alias("_part"))
    years = additive.filter(pl.col("period_type") == "reporting_year").select(
        "_row", "indicator_id", "area_code", month_index.alias("_first"))
    # Each month joins the one year of its series that starts in the same month of the year at most 11 months
    # before it: an equality join per month of the year that years start in (April, in practice).
    pieces = [
        years.filter(pl.col("_first") % 12 == start).join(
            months.with_columns(_first=pl.col("_month") - (pl.col("_month") - start) % 12),
            on=["indicator_id", "area_code", "_first"])
        for start in (years.get_column("_first") % 12).unique().sort().to_list()
    ]
    by_year = (pl.concat(pieces).group_by("_row").agg(pl.col("_part").sort())
               .filter(pl.col("_part").list.len() == 12).sort("_row").iter_rows() if pieces else [])
    return [*by_area.select("total", "parts").iter_rows(), *by_year]


def small_published_counts(values: pl.DataFrame, catalogue: Catalogue,
                           threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Rows of people-counting measures that publish a count in 1..threshold (should always be empty)."""
    people = [i.id for i in catalogue.indicators if i.people]
    count_denominator = [i.id for i in catalogue.indicators if i.people and i.calculation.denominator is not None
                         and i.calculation.denominator.aggregate != "population"]
    count_value = [i.id for i in catalogue.indicators if i.people and i.calculation.denominator is None]

    def small(column: str) -> pl.Expr:
        # A table without the column (a narrower export) cannot publish a small value in it.
        if column not in values.columns:
            return pl.lit(False)
        return (pl.col(column) >= 1) & (pl.col(column) <= threshold)

    return values.filter(pl.col("indicator_id").is_in(people) & (
        small("numerator")
        | (pl.col("indicator_id").is_in(count_denominator) & small("denominator"))
        | (pl.col("indicator_id").is_in(count_value) & small("value"))))


def public_indicator_ids(profile: DisclosureProfile, catalogue: Catalogue) -> list[str]:
    """The catalogue entries the public profile publishes, in catalogue order."""
    every = [i.id for i in catalogue.indicators]
    wanted: Iterable[str] = profile.indicators if profile.indicators is not None else every
    chosen = set(wanted)
    return [i for i in every if i in chosen]


def suppress_small_groups(frame: pl.DataFrame, count: str, figures: list[str],
                          threshold: int = DEFAULT_THRESHOLD) -> pl.DataFrame:
    """Disclosure control for tables that are not `indicator_values`: where the number of people
    (children or families) a row is built on, in column `count`, is from 1 to the threshold, the
    row's `figures` and the count itself are emptied and its `status` becomes 'c'."""
    small = (pl.col(count) >= 1) & (pl.col(count) <= threshold)
    status = pl.col("status") if "status" in frame.columns else pl.lit("ok")
    return frame.with_columns(
        status=pl.when(small).then(pl.lit(SUPPRESSED)).otherwise(status),
        **{column: pl.when(small).then(None).otherwise(pl.col(column)) for column in [*figures, count]},
    )
