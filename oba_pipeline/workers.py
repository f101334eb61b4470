"""Worker processes for the refresh's CPU-bound steps: how many (a setting per step) and an ordered pool.

Every pool starts its workers from one forkserver that has already imported Great Expectations,
statsmodels and the modules whose functions the workers run, so a worker starts in a fraction of a
second instead of importing them again; fork itself is not used because the parent runs polars',
DuckDB's and Dagster's threads, which a forked child must not inherit.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")

# The forkserver is started once per process with these imports; the list is the same for every pool, since
# a forkserver already running ignores a later preload list.
PRELOAD = [
    "great_expectations",
    "oba_pipeline.contracts.validate",
    "oba_pipeline.turn_the_curve.build",
]


class WorkersSettingError(ValueError):
    """A workers setting is not a whole number of processes."""


def workers_setting_of(name: str, *, default: int | None = None) -> int | None:
    """How many processes the environment variable `name` asks for; `default` when it is unset (None: one
    per CPU)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]+", raw) or int(raw) < 1:
        unset = "one process per CPU" if default is None else f"{default} (the default)"
        raise WorkersSettingError(
            f"{name} must be a whole number of processes, 1 or more, not {raw!r}: set it to, say, 2 "
            f"(1 does all the work in the refresh's own process), or unset it for {unset}.")
    return int(raw)


def ordered_map(function: Callable[[Job], Result], jobs: Iterable[Job], workers: int) -> Iterator[Result]:
    """`function` applied to each job, results in the jobs' order: in this process when `workers` is 1 or
    less, else in a pool of that many worker processes. Jobs are taken from `jobs` only as workers free up
    (at most one waiting beyond those running), so a long stream of large jobs is never all in memory.
    `function` must be a module-level function of a module in PRELOAD, and jobs and results picklable."""
    if workers <= 1:
        yield from map(function, jobs)
        return
    # Analytics would be switched on in the server before Great Expectations' own callers could say otherwise.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pending: deque[Future[Result]] = deque()
    try:
        for job in jobs:
            pending.append(pool.submit(function, job))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # On an error (here or in the caller) the jobs not yet started are dropped rather than run for nothing.
        pool.shutdown(wait=True, cancel_futures=True)
