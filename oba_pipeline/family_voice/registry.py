"""The instrument registry and the theme map, loaded from their YAML files and checked strictly.

`instruments.yaml` says how each family-reported tool is scored; `themes.yaml` says which
family-reported areas and which service measures speak to each outcome theme. A typo in either is an
error naming the file, the entry and the key, raised when the pipeline starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml

from oba_pipeline.config import CATALOGUE_DIR

Direction = Literal["higher_is_better", "lower_is_better"]
ROLES = ("parent", "child", "carer", "worker", "teacher")
# Who speaks for the family; worker and teacher ratings are professionals' views of it.
FAMILY_ROLES = ("parent", "child", "carer")
HEADLINE_METHODS = ("mean", "item", "none")


class RegistryError(ValueError):
    """The instrument registry or theme map is malformed; the message names the entry and key."""


@dataclass(frozen=True)
class Band:
    band: str
    label: str
    min: float
    max: float
    high: bool = False


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    theme: str | None


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    respondents: tuple[str, ...]
    scale_min: float
    scale_max: float
    items: tuple[Item, ...]
    headline_method: str
    headline_item: str | None
    direction: Direction
    reliable_change: float
    item_reliable_change: float
    review_due_days: int
    review_allowed_days: int
    kind: Literal["score", "choice"] = "score"
    conversion: tuple[tuple[int, float], ...] = ()
    bands: tuple[tuple[str, tuple[Band, ...]], ...] = ()

    def item(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"{self.code} has no item {code!r}; its items are {[i.code for i in self.items]}")

    def bands_for(self, role: str) -> tuple[Band, ...]:
        return dict(self.bands).get(role, ())


@dataclass(frozen=True)
class Theme:
    code: str
    name: str
    description: str
    family_areas: tuple[tuple[str, str], ...]
    family_measure: str
    what_matters_measure: str
    service_measures: tuple[str, ...]
    data_development: tuple[str, ...]
    display_order: int


_INSTRUMENT_KEYS = {"name", "respondents", "scale", "items", "headline", "direction", "reliable_change",
                    "item_reliable_change", "review", "kind", "conversion", "bands"}
_THEME_KEYS = {"name", "description", "family_areas", "family_measure", "what_matters_measure",
               "service_measures", "data_development"}


def load_instruments(path: Path | None = None) -> dict[str, Instrument]:
    """Every instrument in the registry, by code. Raises RegistryError naming the entry and key."""
    return _load_instruments(path or CATALOGUE_DIR / "instruments.yaml")


def load_themes(path: Path | None = None, instruments_path: Path | None = None) -> dict[str, Theme]:
    """Every theme, by code, checked against the instrument registry's own item-to-theme mapping."""
    return _load_themes(path or CATALOGUE_DIR / "themes.yaml", instruments_path or CATALOGUE_DIR / "instruments.yaml")


@cache
def _load_instruments(path: Path) -> dict[str, Instrument]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("instruments")
    if not isinstance(entries, dict) or not entries:
        raise RegistryError(f"{path.name}: expected a mapping 'instruments' of instrument code to its description")
    return {code: _instrument(code, spec, path) for code, spec in entries.items()}


def _instrument(code: str, spec: Any, path: Path) -> Instrument:
    where = f"{path.name}, instrument {code}"

    def fail(message: str) -> RegistryError:
        return RegistryError(f"{where}: {message}")

    if not isinstance(spec, dict):
        raise fail("expected a mapping")
    unknown = set(spec) - _INSTRUMENT_KEYS
    if unknown:
        raise fail(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_INSTRUMENT_KEYS)}")
    for key in ("name", "respondents", "scale", "items", "headline", "direction", "reliable_change",
                "item_reliable_change", "review"):
        if key not in spec:
            raise fail(f"missing required key {key!r}")
    roles = tuple(spec["respondents"])
    for role in roles:
        if role not in ROLES:
            raise fail(f"respondent {role!r} is not one of {', '.join(ROLES)}")
    if spec["direction"] not in ("higher_is_better", "lower_is_better"):
        raise fail(f"direction is {spec['direction']!r}; allowed: higher_is_better, lower_is_better")
    scale_min, scale_max = float(spec["scale"]["min"]), float(spec["scale"]["max"])
    if scale_min > scale_max:
        raise fail(f"scale min {scale_min:g} is above max {scale_max:g}")
    if not isinstance(spec["items"], dict) or not spec["items"]:
        raise fail("items must map each item code to {theme, label}")
    items = tuple(Item(code=item, label=str(body.get("label", item)), theme=body.get("theme"))
                  for item, body in spec["items"].items())
    headline = spec["headline"]
    method = headline.get("method")
    if method not in HEADLINE_METHODS:
        raise fail(f"headline.method is {method!r}; allowed: {', '.join(HEADLINE_METHODS)}")
    if method == "item" and headline.get("item") not in spec["items"]:
        raise fail(f"headline.item {headline.get('item')!r} is not one of its items")
    conversion = tuple(sorted((int(k), float(v)) for k, v in (spec.get("conversion") or {}).items()))
    if conversion:
        raws = [k for k, _ in conversion]
        if raws != list(range(int(scale_min), int(scale_max) + 1)):
            raise fail(f"conversion must give every whole raw score from {scale_min:g} to {scale_max:g}")
        metric = [v for _, v in conversion]
        if metric != sorted(metric):
            raise fail("conversion must not decrease as the raw score rises")
    bands = []
    for role, rows in (spec.get("bands") or {}).items():
        if role not in roles:
            raise fail(f"bands given for {role!r}, who is not among its respondents")
        parsed = tuple(Band(band=r["band"], label=r["label"], min=float(r["min"]), max=float(r["max"]),
                            high=bool(r.get("high", False))) for r in rows)
        for before, after in zip(parsed, parsed[1:], strict=False):
            if after.min != before.max + 1:
                raise fail(f"bands for {role}: {after.band} should start at {before.max + 1:g}, one above "
                           f"{before.band}'s top, but starts at {after.min:g}")
        if parsed and (parsed[0].min != scale_min or parsed[-1].max != scale_max):
            raise fail(f"bands for {role} must cover the whole scale {scale_min:g} to {scale_max:g}")
        bands.append((role, parsed))
    review = spec["review"]
    if int(review["allowed_days"]) < int(review["due_days"]):
        raise fail("review.allowed_days must be at least review.due_days")
    kind = spec.get("kind", "score")
    if kind not in ("score", "choice"):
        raise fail(f"kind is {kind!r}; allowed: score, choice")
    return Instrument(
        code=code, name=str(spec["name"]), respondents=roles, scale_min=scale_min, scale_max=scale_max,
        items=items, headline_method=method, headline_item=headline.get("item"), direction=spec["direction"],
        reliable_change=float(spec["reliable_change"]), item_reliable_change=float(spec["item_reliable_change"]),
        review_due_days=int(review["due_days"]), review_allowed_days=int(review["allowed_days"]), kind=kind,
        conversion=conversion, bands=tuple(bands),
    )


@cache
def _load_themes(path: Path, instruments_path: Path) -> dict[str, Theme]:
    instruments = _load_instruments(instruments_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("themes")
    if not isinstance(entries, dict) or not entries:
        raise RegistryError(f"{path.name}: expected a mapping 'themes' of theme code to its description")
    themes = {}
    for order, (code, spec) in enumerate(entries.items(), start=1):
        where = f"{path.name}, theme {code}"
        unknown = set(spec) - _THEME_KEYS
        if unknown:
            raise RegistryError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_THEME_KEYS)}")
        areas = []
        for area in spec.get("family_areas", []):
            instrument, _, item = str(area).partition(".")
            if instrument not in instruments:
                raise RegistryError(f"{where}: family area {area!r} names no instrument in the registry")
            try:
                declared = instruments[instrument].item(item).theme
            except KeyError as exc:
                raise RegistryError(f"{where}: family area {area!r}: {exc.args[0]}") from None
            if declared != code:
                raise RegistryError(f"{where}: family area {area!r} is mapped to theme {declared!r} in the "
                                    "instrument registry; make the two files agree")
            areas.append((instrument, item))
        mapped = {(i.code, it.code) for i in instruments.values() if i.kind == "score"
                  for it in i.items if it.theme == code}
        missing = mapped - set(areas)
        if missing:
            raise RegistryError(f"{where}: the instrument registry maps {sorted(f'{a}.{b}' for a, b in missing)} "
                                "to this theme; list them under family_areas")
        for key in ("name", "family_measure", "what_matters_measure"):
            if not spec.get(key):
                raise RegistryError(f"{where}: missing required key {key!r}")
        themes[code] = Theme(
            code=code, name=str(spec["name"]), description=str(spec.get("description", "")),
            family_areas=tuple(areas), family_measure=spec["family_measure"],
            what_matters_measure=spec["what_matters_measure"],
            service_measures=tuple(spec.get("service_measures") or ()),
            data_development=tuple(spec.get("data_development") or ()), display_order=order,
        )
    unthemed = {it.theme for i in instruments.values() for it in i.items if it.theme} - set(themes)
    if unthemed:
        raise RegistryError(f"{path.name}: the instrument registry uses theme(s) {sorted(unthemed)} not defined here")
    return themes


# --- the registry as reference tables the marts join to ----------------------------------------------

def instruments_frame(instruments: dict[str, Instrument]) -> pl.DataFrame:
    """One row per instrument: headline scoring, direction, reliable change and review timing."""
    rows = [{
        "instrument": i.code, "name": i.name, "kind": i.kind, "headline_method": i.headline_method,
        "headline_item": i.headline_item, "items": [it.code for it in i.items], "direction": i.direction,
        "reliable_change": i.reliable_change, "item_reliable_change": i.item_reliable_change,
        "scale_min": i.scale_min, "scale_max": i.scale_max, "review_due_days": i.review_due_days,
        "review_allowed_days": i.review_allowed_days,
    } for i in instruments.values()]
    return pl.DataFrame(rows, schema={
        "instrument": pl.Utf8, "name": pl.Utf8, "kind": pl.Utf8, "headline_method": pl.Utf8,
        "headline_item": pl.Utf8, "items": pl.List(pl.Utf8), "direction": pl.Utf8, "reliable_change": pl.Float64,
        "item_reliable_change": pl.Float64, "scale_min": pl.Float64, "scale_max": pl.Float64,
        "review_due_days": pl.Int64, "review_allowed_days": pl.Int64})


def items_frame(instruments: dict[str, Instrument]) -> pl.DataFrame:
    """One row per instrument item: its label and the theme it speaks to (empty when none)."""
    rows = [{"instrument": i.code, "item": it.code, "label": it.label, "theme": it.theme}
            for i in instruments.values() for it in i.items]
    return pl.DataFrame(rows, schema={"instrument": pl.Utf8, "item": pl.Utf8, "label": pl.Utf8, "theme": pl.Utf8})


def conversions_frame(instruments: dict[str, Instrument]) -> pl.DataFrame:
    """Raw-to-metric conversion tables (SWEMWBS), one row per raw score."""
    rows = [{"instrument": i.code, "raw_score": float(raw), "converted_score": value}
            for i in instruments.values() for raw, value in i.conversion]
    return pl.DataFrame(rows, schema={"instrument": pl.Utf8, "raw_score": pl.Float64, "converted_score": pl.Float64})


def bands_frame(instruments: dict[str, Instrument]) -> pl.DataFrame:
    """Score bands per instrument and respondent role, with the high-difficulty band marked."""
    rows = [{"instrument": i.code, "respondent_role": role, "band": b.band, "label": b.label,
             "band_min": b.min, "band_max": b.max, "is_high": b.high}
            for i in instruments.values() for role, bands in i.bands for b in bands]
    return pl.DataFrame(rows, schema={"instrument": pl.Utf8, "respondent_role": pl.Utf8, "band": pl.Utf8,
                                      "label": pl.Utf8, "band_min": pl.Float64, "band_max": pl.Float64,
                                      "is_high": pl.Boolean})


def themes_frame(themes: dict[str, Theme]) -> pl.DataFrame:
    """One row per theme: its name, the family measures and the service measures claiming to serve it."""
    rows = [{"theme": t.code, "theme_name": t.name, "description": t.description,
             "family_measure": t.family_measure, "what_matters_measure": t.what_matters_measure,
             "service_measures": list(t.service_measures), "data_development": list(t.data_development),
             "family_areas": [f"{a}.{b}" for a, b in t.family_areas], "display_order": t.display_order}
            for t in themes.values()]
    return pl.DataFrame(rows, schema={
        "theme": pl.Utf8, "theme_name": pl.Utf8, "description": pl.Utf8, "family_measure": pl.Utf8,
        "what_matters_measure": pl.Utf8, "service_measures": pl.List(pl.Utf8),
        "data_development": pl.List(pl.Utf8), "family_areas": pl.List(pl.Utf8), "display_order": pl.Int64})


def published_themes(themes: dict[str, Theme]) -> pl.DataFrame:
    """The theme map as a flat published table (lists joined with '; ', so it exports to CSV)."""
    return themes_frame(themes).with_columns(
        pl.col("service_measures").list.join("; "),
        pl.col("data_development").list.join("; "),
        pl.col("family_areas").list.join("; "),
    )
