"""Disclosure control: small counts of people and the rates built on them are suppressed as 'c'."""

import random
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.disclosure import (
    DisclosureConfigError,
    apply_disclosure_control,
    load_profiles,
    small_published_counts,
)


def rows(indicator: str, cells: list[tuple[float, float | None]]) -> pl.DataFrame:
    return pl.DataFrame({
        "indicator_id": [indicator] * len(cells),
        "numerator": [float(n) for n, _ in cells],
        "denominator": [d for _, d in cells],
        "value": [n if d is None else n / d * 100 for n, d in cells],
        "status": ["ok"] * len(cells),
    }, schema={"indicator_id": pl.Utf8, "numerator": pl.Float64, "denominator": pl.Float64,
               "value": pl.Float64, "status": pl.Utf8})


def test_counts_from_one_to_five_are_suppressed() -> None:
    result = apply_disclosure_control(rows("referrals_received", [(0, None), (1, None), (5, None), (6, None)]),
                                      load_catalogue())
    assert result.get_column("status").to_list() == ["ok", "c", "c", "ok"]
    assert result.get_column("value").to_list() == [0.0, None, None, 6.0]
    assert result.get_column("numerator").to_list() == [0.0, None, None, 6.0]


def test_percentages_on_small_numerators_or_denominators_are_suppressed() -> None:
    result = apply_disclosure_control(
        rows("rereferral_rate_12m", [(3, 40), (10, 4), (0, 5), (12, 40)]), load_catalogue())
    assert result.get_column("status").to_list() == ["c", "c", "c", "ok"]
    assert result.get_column("denominator").to_list() == [None, None, None, 40.0]


def test_measures_that_do_not_count_people_are_left_alone() -> None:
    result = apply_disclosure_control(rows("average_caseload_per_fte", [(3, 1)]), load_catalogue())
    assert result.get_column("status").to_list() == ["ok"]


def test_threshold_is_configuration() -> None:
    result = apply_disclosure_control(rows("referrals_received", [(7, None)]), load_catalogue(), threshold=10)
    assert result.get_column("status").to_list() == ["c"]


# --- Secondary suppression, profiles and configuration ----------------------------------------------

AUTHORITY = "E06000999"
LOCALITIES = ["L1", "L2", "L3", "L4"]


def grid(indicator: str, locality_counts: list[list[int]], period_type: str = "month",
         starts: list[date] | None = None, denominators: list[list[int]] | None = None) -> pl.DataFrame:
    """indicator_values-shaped rows: per period, the authority (sum of localities) and each locality."""
    starts = starts or [date(2024, 4 + i, 1) if 4 + i <= 12 else date(2025, i - 8, 1)
                        for i in range(len(locality_counts))]
    records = []
    for p, (start, counts) in enumerate(zip(starts, locality_counts, strict=True)):
        dens = denominators[p] if denominators else None
        cells = [(AUTHORITY, "authority", sum(counts), sum(dens) if dens else None)]
        cells += [(code, "locality", n, dens[i] if dens else None) for i, (code, n) in enumerate(
            zip(LOCALITIES, counts, strict=True))]
        for code, kind, n, d in cells:
            records.append({"indicator_id": indicator, "area_code": code, "area_name": code, "area_type": kind,
                            "period_type": period_type, "period_start": start, "period_end": start,
                            "period_label": str(start), "value": float(n) if d is None else n / d * 100,
                            "numerator": float(n), "denominator": None if d is None else float(d),
                            "status": "ok"})
    return pl.DataFrame(records, schema={
        "indicator_id": pl.Utf8, "area_code": pl.Utf8, "area_name": pl.Utf8, "area_type": pl.Utf8,
        "period_type": pl.Utf8, "period_start": pl.Date, "period_end": pl.Date, "period_label": pl.Utf8,
        "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64, "status": pl.Utf8})


def recoverable_by_subtraction(published: pl.DataFrame) -> list[tuple[str, str]]:
    """Every suppressed locality whose count equals the authority total minus the other localities."""
    found = []
    for (start,), period in published.group_by("period_start"):
        total = period.filter(area_type="authority")
        localities = period.filter(area_type="locality")
        hidden = localities.filter(status="c")
        if total.item(0, "status") == "ok" and hidden.height == 1:
            found.append((hidden.item(0, "area_code"), str(start)))
    return found


def test_a_lone_suppressed_locality_gets_a_second_suppression() -> None:
    # L2 holds 3: without secondary suppression 40 - (20 + 10 + 7) = 3 gives it away.
    values = grid("referrals_received", [[20, 3, 10, 7]])
    result = apply_disclosure_control(values, load_catalogue())
    by_area = dict(zip(result.get_column("area_code"), result.get_column("status"), strict=True))
    assert by_area == {AUTHORITY: "ok", "L1": "ok", "L2": "c", "L3": "ok", "L4": "c"}  # 7 is the smallest other
    assert recoverable_by_subtraction(result) == []
    assert result.filter(status="c").get_column("numerator").null_count() == 2


def test_two_suppressed_localities_need_nothing_more() -> None:
    result = apply_disclosure_control(grid("referrals_received", [[20, 3, 10, 2]]), load_catalogue())
    assert result.filter(status="c").get_column("area_code").sort().to_list() == ["L2", "L4"]


def test_when_every_other_locality_is_zero_the_total_is_suppressed_too() -> None:
    result = apply_disclosure_control(grid("referrals_received", [[0, 4, 0, 0]]), load_catalogue())
    assert result.filter(area_code=AUTHORITY).item(0, "status") == "c"
    assert recoverable_by_subtraction(result) == []


def test_a_lone_suppressed_month_is_protected_against_the_year_total() -> None:
    months = [[20, 20, 20, 20]] * 12
    months = [list(m) for m in months]
    months[3][0] = 2  # L1 in July: the July row for L1 is suppressed
    monthly = grid("referrals_received", months)
    yearly = grid("referrals_received", [[sum(m[i] for m in months) for i in range(4)]],
                  period_type="reporting_year", starts=[date(2024, 4, 1)])
    result = apply_disclosure_control(pl.concat([monthly, yearly]), load_catalogue())
    l1_months = result.filter(area_code="L1", period_type="month")
    l1_year = result.filter(area_code="L1", period_type="reporting_year")
    # Either a second month or the year is hidden, so L1's July cannot be worked out from the year.
    assert l1_months.filter(status="c").height >= 2 or l1_year.item(0, "status") == "c"
    # And within each month no suppressed locality stands alone against the authority total.
    assert recoverable_by_subtraction(result.filter(period_type="month")) == []


def test_percentages_protect_their_denominators_across_localities() -> None:
    values = grid("assessments_within_45_days", [[30, 2, 40, 25]],
                  denominators=[[40, 4, 50, 30]])
    result = apply_disclosure_control(values, load_catalogue())
    assert recoverable_by_subtraction(result) == []
    shown = result.filter(status="ok")
    assert shown.filter(area_type="locality").height == 2
    assert result.filter(status="c").get_column("denominator").null_count() == 2


@pytest.mark.parametrize("seed", range(25))
def test_random_tables_never_publish_small_counts_or_recoverable_cells(seed: int) -> None:
    rng = random.Random(seed)
    counts = [[rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 30]) for _ in LOCALITIES] for _ in range(6)]
    result = apply_disclosure_control(grid("cpp_started", counts), load_catalogue())
    assert small_published_counts(result, load_catalogue()).height == 0
    assert recoverable_by_subtraction(result) == []


def test_unavailable_figures_publish_no_counts() -> None:
    values = grid("rereferral_rate_12m", [[3, 1, 1, 1]], denominators=[[30, 10, 10, 10]]).with_columns(
        status=pl.lit("x"), value=pl.lit(None, dtype=pl.Float64))
    result = apply_disclosure_control(values, load_catalogue())
    assert result.get_column("numerator").null_count() == result.height
    assert set(result.get_column("status")) == {"x"}


def test_public_profile_is_stricter_and_only_its_subset() -> None:
    profiles = load_profiles()
    public = profiles["public"]
    assert public.threshold > profiles["standard"].threshold
    values = pl.concat([grid("referrals_received", [[8, 9, 20, 30]]), grid("cpp_started", [[8, 9, 20, 30]])])
    standard = apply_disclosure_control(values, load_catalogue(), profile=profiles["standard"])
    shown = apply_disclosure_control(values, load_catalogue(), profile=public)
    assert standard.filter(status="c").height == 0
    assert set(shown.get_column("indicator_id")) == {"referrals_received"}  # cpp_started is not in the subset
    assert shown.filter(status="c").get_column("area_code").sort().to_list() == ["L1", "L2"]
    assert small_published_counts(shown, load_catalogue(), threshold=public.threshold).height == 0


def test_thresholds_come_from_a_configuration_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "disclosure.yaml"
    config.write_text("profiles:\n  standard: {threshold: 9}\n  public: {threshold: 20, indicators: [cla_rate]}\n")
    monkeypatch.setenv("OBA_DISCLOSURE_CONFIG", str(config))
    profiles = load_profiles()
    assert profiles["standard"].threshold == 9 and profiles["public"].indicators == ("cla_rate",)
    result = apply_disclosure_control(grid("referrals_received", [[8, 30, 20, 30]]), load_catalogue(),
                                      profile=profiles["standard"])
    assert result.filter(area_code="L1").item(0, "status") == "c"


@pytest.mark.parametrize("text, complaint", [
    ("profiles:\n  standard: {threshold: 5}\n", "no 'public' profile"),
    ("profiles:\n  standard: {threshold: 5}\n  public: {threshold: 3}\n", "must not be lower"),
    ("profiles:\n  standard: {threshold: 0}\n  public: {threshold: 10}\n", "at least 1"),
    ("profiles:\n  standard: {treshold: 5}\n  public: {threshold: 10}\n", "unknown keys"),
])
def test_a_bad_configuration_is_a_clear_error(tmp_path: Path, text: str, complaint: str) -> None:
    config = tmp_path / "disclosure.yaml"
    config.write_text(text)
    with pytest.raises(DisclosureConfigError, match=complaint):
        load_profiles(config)
