"""The scale benchmark: refresh time and memory from sample to national, the dashboard under load, and pandas.

    .venv/bin/python -m oba_pipeline.perf.bench [--scales sample,regional,national] [--work DIR]
        [--users 20] [--rounds 5] [--dashboard-scale SCALE] [--out oba_pipeline/perf/results/results]

For each scale it writes synthetic extracts (kept in --work and reused by the next run), copies the real
published DfE files of `sample_data/published/` beside them, and then, each step in its own process so
its peak memory is its own (its process tree's memory summed, sampled every 0.2 s):

1. the full refresh, on the extracts without their latest month, into an empty OBA home;
2. one new month: the refresh with the complete extracts on top of that warehouse;
3. the pandas yardstick (oba_pipeline/perf/pandas_baseline.py) on the complete extracts, end to end;
4. the pipeline's own computation of the same 16 indicators (the three marts they read, from the refresh's
   step timings, and the indicator engine on them), against the yardstick's computation alone.

On one scale (the largest run, or --dashboard-scale) it serves the dashboard on loopback, signs in 20
simulated users, and has each send the same bounded list of page and callback requests --rounds times,
giving the median and 95th percentile per request. Results are printed and written to OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from oba_pipeline.config import REPO_ROOT, SAMPLE_DATA_DIR, Home
from oba_pipeline.perf.pandas_baseline import INDICATORS

BENCH_KEY = "benchmark-only-pseudonym-key-0123456789abcdef"
BENCH_SECRET = "benchmark-only-session-secret-0123456789abcdef0123"
BENCH_USER, BENCH_PASSWORD = "bench-data-team", "benchmark password 0123456789"
# Which column places each extract's rows in a month, to hold the latest month back.
MONTH_COLUMNS = {
    "referrals.csv": "referral_date",
    "caseloads.csv": "snapshot_date",
    "spend.csv": "period_month",
    "family_outcomes.csv": "reading_date",
}
TARGETS = {
    "national_refresh_s": 120.0,
    "national_refresh_gb": 4.0,
    "new_month_s": 15.0,
    "dashboard_p95_ms": 300.0,
    "pandas_end_to_end_ratio": 3.0,
    "pandas_indicators_ratio": 10.0,
}
MARTS_USED = ("mart_referrals", "mart_caseloads", "mart_spend")


@dataclass
class Measured:
    seconds: float
    peak_mb: float  # the most memory resident at once in the process and all its children together
    returncode: int
    output: str
    largest_process_mb: float = 0.0  # the largest single process (the kernel's own account, ru_maxrss)
    # (seconds since the epoch, MB) for every sample, so a peak can be placed in the step that made it
    timeline: list[tuple[float, float]] = field(default_factory=list)


def tree_memory_mb(root: int) -> float:
    """Memory of process `root` and every descendant together: the sum of their proportional set sizes
    (a page shared by forked workers counts once in all), from /proc; Linux only."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while being read
        children.setdefault(parent, []).append(int(stat.parent.name))
    total_kb, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total_kb / 1024


def run_measured(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a command to its end; wall time, and peak memory of it and its children: the sum over the process
    tree sampled every 0.2 s (worker pools run side by side), and the largest single process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(process.stdout.read() if process.stdout else b""))
    reader.start()
    timeline: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            timeline.append((time.time(), tree_memory_mb(process.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux: the largest resident set of the process or a waited-for child.
    largest = usage.ru_maxrss / 1024
    peak = max((mb for _, mb in timeline), default=0.0)
    return Measured(seconds, max(peak, largest), process.returncode,
                    b"".join(chunks).decode(errors="replace"), largest, timeline)


def environment(home: Path | None = None) -> dict[str, str]:
    env = dict(
        os.environ,
        OBA_PSEUDONYM_KEY=BENCH_KEY,
        OBA_SECRET_KEY=BENCH_SECRET,
        GX_ANALYTICS_ENABLED="false",
        DAGSTER_DISABLE_TELEMETRY="1",
    )
    env.pop("OBA_PSEUDONYM_KEY_FILE", None)
    if home is not None:
        env["OBA_HOME"] = str(home)
    return env


def oba(*args: str) -> list[str]:
    return [sys.executable, "-m", "oba_pipeline.cli", *args]


def prepare_extracts(work: Path, scale: str, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Synthetic extracts for the scale (reused when already there) and the same without the latest month."""
    extracts, before = work / scale / "extracts", work / scale / "before"
    info: dict[str, Any] = {}
    if not (extracts / "ground_truth.yaml").exists():
        shutil.rmtree(extracts, ignore_errors=True)
        log(f"[{scale}] generating extracts ...")
        made = run_measured(oba("generate", "--scale", scale, "--workers", str(workers), str(extracts)), environment())
        if made.returncode:
            raise RuntimeError(f"generating the {scale} extracts failed:\n{made.output}")
        info.update(generate_s=made.seconds, generate_peak_mb=made.peak_mb)
    shutil.copytree(SAMPLE_DATA_DIR / "published", extracts / "published", dirs_exist_ok=True)
    latest = (
        pl.scan_csv(extracts / "referrals.csv", infer_schema=False)
        .select(
            pl.col("referral_date")
            .filter(pl.col("referral_date").str.contains(r"^\d{4}-\d{2}-\d{2}$"))
            .str.slice(0, 7)
            .max()
        )
        .collect()
        .item()
    )
    if not (before / "done").exists():
        shutil.rmtree(before, ignore_errors=True)
        shutil.copytree(extracts, before, ignore=shutil.ignore_patterns(*MONTH_COLUMNS, "ground_truth.yaml"))
        for name, column in MONTH_COLUMNS.items():
            (
                pl.scan_csv(extracts / name, infer_schema=False)
                .filter(~pl.col(column).fill_null("").str.starts_with(latest))
                .sink_csv(before / name)
            )
        (before / "done").write_text(latest, encoding="utf-8")
    info["rows"] = {
        name.removesuffix(".csv"): _data_rows(extracts / name) for name in [*MONTH_COLUMNS, "population.csv"]
    }
    info["extracts_mb"] = sum(p.stat().st_size for p in extracts.glob("*.csv")) / 1e6
    info["latest_month"] = latest
    return info


def _data_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b"")) - 1


def refresh(home: Path, extracts: Path) -> Measured:
    return run_measured(oba("--home", str(home), "refresh", "--input", str(extracts)), environment(home))


def failure(measured: Measured) -> str:
    """Why a measured step did not finish, in a line: killed (and by what), or its last words."""
    if measured.returncode < 0:
        signal_name = {9: "SIGKILL, most likely the kernel's out-of-memory killer", 15: "SIGTERM"}.get(
            -measured.returncode, f"signal {-measured.returncode}")
        return (f"killed by {signal_name} after {measured.seconds:.0f} s at {measured.peak_mb / 1024:.1f} GB")
    tail = [line for line in measured.output.strip().splitlines() if line.strip()][-3:]
    return f"exit {measured.returncode} after {measured.seconds:.0f} s: " + " / ".join(tail)[-600:]


def step_windows(home: Path) -> dict[str, tuple[float, float | None]]:
    """When each step of the latest run started and ended (seconds since the epoch; no end for a step that
    was still running when the run died), from the Dagster event log under the home."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(Home(home).dagster_home)
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return {}
        return {
            stats.step_key: (float(stats.start_time), None if stats.end_time is None else float(stats.end_time))
            for stats in instance.get_run_step_stats(runs[0].run_id)
            if stats.start_time is not None
        }


def step_seconds(windows: dict[str, tuple[float, float | None]], now: float) -> dict[str, float]:
    """Seconds each step took; a step still running when the run died is listed under "<step> (unfinished)"
    with the seconds it had run by `now`."""
    return {
        (step if end is not None else f"{step} (unfinished)"): (end if end is not None else now) - start
        for step, (start, end) in windows.items()
    }


# Where step_peaks puts the samples taken while no step ran.
OUTSIDE_STEPS = "(outside the steps)"


def step_peaks(windows: dict[str, tuple[float, float | None]], measured: Measured) -> dict[str, float]:
    """The process tree's largest sampled memory (MB) while each step ran. Steps run one after another, so
    this places the refresh's peak in the step that made it; a step shorter than the 0.2 s sampling interval
    may have no sample and is left out. Samples taken while no step ran (before the first, between two, after
    the last) are listed together under OUTSIDE_STEPS, so a peak there is not lost."""
    end_of_run = measured.timeline[-1][0] if measured.timeline else 0.0
    spans = [(start, end if end is not None else end_of_run) for start, end in windows.values()]
    peaks = {}
    for step, (start, end) in zip(windows, spans, strict=True):
        inside = [mb for at, mb in measured.timeline if start <= at <= end]
        if inside:
            peaks[step] = max(inside)
    outside = [mb for at, mb in measured.timeline if not any(start <= at <= end for start, end in spans)]
    if outside and windows:
        peaks[OUTSIDE_STEPS] = max(outside)
    return peaks


def step_figures(home: Path, measured: Measured) -> tuple[dict[str, float], dict[str, float]]:
    """Step seconds and step memory peaks of the run `measured` just made in `home`."""
    windows = step_windows(home)
    return step_seconds(windows, time.time()), step_peaks(windows, measured)


def pipeline_indicator_seconds(home: Path) -> float:
    """The indicator engine computing the yardstick's 16 indicators on the warehouse, in this process."""
    import dataclasses

    import duckdb

    from oba_pipeline.catalogue import load_catalogue
    from oba_pipeline.indicators.engine import Coverage, compute_indicator_values

    catalogue = load_catalogue()
    chosen = dataclasses.replace(catalogue, indicators=tuple(i for i in catalogue.indicators if i.id in INDICATORS))
    con = duckdb.connect(str(Home(home).warehouse), read_only=True)
    try:
        coverage = {
            row[0]: Coverage(row[1], row[2])
            for row in con.execute("select source, first_month, last_month from source_coverage").fetchall()
        }
        started = time.perf_counter()
        compute_indicator_values(con, chosen, coverage)
        return time.perf_counter() - started
    finally:
        con.close()


def pandas_yardstick(extracts: Path) -> dict[str, float]:
    measured = run_measured(
        [sys.executable, "-m", "oba_pipeline.perf.pandas_baseline", str(extracts), "--json"], environment()
    )
    if measured.returncode:
        raise RuntimeError(f"the pandas yardstick failed:\n{measured.output[-4000:]}")
    timings = json.loads(measured.output.strip().splitlines()[-1])
    return {
        "end_to_end_s": measured.seconds,
        "peak_mb": measured.peak_mb,
        "read_s": timings["read_s"],
        "indicators_s": timings["indicators_s"],
    }


def bench_scale(work: Path, scale: str, workers: int, log: Callable[[str], None], *,
                new_month: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {"scale": scale, **prepare_extracts(work, scale, workers, log)}
    home = work / scale / "home"
    shutil.rmtree(home, ignore_errors=True)
    log(f"[{scale}] full refresh ...")
    full = refresh(home, work / scale / "before")
    steps, peaks = step_figures(home, full)
    result.update(full_refresh_s=full.seconds, full_refresh_peak_mb=full.peak_mb, full_steps=steps,
                  full_step_peaks_mb=peaks, full_largest_process_mb=full.largest_process_mb)
    if full.returncode:
        # A scale that does not finish is a result too: recorded with how far it got, and the run goes on.
        result["full_refresh_failed"] = failure(full)
        log(f"[{scale}] full refresh FAILED: {result['full_refresh_failed']}")
        return result
    log(f"[{scale}] full refresh {full.seconds:.1f} s, peak {full.peak_mb:,.0f} MB")
    if not new_month:
        return result
    log(f"[{scale}] one new month ...")
    month = refresh(home, work / scale / "extracts")
    steps, peaks = step_figures(home, month)
    result.update(new_month_s=month.seconds, new_month_peak_mb=month.peak_mb, new_month_steps=steps,
                  new_month_step_peaks_mb=peaks, new_month_largest_process_mb=month.largest_process_mb)
    if month.returncode:
        result["new_month_failed"] = failure(month)
        log(f"[{scale}] one new month FAILED: {result['new_month_failed']}")
        return result
    log(f"[{scale}] one new month {month.seconds:.1f} s; pandas yardstick ...")
    yardstick = pandas_yardstick(work / scale / "extracts")
    ours = sum(steps.get(mart, 0.0) for mart in MARTS_USED) + pipeline_indicator_seconds(home)
    result.update(
        pandas=yardstick,
        pipeline_indicators_s=ours,
        ratio_end_to_end=yardstick["end_to_end_s"] / full.seconds,
        ratio_indicators=yardstick["indicators_s"] / ours,
    )
    log(
        f"[{scale}] pandas end to end {yardstick['end_to_end_s']:.1f} s (x{result['ratio_end_to_end']:.2f}), "
        f"indicators {yardstick['indicators_s']:.1f} s against {ours:.2f} s (x{result['ratio_indicators']:.1f})"
    )
    return result


# --- the dashboard under load ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _callback(
    dependencies: list[dict[str, Any]], output_part: str, values: dict[str, Any], changed: str
) -> dict[str, Any]:
    """The request Dash's renderer sends for the callback whose output names `output_part`."""
    dep = next(d for d in dependencies if output_part in d["output"])
    parts = dep["output"].strip(".").split("...") if dep["output"].startswith("..") else [dep["output"]]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    return {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{**i, "value": values.get(i["id"])} for i in dep["inputs"]],
        "changedPropIds": [changed],
        "state": [{**s, "value": values.get(s["id"])} for s in dep["state"]],
    }


def dashboard_requests(home: Home, dependencies: list[dict[str, Any]]) -> dict[str, tuple[str, str, Any]]:
    """The requests each simulated user sends: pages as a browser opens them, and the main callbacks."""
    from dashboards import data

    areas = data.areas(home)
    top = str(areas.get_column("area_code")[0])
    locality = str(areas.get_column("area_code")[-1])
    measures = data.benchmark_measures(home).get_column("measure_id").to_list()
    authorities = data.benchmark_authorities(home).get_column("area_code").to_list()
    years = data.family_vs_service(home, top)
    year = str(years.get_column("period_start").max()) if years.height else None
    page = {"_pages_location": None}
    requests: dict[str, tuple[str, str, Any]] = {}
    for path, name in (
        ("/", "scorecard"),
        ("/progress-maps", "progress maps"),
        ("/what-families-say", "what families say"),
    ):
        requests[f"page {name}: html"] = ("GET", path, None)
        requests[f"page {name}: content"] = (
            "POST",
            "/_dash-update-component",
            _callback(dependencies, "_pages_content", {**page, "_pages_location": path}, "_pages_location.pathname"),
        )
    # Inputs by id (the pathname and search of the pages router are both on _pages_location).
    for payload in [requests[k][2] for k in requests if k.endswith("content")]:
        for item in payload["inputs"]:
            item["value"] = payload["inputs"][0]["value"] if item["property"] == "pathname" else ""
    requests["scorecard: area (locality, months)"] = (
        "POST",
        "/_dash-update-component",
        _callback(
            dependencies,
            "scorecard-body",
            {"scorecard-area": locality, "scorecard-period": "month"},
            "scorecard-area.value",
        ),
    )
    requests["scorecard: measure detail"] = (
        "POST",
        "/_dash-update-component",
        _callback(
            dependencies,
            "scorecard-detail",
            {
                "scorecard-selected": "referral_rate",
                "scorecard-area": top,
                "scorecard-period": "reporting_year",
                "scorecard-focus": 0,
            },
            "scorecard-selected.data",
        ),
    )
    requests["what families say: area"] = (
        "POST",
        "/_dash-update-component",
        _callback(
            dependencies,
            "what-families-body",
            {"what-families-area": locality, "what-families-year": year},
            "what-families-area.value",
        ),
    )
    if measures and authorities:
        requests["progress maps: measure"] = (
            "POST",
            "/_dash-update-component",
            _callback(
                dependencies,
                "progress-summary",
                {
                    "progress-measure": measures[-1],
                    "progress-authority": authorities[0],
                    "progress-x-measure": measures[0],
                },
                "progress-measure.value",
            ),
        )
    return requests


def _sign_in(base: str) -> Any:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/sign-in", timeout=60).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("the sign-in page carries no CSRF token")
    signed = session.post(
        f"{base}/sign-in",
        data={"username": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": token.group(1), "next": "/"},
        allow_redirects=False,
        timeout=60,
    )
    if signed.status_code != 302:
        raise RuntimeError(f"signing in failed with HTTP {signed.status_code}")
    session.headers["X-CSRFToken"] = session.cookies.get("_csrf_token") or ""
    return session


def bench_dashboard(home_dir: Path, users: int, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Serve the dashboard and time every request of `users` signed-in users, each sending every request
    `rounds` times (a bounded load: users x rounds x requests in all)."""
    env = environment(home_dir)
    env["OBA_SIGN_IN_LIMIT"] = "1000 per minute"
    added = subprocess.run(
        oba("--home", str(home_dir), "users", "add", BENCH_USER, "--role", "data_team", "--password-stdin"),
        input=BENCH_PASSWORD,
        text=True,
        capture_output=True,
        env=env,
        cwd=REPO_ROOT,
    )
    if added.returncode and "already" not in (added.stdout + added.stderr):
        raise RuntimeError(f"could not add the benchmark account: {added.stdout}{added.stderr}")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        oba("--home", str(home_dir), "serve", "--port", str(port)),
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(base)
        first = _sign_in(base)
        dependencies = first.get(f"{base}/_dash-dependencies", timeout=60).json()
        requests = dashboard_requests(Home(home_dir), dependencies)
        # Each request once, alone, on a server that has answered nothing yet: what the first reader waits
        # after a new snapshot (the caches empty). It also fails early on an error.
        cold: dict[str, float] = {}
        for name, (method, path, body) in requests.items():
            started = time.perf_counter()
            answer = first.request(method, f"{base}{path}", json=body, timeout=120)
            cold[name] = (time.perf_counter() - started) * 1000
            if answer.status_code != 200:
                raise RuntimeError(f"{name}: HTTP {answer.status_code}: {answer.text[:300]}")
        timings: dict[str, list[float]] = {name: [] for name in requests}
        errors: list[str] = []
        lock = threading.Lock()
        sessions = [_sign_in(base) for _ in range(users)]
        barrier = threading.Barrier(users)

        def user(session: Any, offset: int) -> None:
            names = list(requests)
            barrier.wait()
            for r in range(rounds):
                for k in range(len(names)):
                    name = names[(k + offset + r) % len(names)]
                    method, path, body = requests[name]
                    started = time.perf_counter()
                    answer = session.request(method, f"{base}{path}", json=body, timeout=120)
                    elapsed = (time.perf_counter() - started) * 1000
                    with lock:
                        timings[name].append(elapsed)
                        if answer.status_code != 200:
                            errors.append(f"{name}: HTTP {answer.status_code}")

        log(f"[dashboard] {users} users x {rounds} rounds x {len(requests)} requests ...")
        threads = [threading.Thread(target=user, args=(s, i)) for i, s in enumerate(sessions)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    per_request = {
        name: {"median_ms": statistics.median(v), "p95_ms": _p95(v), "n": len(v), "cold_ms": cold[name]}
        for name, v in timings.items()
    }
    return {
        "users": users,
        "rounds": rounds,
        "requests": sum(len(v) for v in timings.values()),
        "wall_s": wall,
        "errors": errors[:20],
        "error_count": len(errors),
        "per_request": per_request,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _wait_for(base: str, timeout: float = 120) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/sign-in", timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.5)
    raise RuntimeError(f"the dashboard did not answer at {base} within {timeout:.0f} s")


# --- report ---------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "cpu": _cpu_name(),
        "load_average_at_start": os.getloadavg(),
    }


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def verdicts(scales: list[dict[str, Any]], dashboard: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each target, the figure measured against it, and whether it was met (a step that did not finish
    misses its target, with the reason in place of a figure)."""
    out = []
    national = next((s for s in scales if s["scale"] == "national"), None)
    if national:
        failed = national.get("full_refresh_failed")
        out.append(_verdict("national full refresh", national["full_refresh_s"], "<=", TARGETS["national_refresh_s"],
                            "s", failed))
        out.append(_verdict("national full refresh peak memory", national["full_refresh_peak_mb"] / 1024, "<",
                            TARGETS["national_refresh_gb"], "GB", failed))
        if "new_month_s" in national or failed:
            out.append(_verdict("one new month on the national warehouse", national.get("new_month_s", 0.0), "<=",
                                TARGETS["new_month_s"], "s",
                                national.get("new_month_failed") or (failed and "no national warehouse")))
    if dashboard:
        worst = max(v["p95_ms"] for v in dashboard["per_request"].values())
        out.append(_verdict(f"dashboard p95, worst request ({dashboard['scale']})", worst, "<",
                            TARGETS["dashboard_p95_ms"], "ms"))
    for s in scales:
        if "ratio_end_to_end" not in s:
            continue
        out.append(_verdict(f"{s['scale']}: pandas end to end / full refresh", s["ratio_end_to_end"], ">=",
                            TARGETS["pandas_end_to_end_ratio"], "x"))
        out.append(_verdict(f"{s['scale']}: pandas indicators / pipeline indicators", s["ratio_indicators"], ">=",
                            TARGETS["pandas_indicators_ratio"], "x"))
    return out


def _verdict(name: str, value: float, op: str, target: float, unit: str, failed: str | None = None) -> dict[str, Any]:
    met = not failed and {"<=": value <= target, "<": value < target, ">=": value >= target}[op]
    return {"target": name, "measured": round(value, 2), "wanted": f"{op} {target:g} {unit}", "met": met,
            "failed": failed or None}


def growth(scales: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How refresh time and memory grew against the data, each scale against the first (the smallest)."""
    finished = sorted((s for s in scales if not s.get("full_refresh_failed")), key=lambda s: sum(s["rows"].values()))
    if len(finished) < 2:
        return []
    first = finished[0]
    base_rows = sum(first["rows"].values())
    return [{
        "scale": s["scale"],
        "data_x": sum(s["rows"].values()) / base_rows,
        "time_x": s["full_refresh_s"] / first["full_refresh_s"],
        "memory_x": s["full_refresh_peak_mb"] / first["full_refresh_peak_mb"],
        "s_per_million_rows": s["full_refresh_s"] / (sum(s["rows"].values()) / 1e6),
    } for s in finished]


def largest_steps(steps: dict[str, float], count: int = 6) -> str:
    ordered = sorted(steps.items(), key=lambda kv: -kv[1])[:count]
    return ", ".join(f"{name} {seconds:.0f} s" for name, seconds in ordered)


def _largest_process(mb: float | None) -> str:
    """The kernel's high-water mark of the largest single process (its resident set, shared pages counted in
    full, and a spike between two samples caught too). The reported peak is the larger of this and the
    sampled tree; shown beside the step peaks, it tells which of the two set it."""
    return "" if not mb else f"; largest single process (resident set, high-water mark) {mb / 1024:.2f} GB"


def largest_peaks(peaks: dict[str, float], count: int = 4) -> str:
    ordered = sorted(peaks.items(), key=lambda kv: -kv[1])[:count]
    return ", ".join(f"{name} {mb / 1024:.2f} GB" for name, mb in ordered)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Run {results['finished']} on {m['cores']} cores, {m['memory_gb']} GB ({m['cpu']}), Python {m['python']}; "
        f"load average at start {', '.join(f'{x:.1f}' for x in m['load_average_at_start'])}.",
        "",
        "| scale | referrals | all rows | extracts | full refresh | peak memory | one new month | pandas end to end "
        "| ratio | indicators: pandas / pipeline | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["scales"]:
        head = (f"| {s['scale']} | {s['rows']['referrals']:,} | {sum(s['rows'].values()):,} "
                f"| {s['extracts_mb']:,.0f} MB ")
        if s.get("full_refresh_failed"):
            lines.append(head + f"| did not finish: {s['full_refresh_failed']} | | | | | | |")
            continue
        if s.get("new_month_failed"):
            lines.append(head + f"| {s['full_refresh_s']:.1f} s | {s['full_refresh_peak_mb'] / 1024:.2f} GB "
                         f"| did not finish: {s['new_month_failed']} | | | | |")
            continue
        if "pandas" not in s:
            lines.append(head + f"| {s['full_refresh_s']:.1f} s | {s['full_refresh_peak_mb'] / 1024:.2f} GB "
                         "| not measured | not measured | | | |")
            continue
        p = s["pandas"]
        lines.append(
            head + f"| {s['full_refresh_s']:.1f} s | {s['full_refresh_peak_mb'] / 1024:.2f} GB "
            f"| {s['new_month_s']:.1f} s "
            f"| {p['end_to_end_s']:.1f} s | {s['ratio_end_to_end']:.2f}x | {p['indicators_s']:.2f} s / "
            f"{s['pipeline_indicators_s']:.2f} s | {s['ratio_indicators']:.1f}x |"
        )
    grown = growth(results["scales"])
    if grown:
        lines += ["", f"Growth against the {grown[0]['scale']} scale (cost should grow no faster than the data):", "",
                  "| scale | data | refresh time | peak memory | seconds per million rows |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {g['scale']} | {g['data_x']:.1f}x | {g['time_x']:.1f}x | {g['memory_x']:.1f}x "
                  f"| {g['s_per_million_rows']:.1f} |" for g in grown]
    lines += ["", "Where the time goes (largest steps of each refresh, from the Dagster event log):", ""]
    for s in results["scales"]:
        lines.append(f"- {s['scale']}, full refresh: {largest_steps(s.get('full_steps', {}))}")
        if s.get("new_month_steps"):
            lines.append(f"- {s['scale']}, one new month: {largest_steps(s['new_month_steps'])}")
    lines += ["", "Where the memory goes (the process tree's peak while each step ran, largest first):", ""]
    for s in results["scales"]:
        for run, label in (("full", "full refresh"), ("new_month", "one new month")):
            if s.get(f"{run}_step_peaks_mb"):
                lines.append(f"- {s['scale']}, {label}: {largest_peaks(s[f'{run}_step_peaks_mb'])}"
                             + _largest_process(s.get(f"{run}_largest_process_mb")))
    d = results.get("dashboard")
    if d:
        lines += [
            "",
            f"Dashboard at {d['scale']} scale: {d['users']} users x {d['rounds']} rounds, {d['requests']:,} "
            f"requests in {d['wall_s']:.1f} s, {d['error_count']} errors.",
            "",
            "| request | median | p95 | first request, cold cache, one user |",
            "|---|---:|---:|---:|",
        ]
        for name, v in d["per_request"].items():
            cold = f"{v['cold_ms']:.0f} ms" if "cold_ms" in v else "not measured"
            lines.append(f"| {name} | {v['median_ms']:.0f} ms | {v['p95_ms']:.0f} ms | {cold} |")
    lines += ["", "| target | measured | wanted | met |", "|---|---:|---|---|"]
    for v in results["verdicts"]:
        measured = f"did not finish ({v['failed']})" if v.get("failed") else f"{v['measured']:,}"
        lines.append(f"| {v['target']} | {measured} | {v['wanted']} | {'yes' if v['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Refresh, dashboard and pandas benchmark at sample to national scale.")
    parser.add_argument("--scales", default="sample,regional,national")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/oba-bench"),
        help="where extracts and homes go (extracts are kept and reused)",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes generating extracts")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--dashboard-scale", default="", help="the scale whose dashboard is loaded (default: the largest)"
    )
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--full-only", default="", help="scales measured by their full refresh only (comma-separated): "
                        "no new month, no pandas yardstick")
    parser.add_argument("--dashboard-only", action="store_true",
                        help="only the dashboard, on the home an earlier run left for --dashboard-scale")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "oba_pipeline" / "perf" / "results" / "results")
    args = parser.parse_args(argv)
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]

    def log(message: str) -> None:
        print(f"{datetime.now(UTC):%H:%M:%S} {message}", flush=True)

    results: dict[str, Any] = {"machine": machine(), "scales": [], "dashboard": None}
    full_only = {s.strip() for s in args.full_only.split(",") if s.strip()}
    for scale in [] if args.dashboard_only else scales:
        results["scales"].append(bench_scale(args.work, scale, args.workers, log, new_month=scale not in full_only))
        _write(args.out, results)  # what is measured so far survives a later step that fails
    if not args.no_dashboard and scales:
        chosen = args.dashboard_scale or scales[-1]
        results["dashboard"] = {
            "scale": chosen,
            **bench_dashboard(args.work / chosen / "home", args.users, args.rounds, log),
        }
    print(_write(args.out, results))


def _write(out: Path, results: dict[str, Any]) -> str:
    results["verdicts"] = verdicts(results["scales"], results["dashboard"])
    results["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    text = markdown(results)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
