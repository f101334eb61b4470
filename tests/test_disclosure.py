"""Disclosure control: small counts of people and the rates built on them are suppressed as 'c'."""

import polars as pl

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.disclosure import apply_disclosure_control


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
