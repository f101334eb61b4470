"""The published measures: national statistics the partnership is benchmarked against, and their links.

Loaded from `published_measures.yaml` beside this module and checked as strictly as the indicator
catalogue: an unknown key, a local indicator linking to a published measure that does not exist, or a
polarity typed on a linked measure (its polarity comes from the local indicator) is an error naming
the entry and key. The link itself lives on the local side (`published_measure` in indicators.yaml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml

from oba_pipeline.catalogue.catalogue import POLARITIES, UNIT_LABELS, Catalogue, CatalogueError, load_catalogue
from oba_pipeline.config import CATALOGUE_DIR

# The datasets a recognised published file can hold (see oba_pipeline/benchmarks/formats.py).
DATASETS = ("referrals", "children_in_need", "second_plans", "plans_at_31_march", "looked_after",
            "workforce", "spend")
CalculationKind = Literal["published", "rate_per_10000", "spend_per_child", "spend_share"]
CALCULATION_KINDS: tuple[CalculationKind, ...] = ("published", "rate_per_10000", "spend_per_child",
                                                  "spend_share")

_ENTRY_KEYS = {"id", "name", "definition", "dataset", "polarity", "unit", "decimals", "category",
               "calculation", "people"}
_CHECK_KEYS = {"numerator", "denominator", "scale", "rate_per_10000"}


@dataclass(frozen=True)
class Check:
    """How a published figure is re-derived from its counts: a ratio of two columns, or a rate per child."""

    numerator: str
    denominator: str | None = None  # None: the ONS population of children (a rate per 10,000)
    scale: float = 1.0


@dataclass(frozen=True)
class SpendCategory:
    id: str
    names: tuple[str, ...]
    legacy_lines: tuple[int, ...]


@dataclass(frozen=True)
class PublishedMeasure:
    id: str
    name: str
    definition: str
    dataset: str
    polarity: str
    unit: str
    decimals: int
    kind: CalculationKind
    column: str | None = None  # published: the column; rate_per_10000: the count column
    check: Check | None = None
    categories: tuple[str, ...] = ()  # spend_per_child, and spend_share's numerator
    denominator_categories: tuple[str, ...] = ()  # spend_share
    category: str | None = None
    local_indicator: str | None = None
    display_order: int = 0
    people: bool = False  # a count of children: small derived counts pass disclosure control

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS[self.unit]


@dataclass(frozen=True)
class PublishedMeasures:
    measures: tuple[PublishedMeasure, ...]
    spend_categories: tuple[SpendCategory, ...]

    def get(self, measure_id: str) -> PublishedMeasure:
        for measure in self.measures:
            if measure.id == measure_id:
                return measure
        raise KeyError(f"no published measure {measure_id!r}")

    def category_for_name(self, name: str) -> str | None:
        """The spend category an EES category_of_expenditure belongs to, or None (not configured)."""
        key = normalise_name(name)
        for category in self.spend_categories:
            if key in {normalise_name(n) for n in category.names}:
                return category.id
        return None

    def category_for_legacy_line(self, line: int) -> str | None:
        for category in self.spend_categories:
            if line in category.legacy_lines:
                return category.id
        return None

    def to_frame(self) -> pl.DataFrame:
        """The measures as the published `benchmark_measures` table."""
        rows = [{
            "measure_id": m.id, "name": m.name, "definition": m.definition, "dataset": m.dataset,
            "polarity": m.polarity, "unit": m.unit, "unit_label": m.unit_label, "decimals": m.decimals,
            "calculation": m.kind, "local_indicator_id": m.local_indicator, "display_order": m.display_order,
        } for m in self.measures]
        return pl.DataFrame(rows, schema=MEASURES_SCHEMA)


MEASURES_SCHEMA: dict[str, Any] = {
    "measure_id": pl.Utf8, "name": pl.Utf8, "definition": pl.Utf8, "dataset": pl.Utf8, "polarity": pl.Utf8,
    "unit": pl.Utf8, "unit_label": pl.Utf8, "decimals": pl.Int64, "calculation": pl.Utf8,
    "local_indicator_id": pl.Utf8, "display_order": pl.Int64,
}


def normalise_name(text: str) -> str:
    """Lower case, letters and digits only, single spaces: 'Children’s  centres' == "children's centres"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower().replace("’", "").replace("'", "")).split())


def load_published_measures(path: Path | None = None, catalogue: Catalogue | None = None) -> PublishedMeasures:
    """Read and check the published measures against the indicator catalogue they link to."""
    if path is None and catalogue is None:
        return _load_default()
    return _parse(path or CATALOGUE_DIR / "published_measures.yaml", catalogue or load_catalogue())


@cache
def _load_default() -> PublishedMeasures:
    return _parse(CATALOGUE_DIR / "published_measures.yaml", load_catalogue())


def _parse(path: Path, catalogue: Catalogue) -> PublishedMeasures:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(raw) - {"spend_categories", "measures"}
    if unknown:
        raise CatalogueError(f"{path.name}: unknown top-level key(s) {sorted(unknown)}")
    categories = _parse_categories(raw.get("spend_categories") or {}, path)
    local = {indicator.published_measure: indicator for indicator in catalogue.indicators
             if indicator.published_measure}
    known = {entry.get("id") for entry in raw.get("measures") or []}
    for measure_id, indicator in local.items():
        if measure_id not in known:
            raise CatalogueError(f"indicators.yaml, entry {indicator.id}: published_measure {measure_id!r} is not "
                                 f"a measure in {path.name}")
    seen: set[str] = set()
    measures = []
    for order, entry in enumerate(raw.get("measures") or [], start=1):
        measure = _parse_measure(entry, order, local, {c.id for c in categories}, path)
        if measure.id in seen:
            raise CatalogueError(f"{path.name}: published measure id {measure.id!r} appears twice")
        seen.add(measure.id)
        measures.append(measure)
    return PublishedMeasures(measures=tuple(measures), spend_categories=categories)


def _parse_categories(raw: dict[str, Any], path: Path) -> tuple[SpendCategory, ...]:
    parsed = []
    for category_id, body in raw.items():
        if not isinstance(body, dict) or set(body) - {"names", "legacy_lines"}:
            raise CatalogueError(f"{path.name}, spend category {category_id}: give only 'names' and "
                                 "'legacy_lines'")
        lines = body.get("legacy_lines") or []
        if not all(isinstance(line, int) for line in lines):
            raise CatalogueError(f"{path.name}, spend category {category_id}: legacy_lines must be whole "
                                 f"numbers (LineNumber in the legacy files), not {lines!r}")
        parsed.append(SpendCategory(id=str(category_id), names=tuple(body.get("names") or ()),
                                    legacy_lines=tuple(lines)))
    return tuple(parsed)


def _parse_measure(entry: dict[str, Any], order: int, local: dict[str, Any], categories: set[str],
                   path: Path) -> PublishedMeasure:
    where = f"{path.name}, published measure {entry.get('id', f'#{order}')}"

    def fail(message: str) -> CatalogueError:
        return CatalogueError(f"{where}: {message}")

    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_ENTRY_KEYS)}")
    for key in ("id", "name", "definition", "dataset", "unit", "decimals", "calculation"):
        if key not in entry:
            raise fail(f"missing required key {key!r}")
    if entry["dataset"] not in DATASETS:
        raise fail(f"dataset is {entry['dataset']!r}; allowed: {', '.join(DATASETS)}")
    if entry["unit"] not in UNIT_LABELS:
        raise fail(f"unit is {entry['unit']!r}; allowed: {', '.join(UNIT_LABELS)}")
    linked = local.get(entry["id"])
    link = linked.id if linked is not None else None
    if linked is not None:
        if "polarity" in entry:
            raise fail(f"polarity comes from the linked local indicator {link!r}; remove 'polarity' here")
        polarity = linked.polarity
    else:
        polarity = entry.get("polarity")
        if polarity not in POLARITIES:
            raise fail(f"polarity is {polarity!r}; a measure no local indicator links to needs one of "
                       f"{', '.join(POLARITIES)}")
    calculation = entry["calculation"]
    if not isinstance(calculation, dict) or len(calculation) != (2 if "check" in calculation else 1):
        raise fail(f"calculation must be exactly one of {', '.join(CALCULATION_KINDS)} (plus 'check' "
                   "for published)")
    kind = next(k for k in calculation if k != "check")
    if kind not in CALCULATION_KINDS:
        raise fail(f"calculation is {kind!r}; allowed: {', '.join(CALCULATION_KINDS)}")
    if "check" in calculation and kind != "published":
        raise fail("only a published figure has a 'check'; derived figures are what the check computes")
    fields: dict[str, Any] = {}
    if kind in ("published", "rate_per_10000"):
        fields["column"] = str(calculation[kind]).lower()
        if "check" in calculation:
            fields["check"] = _parse_check(calculation["check"], fail)
    elif kind == "spend_per_child":
        fields["categories"] = _category_list(calculation[kind], categories, fail)
    else:
        body = calculation[kind]
        if not isinstance(body, dict) or set(body) != {"numerator", "denominator"}:
            raise fail("spend_share needs 'numerator' and 'denominator' lists of spend categories")
        fields["categories"] = _category_list(body["numerator"], categories, fail)
        fields["denominator_categories"] = _category_list(body["denominator"], categories, fail)
    if kind in ("spend_per_child", "spend_share") and entry["dataset"] != "spend":
        raise fail(f"{kind} reads Section 251 spend: its dataset must be 'spend'")
    return PublishedMeasure(
        id=entry["id"], name=entry["name"], definition=" ".join(str(entry["definition"]).split()),
        dataset=entry["dataset"], polarity=polarity, unit=entry["unit"], decimals=int(entry["decimals"]),
        kind=kind, category=entry.get("category"), local_indicator=link, display_order=order,
        people=bool(entry.get("people", False)), **fields,
    )


def _parse_check(raw: Any, fail: Any) -> Check:
    if not isinstance(raw, dict) or set(raw) - _CHECK_KEYS:
        raise fail(f"check must be a mapping with keys from {sorted(_CHECK_KEYS)}")
    if "rate_per_10000" in raw:
        if set(raw) != {"rate_per_10000"}:
            raise fail("a rate_per_10000 check takes only the count column")
        return Check(numerator=str(raw["rate_per_10000"]).lower(), denominator=None, scale=10000.0)
    if not raw.get("numerator") or not raw.get("denominator"):
        raise fail("check needs 'numerator' and 'denominator' columns (and 'scale')")
    return Check(numerator=str(raw["numerator"]).lower(), denominator=str(raw["denominator"]).lower(),
                 scale=float(raw.get("scale", 1)))


def _category_list(raw: Any, categories: set[str], fail: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise fail("spend categories must be a non-empty list")
    missing = [c for c in raw if c not in categories]
    if missing:
        raise fail(f"spend categor{'y' if len(missing) == 1 else 'ies'} {missing} not in spend_categories "
                   f"({', '.join(sorted(categories))})")
    return tuple(raw)
