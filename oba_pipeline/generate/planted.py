"""Planted changes: known, dated shifts in the synthetic data that later analysis should find.

Each change is a multiplier or shift applied by the simulators from a start date (after an optional
lag) in one locality. The same object writes the ground truth, so what is simulated and what is
declared cannot drift apart. Pairs of indicator and area with nothing planted are listed too, so
change detectors can be scored on false alarms as well as hits.

Dates are placed as fractions of the reporting window, so any `end_date` or window length gives
enough months before and after each change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np

from oba_pipeline.generate.calendar import Window, add_months, to_np
from oba_pipeline.generate.scales import AuthoritySpec

INDICATORS = (
    "referral_rate",
    "rereferral_rate_12m",
    "assessments_within_45_days",
    "average_caseload_per_fte",
    "prevention_spend_share",
    "families_reliable_improvement_pct",
)
# prevention_spend_share is published for the whole authority only (see the indicator catalogue).
AUTHORITY_ONLY = {"prevention_spend_share"}

# Effect sizes (relative changes unless said otherwise).
FAMILY_SUPPORT_UPLIFT = 0.40  # family support (3.4.x) spend in the prevention locality
PREVENTION_LAG_MONTHS = 6
REFERRAL_EFFECT = -0.15  # referrals in the prevention locality after the lag
P45_BASE = 0.845  # share of assessments within 45 working days, typical locality
P45_SLOW_BEFORE = 0.70  # the timeliness locality before its improvement
P45_SLOW_AFTER = 0.87
TIMELINESS_RAMP_MONTHS = 3
REREFERRAL_KEEP = 0.75  # share of would-be re-referrals that still happen in the divergence locality
CASELOAD_EFFECT = 0.25
CASELOAD_RAMP_MONTHS = 6
# Long-run share of referrals that lead to another referral of the same child (all gaps). Used to
# top up first-time referrals in the divergence locality so its total referral volume stays flat:
# the divergence is about re-referrals, not about how many children come to the front door.
MEAN_REREFERRAL_PROBABILITY = 0.335

# Family-rated safety in the divergence locality after its start date (points on 1-10 / 0-10 scales).
SAFETY_LEVEL_SHIFT = -1.2  # Family Star "keeping_children_safe" level, readings after the date
SAFETY_GAIN_SHIFT = -0.7  # ... and per review after the date (improvement turns into decline)
SPILLOVER_GAIN_FACTOR = 0.7  # gains in other Family Star areas are muted after the date
SOS_PARENT_SHIFT = -1.8  # signs_of_safety parent rating (worker rating unchanged)


@dataclass(frozen=True)
class PlantedChange:
    id: str
    indicator: str
    area: str
    start: date
    lag_months: int
    effect: float
    direction: str  # increase | decrease (of the indicator's value)
    valence: str  # better | worse, given the indicator's polarity
    description: str
    group: str | None = None
    locality: str | None = None  # where the cause sits, when the area is the whole authority
    ramp_months: int = 0

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["effect_from"] = add_months(self.start, self.lag_months).isoformat()
        return {k: v for k, v in out.items() if v is not None}


class Plan:
    """The planted changes for one authority and window, and the multipliers simulators use."""

    def __init__(self, authority: AuthoritySpec, window: Window) -> None:
        self.authority = authority
        self.window = window
        codes = [loc.code for loc in authority.localities]
        self.codes = codes
        self.loc_prevention = codes.index(authority.roles["prevention"])
        self.loc_timeliness = codes.index(authority.roles["timeliness"])
        self.loc_divergence = codes.index(authority.roles["divergence"])
        self.loc_caseload = codes.index(authority.roles["caseload"])
        self.prevention_start = window.month_at(0.33)
        self.prevention_effect = add_months(self.prevention_start, PREVENTION_LAG_MONTHS)
        self.timeliness_start = window.month_at(0.37)
        self.divergence_start = window.month_at(0.52)
        self.caseload_start = window.month_at(0.62)

    # --- multipliers used by the simulators (vectorised over locality index and date) -------------

    def referral_multiplier(self, loc: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Multiplier on referral intensity (new and repeat): the prevention effect after its lag."""
        hit = (loc == self.loc_prevention) & (days >= to_np(self.prevention_effect))
        return np.where(hit, 1.0 + REFERRAL_EFFECT, 1.0)

    def rereferral_keep(self, loc: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Probability that a would-be re-referral happens (the divergence locality re-refers less)."""
        hit = (loc == self.loc_divergence) & (days >= to_np(self.divergence_start))
        return np.where(hit, REREFERRAL_KEEP, 1.0)

    def first_referral_topup(self, loc: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Extra first-time referrals in the divergence locality that keep its total volume flat."""
        q = MEAN_REREFERRAL_PROBABILITY
        factor = (1.0 - REREFERRAL_KEEP * q) / (1.0 - q)
        hit = (loc == self.loc_divergence) & (days >= to_np(self.divergence_start))
        return np.where(hit, factor, 1.0)

    def p_within_45(self, loc: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Chance an assessment for a referral on `days` is authorised within 45 working days."""
        spread = np.array([0.0, 0.012, -0.01, 0.006, -0.006, 0.01, -0.012, 0.0])
        p = P45_BASE + spread[loc % len(spread)]
        start = to_np(self.timeliness_start)
        months_in = (days - start).astype(np.int64) / 30.44
        progress = np.clip(months_in / TIMELINESS_RAMP_MONTHS, 0.0, 1.0)
        slow = P45_SLOW_BEFORE + (P45_SLOW_AFTER - P45_SLOW_BEFORE) * progress
        return np.where(loc == self.loc_timeliness, slow, p)

    def caseload_multiplier(self, loc: int, day: date) -> float:
        if loc != self.loc_caseload or day < self.caseload_start:
            return 1.0
        months_in = (day.year - self.caseload_start.year) * 12 + day.month - self.caseload_start.month + 1
        return 1.0 + CASELOAD_EFFECT * min(1.0, months_in / CASELOAD_RAMP_MONTHS)

    def family_support_multiplier(self, loc: int | None, month: date) -> float:
        if loc == self.loc_prevention and month >= self.prevention_start:
            return 1.0 + FAMILY_SUPPORT_UPLIFT
        return 1.0

    def safety_divergence(self, loc: np.ndarray, days: np.ndarray) -> np.ndarray:
        """True for family readings in the divergence locality on or after its start date."""
        return (loc == self.loc_divergence) & (days >= to_np(self.divergence_start))

    # --- ground truth ------------------------------------------------------------------------------

    def changes(self, prevention_share_effect: float, family_effect: float) -> list[PlantedChange]:
        """The planted changes. The two effects that depend on the simulated budgets and family
        model are passed in (computed from the model's expected values, see synthetic.py)."""
        la = self.authority.la_code
        name = {loc.code: loc.name for loc in self.authority.localities}
        prev, time_, div, case = (
            self.codes[i]
            for i in (self.loc_prevention, self.loc_timeliness, self.loc_divergence, self.loc_caseload)
        )
        return [
            PlantedChange(
                id="prevention_investment_spend",
                indicator="prevention_spend_share",
                area=la,
                start=self.prevention_start,
                lag_months=0,
                effect=round(prevention_share_effect, 3),
                direction="increase",
                valence="better",
                group="prevention_investment",
                locality=prev,
                description=f"Family support (Section 251 3.4.x) spend in {name[prev]} rises by "
                f"{FAMILY_SUPPORT_UPLIFT:.0%} from this month, lifting the authority's "
                "prevention share of spend.",
            ),
            PlantedChange(
                id="prevention_investment_referrals",
                indicator="referral_rate",
                area=prev,
                start=self.prevention_start,
                lag_months=PREVENTION_LAG_MONTHS,
                effect=REFERRAL_EFFECT,
                direction="decrease",
                valence="better",
                group="prevention_investment",
                description=f"Six months after the family support investment, referrals in {name[prev]} "
                f"(first-time and repeat) fall by {-REFERRAL_EFFECT:.0%} (a step change).",
            ),
            PlantedChange(
                id="timeliness_improvement",
                indicator="assessments_within_45_days",
                area=time_,
                start=self.timeliness_start,
                lag_months=0,
                effect=round(P45_SLOW_AFTER / P45_SLOW_BEFORE - 1.0, 3),
                direction="increase",
                valence="better",
                ramp_months=TIMELINESS_RAMP_MONTHS,
                description=f"{name[time_]}'s front door, the slowest in the authority, improves: the share "
                f"of assessments within 45 working days rises from about {P45_SLOW_BEFORE:.0%} "
                f"to {P45_SLOW_AFTER:.0%} over {TIMELINESS_RAMP_MONTHS} months, by referral date "
                "(authorisations follow a few weeks later).",
            ),
            PlantedChange(
                id="divergence_rereferrals",
                indicator="rereferral_rate_12m",
                area=div,
                start=self.divergence_start,
                lag_months=0,
                effect=round(REREFERRAL_KEEP - 1.0, 3),
                direction="decrease",
                valence="better",
                group="safety_divergence",
                description=f"In {name[div]} a quarter of would-be re-referrals stop happening (cases "
                "are held or stepped down rather than re-referred); first-time referrals are "
                "topped up so the total referral volume stays flat.",
            ),
            PlantedChange(
                id="divergence_family_safety",
                indicator="families_reliable_improvement_pct",
                area=div,
                start=self.divergence_start,
                lag_months=0,
                effect=round(family_effect, 3),
                direction="decrease",
                valence="worse",
                group="safety_divergence",
                description=f"At the same time families in {name[div]} say they feel less safe: Family Star "
                "Plus keeping_children_safe drops and stops improving, other areas improve more "
                "slowly, and parents' signs_of_safety ratings fall by about "
                f"{-SOS_PARENT_SHIFT:.1f} points while workers' ratings do not, so parents now rate "
                "safety below their workers. Fewer families show reliable improvement.",
            ),
            PlantedChange(
                id="caseload_pressure",
                indicator="average_caseload_per_fte",
                area=case,
                start=self.caseload_start,
                lag_months=0,
                effect=CASELOAD_EFFECT,
                direction="increase",
                valence="worse",
                ramp_months=CASELOAD_RAMP_MONTHS,
                description=f"Caseloads of social workers and senior practitioners in {name[case]} rise by "
                f"{CASELOAD_EFFECT:.0%} over {CASELOAD_RAMP_MONTHS} months and stay high.",
            ),
        ]

    def knock_on(self) -> list[dict[str, str]]:
        """Indicator/area pairs moved indirectly (diluted into the authority total)."""
        la = self.authority.la_code
        return [
            {"indicator": ind, "area": la, "because": cause}
            for ind, cause in (
                ("referral_rate", "prevention_investment_referrals"),
                ("rereferral_rate_12m", "divergence_rereferrals"),
                ("assessments_within_45_days", "timeliness_improvement"),
                ("average_caseload_per_fte", "caseload_pressure"),
                ("families_reliable_improvement_pct", "divergence_family_safety"),
            )
        ]

    def family_vs_service(self) -> list[dict[str, object]]:
        """What the published `family_vs_service` table should say about the planted divergence: in the
        divergence locality families report feeling less safe while re-referrals (a service measure
        claiming the safety theme) fall."""
        div = self.codes[self.loc_divergence]
        return [{
            "id": "safety_divergence",
            "theme": "safety",
            "area": div,
            "from": self.divergence_start.isoformat(),
            "family_measure": "family_safety_improved_pct",
            "family_direction": "worsening",
            "service_measure": "rereferral_rate_12m",
            "service_direction": "improving",
            "agreement": "families worse while services improve",
            "because": ["divergence_family_safety", "divergence_rereferrals"],
            "note": "Directions are judged against each measure's own baseline (its previous three "
            "reporting years), so the label shows in the first reporting years after the change; once "
            "the baseline itself holds post-change years it settles.",
        }]

    def non_changes(self) -> list[dict[str, str]]:
        """Indicator/area pairs where nothing was planted, directly or indirectly."""
        touched = {(c.indicator, c.area) for c in self.changes(0.0, 0.0)}
        touched |= {(k["indicator"], k["area"]) for k in self.knock_on()}
        areas = [self.authority.la_code, *self.codes]
        out = []
        for indicator in INDICATORS:
            for area in areas:
                if indicator in AUTHORITY_ONLY and area != self.authority.la_code:
                    continue
                if (indicator, area) not in touched:
                    out.append({"indicator": indicator, "area": area})
        return out
