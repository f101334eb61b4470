"""The indicator catalogue: complete enough for OBA, and strict about its own mistakes."""

from pathlib import Path

import pytest
import yaml

from oba_pipeline.catalogue import CatalogueError, load_catalogue
from oba_pipeline.catalogue.catalogue import QUADRANTS
from oba_pipeline.config import CATALOGUE_DIR


def test_catalogue_covers_what_a_partnership_needs() -> None:
    catalogue = load_catalogue()
    entries = catalogue.indicators
    assert len(entries) >= 15
    population = [i for i in entries if i.kind == "population_indicator"]
    assert len([i for i in population if i.unit == "rate_per_10000"]) >= 2
    assert all(i.quadrant is None and i.result for i in population)
    for quadrant in QUADRANTS:
        assert len([i for i in entries if i.quadrant == quadrant]) >= 2, quadrant
    assert {i.source for i in entries} == {"referrals", "caseloads", "spend", "family_outcomes"}
    frame = catalogue.to_frame()
    assert frame.height == len(entries)
    assert frame.get_column("definition").str.len_chars().min() > 20  # type: ignore[operator]


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load((CATALOGUE_DIR / "indicators.yaml").read_text())
    mutate(raw)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda raw: raw["indicators"][0].update(polarity="up"), r"entry referral_rate: polarity is 'up'"),
        (lambda raw: raw["indicators"][0].update(quadrant="how_much"), "population indicators have no quadrant"),
        (lambda raw: raw["indicators"][4].pop("quadrant"), "entry referrals_received: quadrant is None"),
        (lambda raw: raw["indicators"][0].update(colour="red"), r"unknown key\(s\) \['colour'\]"),
        (lambda raw: raw["indicators"][1].update(id="referral_rate"), "appears twice"),
        (lambda raw: raw["indicators"][0]["calculation"].update(timing="stock"), "needs 'start' and 'end'"),
    ],
)
def test_malformed_catalogue_names_the_entry_and_key(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CatalogueError, match=expected):
        load_catalogue(_write(tmp_path, mutate))


def test_readme_table_is_generated_from_the_catalogue() -> None:
    from oba_pipeline.catalogue.docs import render_readme
    from oba_pipeline.config import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert render_readme(readme, load_catalogue()) == readme, "run: python -m oba_pipeline.catalogue.docs"


def test_breakdown_codes_read_as_words_beside_the_code() -> None:
    from oba_pipeline.catalogue.codes import code_label

    assert code_label("referral_source", "2A") == "Schools (2A)"
    assert code_label("primary_need_code", "N1") == "Abuse or neglect (N1)"
    assert code_label("cpp_category", "NEG") == "Neglect (NEG)"
    assert code_label("s251_line", "3.4.1") == "3.4.1 Family support services"
    assert code_label("episode_type", "child_protection") == "Child protection"
    # Names, unknown codes and the small-groups row are shown as they are.
    for dimension, value in (("team", "North Assessment Team"), ("referral_source", "ZZ"),
                             ("age_band", "other groups (small numbers)"), ("s251_line", "9.9.9")):
        assert code_label(dimension, value) == value
