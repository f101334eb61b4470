"""A little of the mess real extracts have, planted on purpose and recorded.

At a low rate (a few rows in ten thousand per kind) some rows are spoiled the way exports from case
management, HR and finance systems get spoiled: a row exported twice, a date that cannot exist, a
code typed by hand, a value keyed with an extra digit, dates in the wrong order. Every spoiled row
is returned with its kind, column and value, so the ground truth can list exactly which rows a
validator should reject. Required columns are never removed and no column is ever emptied where the
contract requires a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

POS = "_pos"


class Row:
    """Read access to one row of a column dict, for eligibility rules that look at other columns."""

    def __init__(self, columns: dict[str, list[str | None]], index: int) -> None:
        self.columns = columns
        self.index = index

    def __getitem__(self, column: str) -> str | None:
        return self.columns[column][self.index]


@dataclass(frozen=True)
class Spoil:
    kind: str
    column: str
    eligible: Callable[[str | None, Row], bool]  # (value, whole row) -> can this row be spoiled
    change: Callable[[str], str]  # value -> spoiled value (unused for duplicates)
    note: str


def _month(value: str | None) -> str:
    return value[5:7] if value and len(value) >= 10 else ""


def _impossible_day(value: str) -> str:
    """The same month with a day it does not have (30 February, 31 June, ...)."""
    return value[:8] + ("30" if value[5:7] == "02" else "31")


def _not_leap(value: str | None) -> bool:
    if not value:
        return False
    year = int(value[:4])
    return not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))


SHORT_MONTHS = {"02", "04", "06", "09", "11"}

SPOILS: dict[str, list[Spoil]] = {
    "referrals": [
        Spoil("duplicate_row", "(all columns)", lambda v, r: True, str, "the whole row exported twice"),
        Spoil(
            "impossible_date",
            "referral_date",
            lambda v, r: _month(v) in SHORT_MONTHS,
            _impossible_day,
            "a day the month does not have",
        ),
        Spoil("code_typo", "primary_need_code", lambda v, r: v == "N1", lambda v: "N10", "N1 keyed as N10"),
        Spoil("code_typo", "closure_reason", lambda v, r: bool(v), str.lower, "reason code in lower case"),
        Spoil(
            "date_order",
            "assessment_authorised_date",
            lambda v, r: (
                bool(v) and bool(r["assessment_start_date"]) and str(r["assessment_start_date"]) < str(v)
            ),
            str,
            "assessment authorised before it started (start and authorisation dates swapped)",
        ),
    ],
    "caseloads": [
        Spoil("duplicate_row", "(all columns)", lambda v, r: True, str, "the whole row exported twice"),
        Spoil(
            "code_typo",
            "role",
            lambda v, r: v == "social_worker",
            lambda v: "Social Worker",
            "role typed as a label instead of the code",
        ),
        Spoil("out_of_range", "fte", lambda v, r: v == "1.0", lambda v: "10", "1.0 keyed as 10"),
        Spoil(
            "impossible_date",
            "snapshot_date",
            lambda v, r: _month(v) in SHORT_MONTHS,
            _impossible_day,
            "a month end the month does not have",
        ),
    ],
    "spend": [
        Spoil("duplicate_row", "(all columns)", lambda v, r: True, str, "the whole row exported twice"),
        Spoil(
            "malformed_code",
            "s251_line",
            lambda v, r: str(v or "").count(".") == 2,
            lambda v: v.rsplit(".", 1)[0],
            "Section 251 line cut short",
        ),
        Spoil(
            "impossible_date",
            "period_month",
            lambda v, r: _month(v) == "02" and _not_leap(v),
            lambda v: v[:8] + "29",
            "29 February in a year that is not a leap year",
        ),
    ],
    "family_outcomes": [
        Spoil("duplicate_row", "(all columns)", lambda v, r: True, str, "the whole row exported twice"),
        Spoil(
            "code_typo",
            "instrument",
            lambda v, r: v == "family_star_plus",
            lambda v: "Family Star Plus",
            "instrument typed as its name",
        ),
        Spoil(
            "out_of_range",
            "score",
            lambda v, r: v in {"7", "8", "9"},
            lambda v: v * 2,
            "score keyed with extra digits",
        ),
        Spoil(
            "impossible_date",
            "reading_date",
            lambda v, r: _month(v) in SHORT_MONTHS,
            _impossible_day,
            "a day the month does not have",
        ),
    ],
}


def spoil(
    frame: pl.DataFrame, source: str, rate: float, rng: np.random.Generator
) -> tuple[pl.DataFrame, list[dict]]:
    """Spoil a few rows of one extract (all columns strings). Returns the spoiled frame (duplicates
    placed right after their original) and one record per bad row with its 0-based position."""
    if rate <= 0:  # clean extracts, e.g. to compare two implementations of the same figures
        return frame, []
    n = frame.height
    columns = {c: frame[c].to_list() for c in frame.columns}
    used: set[int] = set()
    duplicates: list[int] = []
    records: list[dict] = []
    for spec in SPOILS.get(source, []):
        k = max(1, int(round(rate * n)))
        values = columns[frame.columns[0]] if spec.kind == "duplicate_row" else columns[spec.column]
        candidates = [i for i in range(n) if i not in used and spec.eligible(values[i], Row(columns, i))]
        if not candidates:
            continue
        picked = sorted(rng.choice(candidates, size=min(k, len(candidates)), replace=False).tolist())
        for i in picked:
            used.add(i)
            if spec.kind == "duplicate_row":
                duplicates.append(i)
                continue
            before = values[i]
            if spec.kind == "date_order":
                start = columns["assessment_start_date"][i]
                columns["assessment_start_date"][i], columns[spec.column][i] = before, start
                after = start
            else:
                after = spec.change(before)
                columns[spec.column][i] = after
            records.append(
                {
                    "index": i,
                    "kind": spec.kind,
                    "column": spec.column,
                    "value": after,
                    "was": before,
                    "note": spec.note,
                }
            )

    out = pl.DataFrame(columns, schema=frame.schema).with_columns(
        pl.Series(POS, np.arange(n, dtype=np.float64))
    )
    if duplicates:
        copies = out[duplicates].with_columns(pl.col(POS) + 0.5)
        out = pl.concat([out, copies]).sort(POS)
    positions = out[POS].to_list()
    where = {p: i for i, p in enumerate(positions)}
    for rec in records:
        rec["index"] = where[float(rec["index"])]
    for i in duplicates:
        records.append(
            {
                "index": where[i + 0.5],
                "kind": "duplicate_row",
                "column": "(all columns)",
                "value": None,
                "duplicate_of_index": where[float(i)],
                "note": "the whole row exported twice",
            }
        )
    records.sort(key=lambda r: r["index"])
    return out.drop(POS), records
