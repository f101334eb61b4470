"""Time the benchmark steps on a published folder (default: the real DfE files in sample_data/published).

    .venv/bin/python -m oba_pipeline.perf.published_files [FOLDER] [--repeat N]

Prints the best of N runs for reading the folder, computing the measures and the comparators.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from oba_pipeline.benchmarks import comparators
from oba_pipeline.benchmarks.load import load_published_folder
from oba_pipeline.benchmarks.measures import measure_values
from oba_pipeline.catalogue.published_measures import load_published_measures
from oba_pipeline.config import SAMPLE_DATA_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=SAMPLE_DATA_DIR / "published")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    measures = load_published_measures()
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        load = load_published_folder(args.folder, measures)
        loaded = time.perf_counter()
        values, _ = measure_values(load.observations, measures)
        computed = time.perf_counter()
        known = comparators.authorities(values, load.lookup)
        table = comparators.benchmarks(duckdb.connect(), values, measures.to_frame(), load.neighbours, known)
        done = time.perf_counter()
        for step, seconds in (("read folder", loaded - start), ("measures", computed - loaded),
                              ("comparators", done - computed), ("total", done - start)):
            best[step] = min(best.get(step, seconds), seconds)
    print(f"{args.folder}: {load.observations.height:,} published figures, {values.height:,} measure values, "
          f"{table.height:,} benchmark rows")
    for step, seconds in best.items():
        print(f"  {step:<12} {seconds * 1000:8.0f} ms (best of {args.repeat})")


if __name__ == "__main__":
    main()
