"""Benchmark: disclosure control (primary and secondary suppression) on an indicator_values-sized table.

    .venv/bin/python -m oba_pipeline.perf.disclosure [--localities 6] [--years 10] [--repeat 3]

Builds every people-counting catalogue entry for an authority and its localities over N reporting years of
months plus the years themselves, with counts drawn so that about one cell in five is small, and times
apply_disclosure_control with the standard profile. Prints rows, suppressed cells and seconds.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

import polars as pl

from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.disclosure import apply_disclosure_control, load_profiles


def table(localities: int, years: int, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    catalogue = load_catalogue()
    rows = []
    for indicator in catalogue.indicators:
        for year in range(years):
            months = [date(2015 + year + (m + 3) // 12, (m + 3) % 12 + 1, 1) for m in range(12)]
            yearly = [0] * localities
            for start in months:
                counts = [rng.choice([0, 1, 2, 3, 4, 6, 9, 14, 25, 40]) for _ in range(localities)]
                yearly = [a + b for a, b in zip(yearly, counts, strict=True)]
                rows += _cells(indicator.id, "month", start, counts)
            rows += _cells(indicator.id, "reporting_year", months[0], yearly)
    return pl.DataFrame(rows)


def _cells(indicator_id: str, period_type: str, start: date, counts: list[int]) -> list[dict[str, object]]:
    cells = [("AUTH", "authority", sum(counts))] + [(f"L{i}", "locality", n) for i, n in enumerate(counts)]
    return [{"indicator_id": indicator_id, "area_code": code, "area_type": kind, "period_type": period_type,
             "period_start": start, "value": float(n), "numerator": float(n), "denominator": None,
             "status": "ok"} for code, kind, n in cells]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--localities", type=int, default=6)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    values = table(args.localities, args.years).with_columns(pl.col("denominator").cast(pl.Float64))
    catalogue, profile = load_catalogue(), load_profiles()["standard"]
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = apply_disclosure_control(values, catalogue, profile=profile)
        timings.append(time.perf_counter() - started)
    primary = apply_disclosure_control(values, catalogue, profile=profile.__class__(name="primary", secondary=False))
    print(f"rows {values.height:,}; suppressed: primary {primary.filter(status='c').height:,}, "
          f"with secondary {result.filter(status='c').height:,}; best of {args.repeat}: {min(timings):.2f} s")


if __name__ == "__main__":
    main()
