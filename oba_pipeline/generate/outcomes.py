"""Family-reported outcomes: dated readings from the tools families complete with their workers.

Who is in the data:

* Social-care families: children from the referrals extract whose episode went beyond assessment
  (a child-in-need plan, a protection plan, care). Their readings carry the referral child_id and
  the kind of involvement on the reading date (child_in_need / child_protection / looked_after).
* Early-help families, who never appear in the referrals extract, with their own ids.

How readings behave:

* Every family has a latent engagement level. Engaged families attend reviews and improve; families
  who disengage miss reviews and stop appearing, and they are the ones who were improving least.
  This is the informative missingness the family-voice guidance warns about: analysing only the
  families with follow-ups flatters the service.
* Family Star Plus: a first reading within four weeks, reviews about every 12 weeks, a closing
  reading. Signs of Safety: parent and worker each rate safety at every meeting (separate readings),
  parents usually higher than workers. SDQ for looked-after children once a year (carer, sometimes
  teacher and the young person). Goal-based outcomes, SWEMWBS, family life satisfaction and "what
  matters to us" themes at their own rhythms.
* The planted safety divergence lowers family-rated safety in one locality from a date.

Scores are synthetic numbers on each tool's scale; no questionnaire wording is produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from oba_pipeline.generate import planted as P
from oba_pipeline.generate.calendar import Window, to_np
from oba_pipeline.generate.referrals import CIN_PLAN, CPP, CPP_THEN_CARE, Referrals
from oba_pipeline.generate.scales import AuthoritySpec, Scale
from oba_pipeline.generate.workforce import Workforce

COLUMNS = (
    "reading_id",
    "family_id",
    "child_id",
    "reading_date",
    "instrument",
    "instrument_version",
    "respondent_role",
    "item",
    "score",
    "worker_id",
    "locality",
    "episode_type",
)

STAR_AREAS = (
    "physical_health",
    "your_wellbeing",
    "meeting_emotional_needs",
    "keeping_children_safe",
    "social_networks",
    "education_and_learning",
    "boundaries_and_behaviour",
    "family_routine",
    "home_and_money",
    "progress_to_work",
)
STAR_BASE = np.array([5.2, 4.2, 4.6, 4.8, 4.3, 4.9, 4.3, 4.5, 4.1, 3.8])
SAFE = STAR_AREAS.index("keeping_children_safe")
MY_STAR_AREAS = (
    "physical_health",
    "where_you_live",
    "being_safe",
    "relationships",
    "feelings_and_behaviour",
    "friends",
    "confidence_and_self_esteem",
    "education_and_learning",
)
SDQ_SCALES = ("emotional", "conduct", "hyperactivity", "peer_problems")
SDQ_MEANS = np.array([4.2, 3.4, 5.3, 3.5])
THEMES = (
    "safety",
    "stability_at_home",
    "health_and_wellbeing",
    "education",
    "relationships",
    "money_and_housing",
)
THEME_WEIGHTS = np.array([0.18, 0.20, 0.20, 0.12, 0.15, 0.15])
VERSIONS = {
    "family_star_plus": "v2",
    "my_star": "v1",
    "goal_based_outcomes": "v1",
    "swemwbs": "v1",
    "signs_of_safety": "v1",
    "family_life": "v1",
    "what_matters": "v1",
}
SDQ_FORMS = {"carer": "P4-17", "parent": "P4-17", "teacher": "T4-17", "child": "S11-17"}

STAR_INTERVAL = 84  # days between Family Star reviews
ATTEND_LOGIT = 2.0  # attendance at a follow-up: logistic(ATTEND_LOGIT + ATTEND_SLOPE * engagement)
ATTEND_SLOPE = 1.2
P_STOP_AFTER_MISS = 0.75  # a missed follow-up usually means the family has disengaged


@dataclass
class Family:
    family_id: str
    child_id: str | None
    loc: int
    dob: np.datetime64
    start: date  # when the work (and the readings) can start
    end: date | None  # when the work ended, None if still open at the extract date
    engagement: float
    statutory: bool
    # statutory phases (NaT when absent)
    cpp: tuple[np.datetime64, np.datetime64] = (np.datetime64("NaT"), np.datetime64("NaT"))
    cla: tuple[np.datetime64, np.datetime64] = (np.datetime64("NaT"), np.datetime64("NaT"))


@dataclass
class Sitting:
    day: date
    family: Family
    instrument: str
    role: str
    worker: str | None
    items: list[tuple[str, float]]
    child: bool = False  # a child-level reading (always carries a child id)


def _d(x: np.datetime64) -> date | None:
    return None if np.isnat(x) else x.astype("datetime64[D]").item()


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


class OutcomeSimulator:
    def __init__(
        self,
        authority: AuthoritySpec,
        window: Window,
        plan: P.Plan,
        workforce: Workforce,
        rng: np.random.Generator,
        divergence: bool = True,
        family_prefix: str = "F",
        child_prefix: str = "C",
    ) -> None:
        """`divergence=False` generates the counterfactual: the same families, schedules and random
        numbers, without the planted safety divergence (used to measure its true effect)."""
        self.authority = authority
        self.window = window
        self.plan = plan
        self.workforce = workforce
        self.rng = rng
        self.sittings: list[Sitting] = []
        self.div_start = plan.divergence_start
        self.divergence = divergence
        self.family_prefix = family_prefix
        self.child_prefix = child_prefix
        # Family Star follow-up bookkeeping (families with a follow-up due, and those who missed one),
        # known only to the simulator: the extract cannot tell a missed review from a late one.
        self.star_due = 0
        self.star_missed = 0

    # --- helpers ---------------------------------------------------------------------------------

    def _worker(self, family: Family, day: date, pool: str) -> str | None:
        months = self.workforce.months
        index = (day.year - months[0].year) * 12 + day.month - months[0].month
        index = min(max(index, 0), len(months) - 1)
        lookup = self.workforce.family_workers if pool == "family" else self.workforce.social_workers
        ids = lookup.get((family.loc, index)) or lookup.get((family.loc, 0)) or []
        if not ids:
            return None
        # One keyworker per family and tool: picked (stably, from the family id) among the
        # locality's staff in post when the work starts.
        return ids[hash_index(family.family_id, len(ids))]

    def _schedule(
        self, first: date, interval: int, end: date | None, jitter: int, limit: int = 40, closing: bool = True
    ) -> list[date]:
        """First reading plus follow-ups every `interval` days until the work ends; a closing reading
        when the work has ended and the last review is a while back."""
        stop = min(end or self.window.end, self.window.end)
        days = [first]
        while len(days) < limit:
            nxt = days[-1] + timedelta(days=int(interval + self.rng.integers(-jitter, jitter + 1)))
            if nxt > stop:
                break
            days.append(nxt)
        if closing and end is not None and end <= self.window.end and (end - days[-1]).days > interval // 2:
            days.append(end)
        return [d for d in days if d <= stop]

    def _attended(self, days: list[date], engagement: float) -> list[date]:
        """Which scheduled readings happen: the first always; each follow-up is attended with a
        probability that rises with engagement, and a miss usually ends the family's readings."""
        if not days:
            return []
        kept = [days[0]]
        p = _sigmoid(ATTEND_LOGIT + ATTEND_SLOPE * engagement)
        for d in days[1:]:
            if self.rng.random() < p:
                kept.append(d)
            elif self.rng.random() < P_STOP_AFTER_MISS:
                break
        return kept

    def _in_window(self, days: list[date]) -> list[date]:
        """Readings the extract holds: from the look-back start (a year before the reporting window,
        so families' first readings before the window are there) to the extract date."""
        return [d for d in days if self.window.lookback_start <= d <= self.window.end]

    def _after_divergence(self, family: Family, day: date) -> bool:
        return self.divergence and family.loc == self.plan.loc_divergence and day >= self.div_start

    def _intervals_after_divergence(self, family: Family, first: date, day: date) -> float:
        """Review intervals (12 weeks) of this family's course that fall after the divergence date."""
        if not self._after_divergence(family, day):
            return 0.0
        return (day - max(first, self.div_start)).days / STAR_INTERVAL

    # --- instruments -----------------------------------------------------------------------------

    def family_star(self, family: Family, begin: date, end: date | None) -> None:
        rng = self.rng
        first = begin + timedelta(days=int(rng.integers(3, 29)))
        scheduled = self._schedule(first, STAR_INTERVAL, end, 14)
        days = self._attended(scheduled, family.engagement)
        if len(scheduled) > 1 and first >= self.window.lookback_start:
            self.star_due += 1
            self.star_missed += len(days) < len(scheduled)
        severity = rng.normal(-0.5 if family.statutory else 0.0, 0.8)
        base = STAR_BASE + severity + rng.normal(0, 1.0, size=len(STAR_AREAS))
        gain = max(-0.2, 0.42 + 0.38 * family.engagement + rng.normal(0, 0.15))
        area_gain = gain * (1 + rng.normal(0, 0.25, size=len(STAR_AREAS)))
        worker = self._worker(family, first, "social" if family.statutory else "family")
        for d in self._in_window(days):
            # Review intervals since the first reading, with diminishing returns; the part of the
            # course after the divergence date (zero elsewhere) follows the divergence rules.
            t = ((d - first).days / STAR_INTERVAL) ** 0.85
            t_after = self._intervals_after_divergence(family, first, d) ** 0.85
            scores = base + area_gain * (t - t_after) + rng.normal(0, 0.45, size=len(STAR_AREAS))
            if self._after_divergence(family, d):
                extra = area_gain * P.SPILLOVER_GAIN_FACTOR * t_after
                extra[SAFE] = (area_gain[SAFE] + P.SAFETY_GAIN_SHIFT) * t_after + P.SAFETY_LEVEL_SHIFT
                scores = scores + extra
            values = np.clip(np.round(scores), 1, 10)
            self.sittings.append(
                Sitting(
                    d,
                    family,
                    "family_star_plus",
                    "parent",
                    worker,
                    list(zip(STAR_AREAS, values.tolist(), strict=True)),
                )
            )

    def signs_of_safety(self, family: Family, begin: date, end: date | None, interval: int) -> None:
        rng = self.rng
        days = self._schedule(begin, interval, end, 10)
        parent_days = set(self._attended(days, family.engagement))
        parent_base = rng.normal(5.6, 1.4)
        worker_base = parent_base - 1.6 + rng.normal(0, 1.0)
        parent_gain = 0.35 + 0.3 * family.engagement
        worker_gain = 0.45 + 0.3 * family.engagement + rng.normal(0, 0.1)
        worker = self._worker(family, begin, "social")
        for d in self._in_window(days):
            t = (d - begin).days / STAR_INTERVAL
            w_score = worker_base + worker_gain * t + rng.normal(0, 0.6)
            self.sittings.append(
                Sitting(
                    d,
                    family,
                    "signs_of_safety",
                    "worker",
                    worker,
                    [("safety", float(np.clip(round(w_score), 0, 10)))],
                )
            )
            if d in parent_days:
                p_score = parent_base + parent_gain * t + rng.normal(0, 0.7)
                if self._after_divergence(family, d):
                    p_score += P.SOS_PARENT_SHIFT - 0.3 * self._intervals_after_divergence(family, begin, d)
                self.sittings.append(
                    Sitting(
                        d,
                        family,
                        "signs_of_safety",
                        "parent",
                        worker,
                        [("safety", float(np.clip(round(p_score), 0, 10)))],
                    )
                )

    def family_life(self, family: Family, begin: date, end: date | None) -> None:
        rng = self.rng
        first = begin + timedelta(days=int(rng.integers(7, 41)))
        days = self._attended(self._schedule(first, 182, end, 21), family.engagement)
        base = rng.normal(5.0, 1.8)
        gain = 0.5 + 0.4 * family.engagement
        worker = self._worker(family, first, "social" if family.statutory else "family")
        for d in self._in_window(days):
            t = (d - first).days / 182
            score = float(np.clip(round(base + gain * t + rng.normal(0, 0.8)), 0, 10))
            self.sittings.append(
                Sitting(d, family, "family_life", "parent", worker, [("life_satisfaction", score)])
            )
            weights = THEME_WEIGHTS.copy()
            if self._after_divergence(family, d):
                weights[0] *= 2.5  # families in the divergence locality name safety more often
            n_themes = 1 if rng.random() < 0.6 else 2
            # Weighted choice without replacement (Gumbel top-k): always six random numbers, so the
            # counterfactual twin stays in step.
            keys = np.log(weights) - np.log(-np.log(rng.random(len(THEMES))))
            picked = np.argsort(-keys)[:n_themes]
            self.sittings.append(
                Sitting(
                    d, family, "what_matters", "parent", worker, [(THEMES[i], 1.0) for i in sorted(picked)]
                )
            )

    def goals(self, family: Family, begin: date, end: date | None) -> None:
        rng = self.rng
        first = begin + timedelta(days=int(rng.integers(7, 31)))
        days = self._attended(self._schedule(first, 70, end, 10, limit=4), family.engagement)
        age = _age(family.dob, first)
        role = "child" if age >= 10 and rng.random() < 0.5 else "parent"
        n_goals = int(rng.choice([1, 2, 3], p=[0.15, 0.35, 0.5]))
        base = rng.normal(2.6, 1.4, size=n_goals)
        gain = 1.2 + 0.8 * family.engagement + rng.normal(0, 0.4, size=n_goals)
        worker = self._worker(family, first, "social" if family.statutory else "family")
        for d in self._in_window(days):
            t = (d - first).days / 70
            scores = np.clip(np.round(base + gain * t + rng.normal(0, 0.6, size=n_goals)), 0, 10)
            self.sittings.append(
                Sitting(
                    d,
                    family,
                    "goal_based_outcomes",
                    role,
                    worker,
                    [(f"goal_{i + 1}", float(s)) for i, s in enumerate(scores)],
                    child=role == "child",
                )
            )

    def my_star(self, family: Family, begin: date, end: date | None) -> None:
        rng = self.rng
        first = begin + timedelta(days=int(rng.integers(14, 61)))
        days = self._attended(self._schedule(first, 120, end, 14), family.engagement)
        base = rng.normal(2.8, 0.6) + rng.normal(0, 0.6, size=len(MY_STAR_AREAS))
        gain = 0.22 + 0.2 * family.engagement
        worker = self._worker(family, first, "social" if family.statutory else "family")
        for d in self._in_window(days):
            t = (d - first).days / 120
            scores = np.clip(np.round(base + gain * t + rng.normal(0, 0.4, size=len(MY_STAR_AREAS))), 1, 5)
            self.sittings.append(
                Sitting(
                    d,
                    family,
                    "my_star",
                    "child",
                    worker,
                    list(zip(MY_STAR_AREAS, scores.tolist(), strict=True)),
                    child=True,
                )
            )

    def swemwbs(self, family: Family, begin: date, end: date | None, role: str) -> None:
        rng = self.rng
        first = begin + timedelta(days=int(rng.integers(7, 45)))
        days = self._attended(self._schedule(first, 182, end, 21), family.engagement)
        base = rng.normal(19.5, 4.0)
        gain = 0.9 + 0.8 * family.engagement
        worker = self._worker(family, first, "social" if family.statutory else "family")
        for d in self._in_window(days):
            t = (d - first).days / 182
            score = float(np.clip(round(base + gain * t + rng.normal(0, 2.0)), 7, 35))
            self.sittings.append(
                Sitting(d, family, "swemwbs", role, worker, [("raw_total", score)], child=role == "child")
            )

    def sdq(self, family: Family, care_start: date, care_end: date | None) -> None:
        """Annual SDQ for a child looked after for 12 months or more, while aged 4 to 16."""
        rng = self.rng
        first = care_start + timedelta(days=365 + int(rng.integers(0, 60)))
        days = self._schedule(first, 365, care_end, 30, closing=False)
        days = [d for d in days if 4 <= _age(family.dob, d) <= 16 and (care_end is None or d <= care_end)]
        base = SDQ_MEANS + rng.normal(0, 1.6, size=4)
        prosocial = rng.normal(6.9, 1.8)
        gain = -0.25 * (1 + 0.5 * family.engagement)
        with_teacher = rng.random() < 0.15
        self_report = rng.random() < 0.25
        worker = self._worker(family, first, "social")
        for d in self._in_window(days):
            t = (d - first).days / 365
            for role in ("carer", "teacher", "child"):
                if (role == "teacher" and (not with_teacher or _age(family.dob, d) < 5)) or (
                    role == "child" and (not self_report or _age(family.dob, d) < 11)
                ):
                    continue
                bias = -0.5 if role == "teacher" else 0.0
                sub = np.clip(np.round(base + bias + gain * t + rng.normal(0, 1.0, size=4)), 0, 10)
                pro = float(np.clip(round(prosocial + 0.2 * t + rng.normal(0, 1.0)), 0, 10))
                items = [
                    *zip(SDQ_SCALES, sub.tolist(), strict=True),
                    ("prosocial", pro),
                    ("total_difficulties", float(sub.sum())),
                ]
                self.sittings.append(Sitting(d, family, "sdq", role, worker, items, child=True))

    # --- families --------------------------------------------------------------------------------

    def statutory(self, refs: Referrals, child_ids: np.ndarray, scale: Scale) -> int:
        """Families of children in the referrals extract whose work went beyond assessment."""
        rng = self.rng
        share = scale.statutory_outcome_share
        end = to_np(self.window.end)
        w_start = to_np(self.window.lookback_start)
        family_of: dict[str, str] = {}
        for i in range(len(refs)):
            path = int(refs.path[i])
            if path < CIN_PLAN:
                continue
            closure = refs.closure[i] if refs.closure[i] <= end else np.datetime64("NaT")
            if not np.isnat(closure) and closure < w_start:
                continue
            child = str(child_ids[i])
            fid = family_of.setdefault(child, f"{self.family_prefix}{len(family_of) + 1:06d}")
            family = Family(
                family_id=fid,
                child_id=child,
                loc=int(refs.loc[i]),
                dob=refs.dob[refs.chain[i]],
                start=_d(refs.a_auth[i]) or _d(refs.ref[i]),  # type: ignore[arg-type]
                end=_d(closure),
                engagement=float(rng.normal()),
                statutory=True,
                cpp=(refs.cpp_start[i], refs.cpp_end[i]),
                cla=(refs.cla_start[i], refs.cla_end[i]),
            )
            u = rng.random(8)
            cla_start = _d(refs.cla_start[i])
            at_home_end = cla_start if cla_start else family.end
            if cla_start and family.end is not None and cla_start > family.end:
                at_home_end = family.end
            if path in (CPP, CPP_THEN_CARE):
                cpp_start, cpp_end = _d(refs.cpp_start[i]), _d(refs.cpp_end[i])
                if cpp_start and u[0] < 0.45 * share:
                    self.signs_of_safety(
                        family, cpp_start, cpp_end if cpp_end and cpp_end <= self.window.end else None, 120
                    )
                if u[1] < 0.07 * share:
                    self.family_star(family, family.start, at_home_end)
                if u[2] < 0.08 * share:
                    self.family_life(family, family.start, at_home_end)
            elif path == CIN_PLAN:
                if u[0] < 0.06 * share:
                    self.signs_of_safety(family, family.start, family.end, 91)
                if u[1] < 0.035 * share:
                    self.family_star(family, family.start, family.end)
                if u[2] < 0.05 * share:
                    self.family_life(family, family.start, family.end)
                if u[3] < 0.03 * share:
                    self.goals(family, family.start, family.end)
            if cla_start:
                cla_end = _d(refs.cla_end[i])
                cla_end = cla_end if cla_end and cla_end <= self.window.end else None
                self.sdq(family, cla_start, cla_end)
                age = _age(family.dob, cla_start)
                if 8 <= age <= 17 and u[4] < 0.15 * share:
                    self.my_star(family, cla_start, cla_end)
                if age >= 13 and u[5] < 0.18 * share:
                    self.swemwbs(family, cla_start, cla_end, "child")
        return len(family_of)

    def early_help(
        self, pop_years: np.ndarray, pop: np.ndarray, scale: Scale, first_family: int, first_child: int
    ) -> None:
        """Early-help families (not in the referrals extract), arriving through the window."""
        rng = self.rng
        begin = self.window.lookback_start - timedelta(days=240)
        n_days = (self.window.end - begin).days + 1
        fid = first_family
        cid = first_child
        for li in range(len(self.authority.localities)):
            years = np.array([(begin + timedelta(days=k)).year for k in range(0, n_days, 30)])
            children = pop[li, np.clip(years - pop_years[0], 0, len(pop_years) - 1)].mean()
            expected = scale.early_help_per_10k * children / 10_000 * n_days / 365.25
            arrivals = np.sort(rng.integers(0, n_days, size=rng.poisson(expected)))
            for offset in arrivals.tolist():
                start = begin + timedelta(days=offset)
                length = int(np.clip(rng.lognormal(np.log(210), 0.45), 60, 900))
                end = start + timedelta(days=length)
                age = float(rng.uniform(0, 17.9))
                dob = to_np(start) - np.timedelta64(int(age * 365.25), "D")
                needs_child = age >= 7
                family = Family(
                    family_id=f"{self.family_prefix}{fid:06d}",
                    child_id=f"{self.child_prefix}{cid:07d}" if needs_child else None,
                    loc=li,
                    dob=dob,
                    start=start,
                    end=end if end <= self.window.end else None,
                    engagement=float(rng.normal()),
                    statutory=False,
                )
                fid += 1
                cid += 1 if needs_child else 0
                u = rng.random(5)
                if u[0] < 0.8:
                    self.family_star(family, start, family.end)
                if u[1] < 0.3:
                    self.goals(family, start, family.end)
                if u[2] < 0.5:
                    self.family_life(family, start, family.end)
                if needs_child and age <= 14 and u[3] < 0.2:
                    self.my_star(family, start, family.end)
                if u[4] < 0.15:
                    self.swemwbs(family, start, family.end, "child" if age >= 13 else "parent")

    # --- output ----------------------------------------------------------------------------------

    def frame(self, id_prefix: str = "RD") -> pl.DataFrame:
        codes = [loc.code for loc in self.authority.localities]
        order = sorted(
            range(len(self.sittings)),
            key=lambda k: (
                self.sittings[k].day,
                self.sittings[k].family.family_id,
                self.sittings[k].instrument,
                self.sittings[k].role,
                k,
            ),
        )
        rows: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
        missing_version = self.rng.random(len(order)) < 0.03
        missing_worker = self.rng.random(len(order)) < 0.02
        for n, k in enumerate(order):
            s = self.sittings[k]
            f = s.family
            version = SDQ_FORMS[s.role] if s.instrument == "sdq" else VERSIONS[s.instrument]
            worker = s.worker if (s.role == "worker" or not missing_worker[n]) else None
            child = f.child_id if (f.statutory or s.child) else None
            episode = _episode_type(f, s.day)
            for item, score in s.items:
                rows["reading_id"].append(f"{id_prefix}{n + 1:07d}")
                rows["family_id"].append(f.family_id)
                rows["child_id"].append(child)
                rows["reading_date"].append(s.day.isoformat())
                rows["instrument"].append(s.instrument)
                rows["instrument_version"].append(None if missing_version[n] else version)
                rows["respondent_role"].append(s.role)
                rows["item"].append(item)
                rows["score"].append(f"{score:.0f}")
                rows["worker_id"].append(worker)
                rows["locality"].append(codes[f.loc])
                rows["episode_type"].append(episode)
        return pl.DataFrame(rows, schema={c: pl.Utf8 for c in COLUMNS})


def _age(dob: np.datetime64, day: date) -> int:
    return int((to_np(day) - dob).astype(np.int64) // 365.25)


def _episode_type(family: Family, day: date) -> str:
    if not family.statutory:
        return "early_help"
    d = to_np(day)
    cla_start, cla_end = family.cla
    if not np.isnat(cla_start) and cla_start <= d and (np.isnat(cla_end) or d < cla_end):
        return "looked_after"
    cpp_start, cpp_end = family.cpp
    if not np.isnat(cpp_start) and cpp_start <= d and (np.isnat(cpp_end) or d < cpp_end):
        return "child_protection"
    return "child_in_need"


def hash_index(text: str, n: int) -> int:
    """A stable index in [0, n) from a string (Python's hash() is salted per process)."""
    value = 0
    for ch in text:
        value = (value * 131 + ord(ch)) % 1_000_003
    return value % n
