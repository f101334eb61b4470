"""Social work teams and month-end caseload snapshots.

Each locality has four teams (assessment, safeguarding, children in care, family support) sized to
its child population. Posts are filled by workers who leave at realistic turnover rates and are
replaced after a vacancy of a month or two, so worker ids come and go over the years. Caseloads
follow a persistent per-worker level (some workers always carry more) with month-to-month drift,
new starters get a protected caseload, and the planted caseload-pressure change raises social
workers' caseloads in one locality.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from oba_pipeline.generate.calendar import Window, month_end, month_starts
from oba_pipeline.generate.planted import Plan
from oba_pipeline.generate.scales import AuthoritySpec

COLUMNS = ("snapshot_date", "worker_id", "team", "locality", "role", "fte", "cases_held")

# Posts per team per 10,000 children (managers: always one per team).
TEAMS: dict[str, dict[str, float]] = {
    "Assessment": {"team_manager": 0, "senior_practitioner": 1.0, "social_worker": 5.0},
    "Safeguarding": {"team_manager": 0, "senior_practitioner": 2.0, "social_worker": 6.0},
    "Children in Care": {"team_manager": 0, "senior_practitioner": 1.0, "social_worker": 5.0},
    "Family Support": {"team_manager": 0, "family_support_worker": 4.5},
}
# Mean cases per full-time worker by role.
CASES_PER_FTE = {
    "social_worker": 17.6,
    "senior_practitioner": 15.0,
    "team_manager": 1.2,
    "family_support_worker": 11.0,
}
MONTHLY_LEAVING = {
    "social_worker": 0.013,
    "senior_practitioner": 0.009,
    "team_manager": 0.008,
    "family_support_worker": 0.011,
}
P_FILL_VACANCY = 0.45  # chance per month an empty post is filled (a vacancy lasts ~2 months)
NEW_STARTER_RAMP = (0.45, 0.7, 0.9)  # share of a full caseload in a starter's first months
CASE_HOLDING = ("social_worker", "senior_practitioner")


@dataclass
class Workforce:
    """Caseload rows plus, per locality and month, who could have taken a family's reading."""

    frame: pl.DataFrame
    months: list[date]  # first day of each snapshot month
    social_workers: dict[tuple[int, int], list[str]]  # (locality, month index) -> worker ids
    family_workers: dict[tuple[int, int], list[str]]


def _fte(rng: np.random.Generator, role: str) -> float:
    if role == "team_manager" or rng.random() < 0.8:
        return 1.0
    return float(rng.choice([0.5, 0.6, 0.8, 0.9]))


@dataclass
class _Worker:
    id: str
    role: str
    fte: float
    level: float  # persistent: some workers always carry more cases than others
    tenure: int = 0  # months in post
    drift: float = 0.0  # slow month-to-month wander of the caseload


@dataclass
class _Post:
    loc: int
    team: str
    role: str
    worker: _Worker | None


def simulate_workforce(
    authority: AuthoritySpec, window: Window, plan: Plan, rng: np.random.Generator, id_prefix: str = "W"
) -> Workforce:
    months = [m for m in month_starts(window.start, window.end) if month_end(m) <= window.end]
    rows: dict[str, list[str]] = {k: [] for k in COLUMNS}
    social: dict[tuple[int, int], list[str]] = {}
    family: dict[tuple[int, int], list[str]] = {}
    next_id = 1

    def new_worker(role: str, tenure: int = 0) -> _Worker:
        nonlocal next_id
        fte = _fte(rng, role)
        worker = _Worker(f"{id_prefix}{next_id:04d}", role, fte, float(rng.gamma(25.0, 1 / 25.0)), tenure)
        next_id += 1
        return worker

    # Posts, created locality by locality in a fixed order; founding staff are not new starters.
    posts: list[_Post] = []
    for li, loc in enumerate(authority.localities):
        for team, roles in TEAMS.items():
            for role, per_10k in roles.items():
                count = 1 if role == "team_manager" else max(1, round(per_10k * loc.children / 10_000))
                for _ in range(count):
                    team_name = f"{loc.name.split()[-1]} {team} Team"
                    posts.append(_Post(li, team_name, role, new_worker(role, tenure=12)))

    for mi, month in enumerate(months):
        snapshot = month_end(month).isoformat()
        for post in posts:
            if post.worker is None:
                if rng.random() >= P_FILL_VACANCY:
                    continue
                post.worker = new_worker(post.role)
            worker = post.worker
            worker.drift = 0.85 * worker.drift + float(rng.normal(0.0, 0.07))
            ramp = NEW_STARTER_RAMP[worker.tenure] if worker.tenure < len(NEW_STARTER_RAMP) else 1.0
            pressure = plan.caseload_multiplier(post.loc, month) if post.role in CASE_HOLDING else 1.0
            mean = (
                CASES_PER_FTE[post.role] * worker.fte * worker.level * np.exp(worker.drift) * ramp * pressure
            )
            cases = int(min(80, rng.poisson(mean)))
            rows["snapshot_date"].append(snapshot)
            rows["worker_id"].append(worker.id)
            rows["team"].append(post.team)
            rows["locality"].append(authority.localities[post.loc].code)
            rows["role"].append(post.role)
            rows["fte"].append(f"{worker.fte:.1f}")
            rows["cases_held"].append(str(cases))
            if post.role in CASE_HOLDING:
                social.setdefault((post.loc, mi), []).append(worker.id)
            elif post.role == "family_support_worker":
                family.setdefault((post.loc, mi), []).append(worker.id)
            worker.tenure += 1
            if rng.random() < MONTHLY_LEAVING[post.role]:
                post.worker = None  # leaves after this snapshot

    frame = pl.DataFrame(rows, schema={k: pl.Utf8 for k in COLUMNS})
    frame = frame.sort(["snapshot_date", "locality", "team", "worker_id"])
    return Workforce(frame=frame, months=months, social_workers=social, family_workers=family)
