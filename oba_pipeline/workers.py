"""Worker processes for the refresh's CPU-bound steps: how many (a setting per step) and an ordered pool.

Pools start their workers from a forkserver that has already imported the module of the function the
workers run (and so what it imports, such as statsmodels), so a worker starts in a fraction of a second
instead of importing it again. The forkserver is started once per process, so the first pool's module is
the one preloaded; a later pool's workers import their own module themselves. Fork itself is not used
because the parent runs polars', DuckDB's and Dagster's threads, which a forked child must not inherit.
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
    `function` must be a module-level function, and jobs and results picklable."""
    if workers <= 1:
        yield from map(function, jobs)
        return
    # Analytics would be switched on in the server before Great Expectations' own callers could say otherwise.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([function.__module__])
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
