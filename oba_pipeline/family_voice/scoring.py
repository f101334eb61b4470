"""Scoring one reading and one change, as the instrument registry declares.

These plain functions state the rules the family marts apply in SQL (assets/sql/mart_family_*.sql);
the tests hold both to the same hand-worked examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from oba_pipeline.family_voice.registry import Band, Instrument

Change = Literal["reliable improvement", "reliable deterioration", "no reliable change"]


class ScoringError(ValueError):
    """A score the instrument cannot take (off its scale, or an item it does not have)."""


def convert(instrument: Instrument, raw: float) -> float:
    """The metric score for a raw total through the instrument's conversion table (SWEMWBS)."""
    if not instrument.conversion:
        return raw
    table = dict(instrument.conversion)
    if raw != int(raw) or int(raw) not in table:
        raise ScoringError(f"{instrument.name}: raw score {raw:g} is not a whole number from "
                           f"{instrument.scale_min:g} to {instrument.scale_max:g}")
    return table[int(raw)]


def headline_score(instrument: Instrument, scores: Mapping[str, float]) -> float | None:
    """One reading's headline: the mean of its scored items, or the named item (converted if the
    registry says so). None for tools that name choices rather than score (what matters most)."""
    for item, score in scores.items():
        instrument.item(item)  # raises for an item the instrument does not have
        if not instrument.scale_min <= score <= instrument.scale_max:
            raise ScoringError(f"{instrument.name}: {item} score {score:g} is outside "
                               f"{instrument.scale_min:g} to {instrument.scale_max:g}")
    if instrument.headline_method == "none":
        return None
    if instrument.headline_method == "item":
        named = instrument.headline_item
        if named is None or named not in scores:
            return None
        return convert(instrument, scores[named])
    scored = [scores[item.code] for item in instrument.items if item.code in scores]
    return sum(scored) / len(scored) if scored else None


def improvement(instrument: Instrument, first: float, latest: float) -> float:
    """How far a score moved in the good direction (negative: it got worse)."""
    sign = -1.0 if instrument.direction == "lower_is_better" else 1.0
    return (latest - first) * sign


def reliable_change(instrument: Instrument, first: float, latest: float, level: str = "headline") -> Change:
    """Whether a move from the first to the latest score is beyond the instrument's reliable-change
    threshold, for the headline score or for one item (or a theme's mean of items).

    A move of exactly the threshold counts as reliable. A missing follow-up has no latest score and
    never reaches this function: it is not "no reliable change".
    """
    threshold = instrument.reliable_change if level == "headline" else instrument.item_reliable_change
    moved = improvement(instrument, first, latest)
    # Scores are whole points or means of them: compare with a small allowance for float sums.
    if moved >= threshold - 1e-9:
        return "reliable improvement"
    if moved <= -threshold + 1e-9:
        return "reliable deterioration"
    return "no reliable change"


def band(instrument: Instrument, score: float, role: str) -> Band | None:
    """The band a headline score falls in for this respondent role (None if the tool has no bands for
    that role). Bands are whole-point ranges inclusive at both ends."""
    bands = instrument.bands_for(role)
    if not bands:
        return None
    if not instrument.scale_min <= score <= instrument.scale_max:
        raise ScoringError(f"{instrument.name}: score {score:g} is outside "
                           f"{instrument.scale_min:g} to {instrument.scale_max:g}")
    for candidate in bands:
        if candidate.min <= score <= candidate.max:
            return candidate
    # A fractional score between two whole-point bands (e.g. a prorated total of 13.5) goes up.
    return next(b for b in bands if score < b.min)


def left_high_band(instrument: Instrument, first: float, latest: float, role: str) -> bool | None:
    """True if the first score was in the high-difficulty band and the latest is not; None when the
    first score was not high (the family was not in the group that could leave it)."""
    start = band(instrument, first, role)
    if start is None or not start.high:
        return None
    end = band(instrument, latest, role)
    return end is not None and not end.high
