"""Family voice: the instrument registry, scoring, bands, reliable change, directions and agreement,
each checked against examples worked by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import CATALOGUE_DIR, CONTRACTS_DIR, SAMPLE_DATA_DIR
from oba_pipeline.disclosure import suppress_small_groups
from oba_pipeline.family_voice import scoring
from oba_pipeline.family_voice.comparison import family_vs_service
from oba_pipeline.family_voice.direction import Point, agreement, direction_of
from oba_pipeline.family_voice.gaps import rater_gaps, summarise_gap
from oba_pipeline.family_voice.registry import Instrument, RegistryError, load_instruments, load_themes


@pytest.fixture(scope="module")
def tools() -> dict[str, Instrument]:
    return load_instruments()


# --- the registry --------------------------------------------------------------------------------------


def test_registry_covers_every_instrument_the_contract_allows(tools: dict) -> None:
    contract = yaml.safe_load((CONTRACTS_DIR / "family_outcomes.yaml").read_text(encoding="utf-8"))
    allowed = next(c["allowed"] for c in contract["columns"] if c["name"] == "instrument")
    assert set(allowed) == set(tools)
    roles = set(next(c["allowed"] for c in contract["columns"] if c["name"] == "respondent_role"))
    for tool in tools.values():
        assert set(tool.respondents) <= roles, tool.code


def test_every_theme_has_family_areas_and_known_measures() -> None:
    themes = load_themes()
    catalogue_ids = {i.id for i in load_catalogue().indicators}
    assert list(themes) == ["safety", "stability_at_home", "health_and_wellbeing", "education", "relationships",
                            "money_and_housing"]
    for theme in themes.values():
        assert theme.family_areas, theme.code
        assert {theme.family_measure, theme.what_matters_measure, *theme.service_measures} <= catalogue_ids
    # The example: family-rated safety and Family Star "keeping your children safe" next to
    # re-referrals within 12 months and second child protection plans.
    safety = themes["safety"]
    assert ("family_star_plus", "keeping_children_safe") in safety.family_areas
    assert ("signs_of_safety", "safety") in safety.family_areas
    assert set(safety.service_measures) == {"rereferral_rate_12m", "second_cpp_percent"}


def test_sample_data_carries_every_instrument_and_rater_disagreement(tools: dict) -> None:
    readings = pl.read_csv(SAMPLE_DATA_DIR / "family_outcomes.csv", infer_schema=False)
    clean = readings.filter(pl.col("instrument").is_in(list(tools)))
    assert set(clean.get_column("instrument")) == set(tools)
    # Two raters of the same family on the same day: parents and workers on the safety scale.
    sos = clean.filter(pl.col("instrument") == "signs_of_safety")
    both = sos.group_by("family_id", "reading_date").agg(pl.col("respondent_role").n_unique().alias("raters"))
    assert both.filter(pl.col("raters") >= 2).height > 100
    truth = yaml.safe_load((SAMPLE_DATA_DIR / "ground_truth.yaml").read_text(encoding="utf-8"))
    planted = truth["authorities"][0]["family_vs_service"]
    assert planted[0]["agreement"] == "families worse while services improve"


def test_registry_rejects_a_misspelt_key_naming_the_entry(tmp_path: Path) -> None:
    text = (CATALOGUE_DIR / "instruments.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "instruments.yaml"
    bad.write_text(text.replace("    reliable_change: 6.0", "    reliable_chnage: 6.0"), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"instrument sdq: unknown key\(s\) \['reliable_chnage'\]"):
        load_instruments(bad)


def test_registry_rejects_bands_with_a_hole(tmp_path: Path) -> None:
    text = (CATALOGUE_DIR / "instruments.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "instruments.yaml"
    bad.write_text(text.replace("label: Slightly raised, min: 14, max: 16}", "label: Slightly raised, min: 15, "
                                "max: 16}"), encoding="utf-8")
    with pytest.raises(RegistryError, match="slightly_raised should start at 14"):
        load_instruments(bad)


def test_themes_must_agree_with_the_registry(tmp_path: Path) -> None:
    text = (CATALOGUE_DIR / "themes.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "themes.yaml"
    bad.write_text(text.replace("      - my_star.being_safe\n", ""), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"maps \['my_star.being_safe'\] to this theme"):
        load_themes(bad)


# --- scoring, by hand ----------------------------------------------------------------------------------


def test_family_star_headline_is_the_mean_of_the_ten_areas(tools: dict) -> None:
    star = tools["family_star_plus"]
    areas = [item.code for item in star.items]
    assert len(areas) == 10
    # 1 + 2 + ... + 10 = 55, over ten areas: 5.5.
    assert scoring.headline_score(star, dict(zip(areas, range(1, 11), strict=True))) == pytest.approx(5.5)
    with pytest.raises(scoring.ScoringError, match="outside 1 to 10"):
        scoring.headline_score(star, {"family_routine": 11})


def test_every_other_instrument_scores_by_hand(tools: dict) -> None:
    my_star = tools["my_star"]
    areas = [item.code for item in my_star.items]
    # Eight areas scored 1-5: (2 * 4 + 4 * 4) / 8 = 3.0; one step of five is reliable for an area.
    assert scoring.headline_score(my_star, dict(zip(areas, [2] * 4 + [4] * 4, strict=True))) == 3.0
    assert scoring.reliable_change(my_star, 2, 3, "item") == "reliable improvement"
    # Goals: the mean of the goals the family set (two of three here).
    assert scoring.headline_score(tools["goal_based_outcomes"], {"goal_1": 3, "goal_2": 6}) == 4.5
    # The SDQ headline is total difficulties, not the mean of its subscales and prosocial.
    sdq = {"emotional": 4, "conduct": 3, "hyperactivity": 6, "peer_problems": 2, "prosocial": 8,
           "total_difficulties": 15}
    assert scoring.headline_score(tools["sdq"], sdq) == 15
    assert scoring.headline_score(tools["signs_of_safety"], {"safety": 7}) == 7
    assert scoring.reliable_change(tools["family_life"], 4, 6, "headline") == "reliable improvement"
    assert scoring.reliable_change(tools["family_life"], 4, 5, "headline") == "no reliable change"
    # "What matters most" names themes; it has no score to change.
    assert scoring.headline_score(tools["what_matters"], {"safety": 1, "education": 1}) is None
    with pytest.raises(KeyError, match="no item 'keeping_children_safe'"):
        scoring.headline_score(tools["my_star"], {"keeping_children_safe": 3})


@pytest.mark.parametrize(("raw", "metric"), [(7, 7.00), (8, 9.51), (14, 15.32), (20, 18.59), (23, 20.73),
                                              (24, 21.54), (28, 25.03), (34, 32.55), (35, 35.00)])
def test_swemwbs_raw_total_converts_to_the_metric_score(tools: dict, raw: int, metric: float) -> None:
    swemwbs = tools["swemwbs"]
    assert scoring.convert(swemwbs, raw) == metric
    assert scoring.headline_score(swemwbs, {"raw_total": raw}) == metric


def test_swemwbs_conversion_refuses_scores_off_the_table(tools: dict) -> None:
    with pytest.raises(scoring.ScoringError, match="not a whole number from 7 to 35"):
        scoring.convert(tools["swemwbs"], 6)
    with pytest.raises(scoring.ScoringError):
        scoring.convert(tools["swemwbs"], 20.5)


@pytest.mark.parametrize(("role", "score", "band"), [
    # Parent form (and carers, who complete it): 0-13 close to average, 14-16 slightly raised, 17-40 high.
    ("parent", 0, "close_to_average"), ("parent", 13, "close_to_average"), ("parent", 14, "slightly_raised"),
    ("parent", 16, "slightly_raised"), ("parent", 17, "high"), ("parent", 40, "high"),
    ("carer", 13, "close_to_average"), ("carer", 17, "high"),
    # Teacher form: 0-11, 12-15, 16-40.
    ("teacher", 11, "close_to_average"), ("teacher", 12, "slightly_raised"), ("teacher", 15, "slightly_raised"),
    ("teacher", 16, "high"),
    # Self-report (11-17): 0-15, 16-19, 20-40.
    ("child", 15, "close_to_average"), ("child", 16, "slightly_raised"), ("child", 19, "slightly_raised"),
    ("child", 20, "high"),
    # A prorated, fractional total between two bands goes to the upper one.
    ("parent", 13.5, "slightly_raised"),
])
def test_sdq_bands_at_their_edges(tools: dict, role: str, score: float, band: str) -> None:
    found = scoring.band(tools["sdq"], score, role)
    assert found is not None and found.band == band


def test_moving_out_of_the_high_sdq_band(tools: dict) -> None:
    sdq = tools["sdq"]
    assert scoring.left_high_band(sdq, 17, 16, "parent") is True
    assert scoring.left_high_band(sdq, 25, 17, "carer") is False
    assert scoring.left_high_band(sdq, 16, 10, "parent") is None  # never in the high band
    assert scoring.left_high_band(sdq, 17, 17, "teacher") is False  # still high for a teacher (16+)
    assert scoring.band(tools["family_star_plus"], 5, "parent") is None


@pytest.mark.parametrize(("tool", "first", "latest", "level", "expected"), [
    # Family Star headline: one point on the mean of ten areas. Exactly the threshold counts.
    ("family_star_plus", 4.0, 5.0, "headline", "reliable improvement"),
    ("family_star_plus", 4.0, 4.9, "headline", "no reliable change"),
    ("family_star_plus", 5.0, 4.0, "headline", "reliable deterioration"),
    # One area: a whole stage of the journey of change (two points).
    ("family_star_plus", 3, 5, "item", "reliable improvement"),
    ("family_star_plus", 3, 4, "item", "no reliable change"),
    # Goal-based outcomes: 2.5 points on a goal.
    ("goal_based_outcomes", 3, 5.5, "item", "reliable improvement"),
    ("goal_based_outcomes", 3, 5, "item", "no reliable change"),
    # SDQ: lower is better, six points of total difficulties.
    ("sdq", 20, 14, "headline", "reliable improvement"),
    ("sdq", 20, 15, "headline", "no reliable change"),
    ("sdq", 14, 20, "headline", "reliable deterioration"),
    # SWEMWBS on the metric score: raw 20 -> 24 is 18.59 -> 21.54 (2.95, short of 3); 20 -> 25 is 3.76.
    ("swemwbs", 18.59, 21.54, "headline", "no reliable change"),
    ("swemwbs", 18.59, 22.35, "headline", "reliable improvement"),
    # Safety scale: two points on 0-10.
    ("signs_of_safety", 6, 4, "headline", "reliable deterioration"),
])
def test_reliable_change_thresholds(tools: dict, tool: str, first: float, latest: float, level: str,
                                    expected: str) -> None:
    assert scoring.reliable_change(tools[tool], first, latest, level) == expected


# --- direction against the baseline and agreement ------------------------------------------------------


def test_a_share_moves_when_a_two_proportion_test_says_so() -> None:
    history = [Point(20.0, 20, 100), Point(25.0, 25, 100), Point(30.0, 30, 100)]
    # Baseline pooled 75/300 = 25%. 10/100 against it: pooled p = 85/400 = 0.2125,
    # se = sqrt(0.2125 * 0.7875 * (1/100 + 1/300)) = 0.04724, z = -0.15 / 0.04724 = -3.175, p = 0.0015.
    verdict = direction_of(Point(10.0, 10, 100), history, "higher_is_better", scale=100)
    assert verdict.movement == "worsening"
    assert verdict.baseline == pytest.approx(25.0)
    assert verdict.p_value == pytest.approx(0.0015, abs=1e-4)
    assert direction_of(Point(10.0, 10, 100), history, "lower_is_better", 100).movement == "improving"
    # 23/100 against 25%: z = -0.45, nowhere near significant.
    assert direction_of(Point(23.0, 23, 100), history, "higher_is_better", 100).movement == "steady"


def test_only_the_last_three_published_periods_make_the_baseline() -> None:
    history = [Point(90.0, 90, 100), Point(None, None, None, "c"), Point(20.0, 20, 100), Point(25.0, 25, 100),
               Point(30.0, 30, 100)]
    assert direction_of(Point(25.0, 25, 100), history, "higher_is_better", 100).baseline == pytest.approx(25.0)


def test_a_measure_without_a_denominator_moves_beyond_five_percent() -> None:
    history = [Point(10.0), Point(10.0), Point(10.0)]
    assert direction_of(Point(10.4), history, "lower_is_better").movement == "steady"
    assert direction_of(Point(10.6), history, "lower_is_better").movement == "worsening"
    assert direction_of(Point(10.6), history, "neutral").movement == "no polarity"


def test_no_verdict_without_a_published_figure_or_enough_history() -> None:
    history = [Point(20.0, 20, 100), Point(25.0, 25, 100)]
    assert direction_of(Point(None, None, None, "c"), history, "higher_is_better").movement == "not known"
    assert direction_of(Point(10.0, 10, 100), history[:1], "higher_is_better").movement == "not known"


@pytest.mark.parametrize(("family", "service", "label"), [
    ("improving", "improving", "both improving"),
    ("worsening", "worsening", "both worsening"),
    ("worsening", "improving", "families worse while services improve"),
    ("improving", "worsening", "families better while services worsen"),
    ("steady", "improving", "only services moved"),
    ("worsening", "steady", "only families moved"),
    ("steady", "steady", "both steady"),
    ("not known", "improving", "not known"),
    ("improving", None, "no service measure"),
])
def test_agreement_labels(family: str, service: str | None, label: str) -> None:
    assert agreement(family, service) == label  # type: ignore[arg-type]


# --- family_vs_service from published values -------------------------------------------------------------


def _values(rows: list[tuple[str, str, int, float | None, float | None, str]]) -> pl.DataFrame:
    """indicator_values rows: (indicator, area, year, numerator, denominator, status)."""
    out = []
    scales = {"rereferral_rate_12m": 100.0, "cla_rate": 10_000.0}
    for indicator, area, year, num, den, status in rows:
        scale = scales.get(indicator, 100.0)
        out.append({"indicator_id": indicator, "area_code": area, "area_name": area,
                    "area_type": "authority" if area == "999" else "locality", "period_type": "reporting_year",
                    "period_start": date(year, 4, 1), "period_end": date(year + 1, 3, 31),
                    "period_label": f"{year}-{str(year + 1)[2:]}",
                    "value": num / den * scale if status == "ok" and num is not None and den else None,
                    "numerator": num if status == "ok" else None, "denominator": den if status == "ok" else None,
                    "status": status})
    return pl.DataFrame(out)


def test_family_vs_service_labels_families_worse_while_services_improve() -> None:
    rows = []
    for year, (fam, rerefs) in enumerate([(30, 230), (32, 240), (31, 235), (10, 160)], start=2020):
        rows.append(("family_safety_improved_pct", "LOC-S", year, fam, 100, "ok"))
        rows.append(("rereferral_rate_12m", "LOC-S", year, rerefs, 1000, "ok"))
        # Stability: families improving, no service measure figures for the area at all.
        rows.append(("family_stability_at_home_improved_pct", "LOC-S", year, 20 + 10 * (year - 2020), 100, "ok"))
    rows.append(("family_safety_improved_pct", "LOC-N", 2020, None, None, "c"))
    frame = family_vs_service(_values(rows), load_catalogue(), load_themes())
    latest = frame.filter(pl.col("period_start") == date(2023, 4, 1), pl.col("theme") == "safety",
                          pl.col("area_code") == "LOC-S")
    assert latest.height == 1  # second_cpp_percent has no figures here, so only re-referrals pair up
    row = latest.row(0, named=True)
    assert (row["family_direction"], row["service_direction"]) == ("worsening", "improving")
    assert row["agreement"] == "families worse while services improve" and row["divergent"]
    assert row["family_baseline"] == pytest.approx(31.0)
    stability = frame.filter(pl.col("theme") == "stability_at_home", pl.col("period_start") == date(2023, 4, 1))
    assert stability.get_column("agreement").to_list() == ["no service measure"]
    assert stability.get_column("family_direction").to_list() == ["improving"]
    suppressed = frame.filter(pl.col("area_code") == "LOC-N").row(0, named=True)
    assert suppressed["family_status"] == "c" and suppressed["family_value"] is None
    assert suppressed["family_direction"] == "not known"


# --- rater gaps ----------------------------------------------------------------------------------------


def test_gap_summary_by_hand() -> None:
    # Gaps 1, 2, 3: mean 2, sd 1, se 1/sqrt(3) = 0.57735, t(0.975, 2 df) = 4.3027: 2 +- 2.4841.
    summary = summarise_gap([1.0, 2.0, 3.0])
    assert summary["mean_gap"] == pytest.approx(2.0)
    assert summary["ci_low"] == pytest.approx(-0.4841, abs=1e-4)
    assert summary["ci_high"] == pytest.approx(4.4841, abs=1e-4)
    assert summary["rater_higher_pct"] == pytest.approx(100.0)


def test_a_gap_summary_does_not_depend_on_the_order_the_pairs_arrive_in() -> None:
    import random

    import numpy as np

    rng = random.Random(3)
    gaps = [rng.uniform(-4, 4) for _ in range(40)]
    orders = [random.Random(seed).sample(gaps, len(gaps)) for seed in range(20)]
    # summed as they come, these orders give means that differ in the last digit ...
    assert len({float(np.mean(order)) for order in orders}) > 1
    # ... the published summary does not
    assert len({tuple(summarise_gap(order).items()) for order in orders}) == 1


def test_rater_gaps_are_suppressed_for_five_families_or_fewer() -> None:
    pairs = pl.DataFrame({
        "family_key": [f"f{i}" for i in range(8)], "instrument": ["signs_of_safety"] * 8,
        "rater": ["parent"] * 8, "other_rater": ["worker"] * 8, "rater_pair": ["parent_vs_worker"] * 8,
        "locality": ["LOC-A"] * 6 + ["LOC-B"] * 2, "episode_type": ["child_protection"] * 8,
        "reading_date": [date(2024, 6, 1)] * 8, "rater_score": [6.0] * 8, "other_score": [4.0] * 8,
        "gap": [2.0, 1.0, 2.0, 3.0, 2.0, 2.0, -1.0, 0.0],
    })
    areas = pl.DataFrame({"area_code": ["999", "LOC-A", "LOC-B"], "area_name": ["LA", "A", "B"],
                          "area_type": ["authority", "locality", "locality"]})
    gaps = rater_gaps(pairs, areas, date(2025, 3, 31))
    by_area = {row["area_code"]: row for row in gaps.iter_rows(named=True)}
    assert by_area["999"]["families"] == 8 and by_area["999"]["mean_gap"] == pytest.approx(11 / 8)
    assert by_area["LOC-A"]["status"] == "ok" and by_area["LOC-A"]["mean_gap"] == pytest.approx(2.0)
    assert by_area["LOC-B"]["status"] == "c"
    assert by_area["LOC-B"]["mean_gap"] is None and by_area["LOC-B"]["families"] is None
    # A reporting year not yet complete is not published.
    assert rater_gaps(pairs, areas, date(2025, 2, 28)).is_empty()


def test_suppress_small_groups_keeps_other_rows() -> None:
    frame = pl.DataFrame({"n": [0, 1, 5, 6], "x": [1.0, 2.0, 3.0, 4.0]})
    out = suppress_small_groups(frame, "n", ["x"])
    assert out.get_column("status").to_list() == ["ok", "c", "c", "ok"]
    assert out.get_column("x").to_list() == [1.0, None, None, 4.0]
