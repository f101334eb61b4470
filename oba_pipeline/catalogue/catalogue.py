"""The indicator catalogue: one declarative description of every indicator and performance measure.

Loaded from `indicators.yaml` beside this module and checked strictly, so a typo in the catalogue is
an error at start-up that names the entry and the key, not a wrong number on a dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml

from oba_pipeline.config import CATALOGUE_DIR

Kind = Literal["population_indicator", "performance_measure"]
Quadrant = Literal["how_much", "how_well", "better_off"]
Polarity = Literal["higher_is_better", "lower_is_better", "neutral"]
Unit = Literal["rate_per_10000", "percent", "count", "gbp", "ratio"]
PeriodType = Literal["month", "reporting_year"]

KINDS = ("population_indicator", "performance_measure")
QUADRANTS = {"how_much": "How much did we do?", "how_well": "How well did we do it?",
             "better_off": "Is anyone better off?"}
POLARITIES = ("higher_is_better", "lower_is_better", "neutral")
UNIT_LABELS = {"rate_per_10000": "per 10,000 children aged 0-17", "percent": "%", "count": "number",
               "gbp": "£", "ratio": "ratio"}
PERIOD_TYPES = ("month", "reporting_year")
AREA_LEVELS = ("authority", "locality")
AGGREGATES = ("count", "count_distinct", "sum")
SOURCES = ("referrals", "caseloads", "spend", "family_outcomes")


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the entry and the key."""


@dataclass(frozen=True)
class Aggregate:
    aggregate: str
    column: str | None = None
    where: str | None = None
    population: str | None = None


@dataclass(frozen=True)
class Calculation:
    table: str
    timing: Literal["event", "stock"]
    numerator: Aggregate
    denominator: Aggregate | None
    scale: float
    date: str | None = None
    start: str | None = None
    end: str | None = None
    lookback_months: int = 0


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    kind: Kind
    definition: str
    polarity: Polarity
    unit: Unit
    decimals: int
    periods: tuple[PeriodType, ...]
    numerator: str
    source: str
    calculation: Calculation
    display_order: int
    denominator: str | None = None
    quadrant: Quadrant | None = None
    result: str | None = None
    service: str | None = None
    disaggregations: tuple[str, ...] = ()
    people: bool = True
    area_levels: tuple[str, ...] = AREA_LEVELS
    # The published national statistic this is the local equivalent of (published_measures.yaml).
    published_measure: str | None = None

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS[self.unit]


@dataclass(frozen=True)
class Catalogue:
    results: dict[str, str]
    services: dict[str, str]
    indicators: tuple[Indicator, ...] = field(default_factory=tuple)

    def get(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(f"no indicator {indicator_id!r} in the catalogue")

    def to_frame(self) -> pl.DataFrame:
        """The catalogue as the published `indicators` table."""
        rows = [{
            "indicator_id": i.id, "name": i.name, "definition": i.definition, "oba_kind": i.kind,
            "quadrant": i.quadrant, "result": self.results.get(i.result or ""),
            "service": self.services.get(i.service or ""), "polarity": i.polarity, "unit": i.unit,
            "unit_label": i.unit_label, "decimals": i.decimals, "periods": ", ".join(i.periods),
            "numerator": i.numerator, "denominator": i.denominator, "source": i.source,
            "disaggregations": ", ".join(i.disaggregations), "display_order": i.display_order,
        } for i in self.indicators]
        return pl.DataFrame(rows, schema={
            "indicator_id": pl.Utf8, "name": pl.Utf8, "definition": pl.Utf8, "oba_kind": pl.Utf8,
            "quadrant": pl.Utf8, "result": pl.Utf8, "service": pl.Utf8, "polarity": pl.Utf8,
            "unit": pl.Utf8, "unit_label": pl.Utf8, "decimals": pl.Int64, "periods": pl.Utf8,
            "numerator": pl.Utf8, "denominator": pl.Utf8, "source": pl.Utf8,
            "disaggregations": pl.Utf8, "display_order": pl.Int64})


_ENTRY_KEYS = {"id", "name", "kind", "definition", "polarity", "unit", "decimals", "periods", "numerator",
               "denominator", "source", "calculation", "quadrant", "result", "service", "disaggregations",
               "people", "area_levels", "published_measure"}
_CALC_KEYS = {"table", "timing", "numerator", "denominator", "scale", "date", "start", "end",
              "lookback_months"}
_AGG_KEYS = {"aggregate", "column", "where", "population"}


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and check the catalogue. Raises CatalogueError naming the entry and key at fault."""
    path = path or CATALOGUE_DIR / "indicators.yaml"
    return _load(path)


@cache
def _load(path: Path) -> Catalogue:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    results, services = raw.get("results", {}), raw.get("services", {})
    seen: set[str] = set()
    indicators = []
    for order, entry in enumerate(raw.get("indicators", []), start=1):
        indicator = _parse_entry(entry, order, results, services, path)
        if indicator.id in seen:
            raise CatalogueError(f"{path.name}: indicator id {indicator.id!r} appears twice")
        seen.add(indicator.id)
        indicators.append(indicator)
    return Catalogue(results=results, services=services, indicators=tuple(indicators))


def _parse_entry(entry: dict[str, Any], order: int, results: dict[str, str], services: dict[str, str],
                 path: Path) -> Indicator:
    where = f"{path.name}, entry {entry.get('id', f'#{order}')}"

    def fail(message: str) -> CatalogueError:
        return CatalogueError(f"{where}: {message}")

    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_ENTRY_KEYS)}")
    for key in ("id", "name", "kind", "definition", "polarity", "unit", "decimals", "periods", "numerator",
                "source", "calculation"):
        if key not in entry:
            raise fail(f"missing required key {key!r}")
    _one_of(entry["kind"], KINDS, "kind", fail)
    _one_of(entry["polarity"], POLARITIES, "polarity", fail)
    _one_of(entry["unit"], tuple(UNIT_LABELS), "unit", fail)
    _one_of(entry["source"], SOURCES, "source", fail)
    for period in entry["periods"]:
        _one_of(period, PERIOD_TYPES, "periods", fail)
    for level in entry.get("area_levels", AREA_LEVELS):
        _one_of(level, AREA_LEVELS, "area_levels", fail)
    if entry["kind"] == "performance_measure":
        _one_of(entry.get("quadrant"), tuple(QUADRANTS), "quadrant", fail)
        if entry.get("service") not in services:
            raise fail(f"service {entry.get('service')!r} is not one of {sorted(services)}")
    else:
        if entry.get("quadrant") is not None:
            raise fail("population indicators have no quadrant (quadrants are for performance measures)")
        if entry.get("result") not in results:
            raise fail(f"result {entry.get('result')!r} is not one of {sorted(results)}")
    calculation = _parse_calculation(entry["calculation"], fail)
    if calculation.denominator is not None and not entry.get("denominator"):
        raise fail("the calculation has a denominator, so the entry needs a plain-English 'denominator'")
    return Indicator(
        id=entry["id"], name=entry["name"], kind=entry["kind"], definition=" ".join(entry["definition"].split()),
        polarity=entry["polarity"], unit=entry["unit"], decimals=int(entry["decimals"]),
        periods=tuple(entry["periods"]), numerator=entry["numerator"], denominator=entry.get("denominator"),
        source=entry["source"], calculation=calculation, display_order=order, quadrant=entry.get("quadrant"),
        result=entry.get("result"), service=entry.get("service"),
        disaggregations=tuple(entry.get("disaggregations", ())), people=bool(entry.get("people", True)),
        area_levels=tuple(entry.get("area_levels", AREA_LEVELS)),
        published_measure=entry.get("published_measure"),
    )


def _parse_calculation(raw: dict[str, Any], fail: Any) -> Calculation:
    unknown = set(raw) - _CALC_KEYS
    if unknown:
        raise fail(f"calculation has unknown key(s) {sorted(unknown)}")
    timing = raw.get("timing")
    _one_of(timing, ("event", "stock"), "calculation.timing", fail)
    if timing == "event" and not raw.get("date"):
        raise fail("an event calculation needs 'date'")
    if timing == "stock" and not (raw.get("start") and raw.get("end")):
        raise fail("a stock calculation needs 'start' and 'end'")
    numerator = _parse_aggregate(raw.get("numerator"), "numerator", fail)
    denominator = _parse_aggregate(raw["denominator"], "denominator", fail) if "denominator" in raw else None
    kind: Literal["event", "stock"] = "event" if timing == "event" else "stock"  # one of the two, checked above
    return Calculation(table=raw["table"], timing=kind, numerator=numerator, denominator=denominator,
                       scale=float(raw.get("scale", 1)), date=raw.get("date"), start=raw.get("start"),
                       end=raw.get("end"), lookback_months=int(raw.get("lookback_months", 0)))


def _parse_aggregate(raw: Any, name: str, fail: Any) -> Aggregate:
    if not isinstance(raw, dict):
        raise fail(f"calculation.{name} must be a mapping")
    unknown = set(raw) - _AGG_KEYS
    if unknown:
        raise fail(f"calculation.{name} has unknown key(s) {sorted(unknown)}")
    if "population" in raw:
        if raw["population"] != "children_0_17":
            raise fail(f"calculation.{name}.population must be 'children_0_17'")
        return Aggregate(aggregate="population", population="children_0_17")
    _one_of(raw.get("aggregate"), AGGREGATES, f"calculation.{name}.aggregate", fail)
    if raw["aggregate"] in ("count_distinct", "sum") and not raw.get("column"):
        raise fail(f"calculation.{name}: aggregate {raw['aggregate']!r} needs a 'column'")
    return Aggregate(aggregate=raw["aggregate"], column=raw.get("column"), where=raw.get("where"))


def _one_of(value: Any, allowed: tuple[Any, ...], key: str, fail: Any) -> None:
    if value not in allowed:
        raise fail(f"{key} is {value!r}; allowed: {', '.join(map(str, allowed))}")
