"""Monthly finance ledger lines on Section 251-style lines.

Budgets are set per child per year (children looked after the largest, then safeguarding social
work, then family support) and grow with cost inflation, faster for care placements. Monthly amounts
wobble around a twelfth of the budget, with the year-end bulge in March and accrual reversals in
April. Family support, under-5s, youth and social work cost centres belong to a locality; care,
commissioning and disabled children's short breaks are authority-wide (no locality). Health
contributions to care costs arrive as quarterly credits (negative lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from oba_pipeline.generate.calendar import Window, month_starts
from oba_pipeline.generate.planted import FAMILY_SUPPORT_UPLIFT, Plan
from oba_pipeline.generate.scales import AuthoritySpec

COLUMNS = ("period_month", "cost_centre", "locality", "s251_line", "s251_description", "amount_gbp")


DESCRIPTIONS = {
    "3.0.1": "Sure Start children's centres and other spend on children under 5",
    "3.1.1": "Residential care",
    "3.1.2": "Fostering services",
    "3.1.3": "Other children looked after services",
    "3.1.7": "Leaving care support services",
    "3.3.1": "Social work including child protection",
    "3.3.2": "Commissioning and children's services strategy",
    "3.3.3": "Local safeguarding children partnership",
    "3.4.1": "Short breaks for disabled children",
    "3.4.3": "Targeted family support",
    "3.4.4": "Universal family support",
    "3.5.1": "Universal services for young people",
    "3.5.2": "Targeted services for young people",
}


@dataclass(frozen=True)
class Line:
    prefix: str  # cost centre code (plus the locality letter when per locality)
    s251: str
    per_child: float  # GBP per child aged 0-17 per year at the window start
    per_locality: bool
    inflation: float  # yearly cost growth
    volatility: float  # month-to-month wobble (lognormal sigma)
    quarterly: bool = False  # posted once a quarter (credits)
    note: str = ""  # added to the line description

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.s251] + (f" ({self.note})" if self.note else "")

    @property
    def family_support(self) -> bool:
        return self.s251.startswith("3.4.") and self.per_locality


# fmt: off
# GBP per child a year at the window start: about GBP 1,070 a child in all, children looked after the
# largest block, prevention (3.0, 3.4, 3.5) about a fifth. Care placements inflate fastest.
LINES = (
    #    cost centre  line    GBP  per loc  infl.  vol.
    Line("SSC",    "3.0.1",  32,  True,  0.025, 0.05),
    Line("FST",    "3.4.3",  75,  True,  0.03,  0.05),
    Line("FSU",    "3.4.4",  18,  True,  0.03,  0.06),
    Line("YST",    "3.5.2",  16,  True,  0.025, 0.07),
    Line("SWK",    "3.3.1", 190,  True,  0.035, 0.04),
    Line("FSDIS",  "3.4.1",  24,  False, 0.03,  0.08),
    Line("YSUNI",  "3.5.1",   8,  False, 0.02,  0.08),
    Line("CLARES", "3.1.1", 230,  False, 0.045, 0.08),
    Line("CLAFOS", "3.1.2", 180,  False, 0.03,  0.05),
    Line("CLAOTH", "3.1.3",  45,  False, 0.04,  0.07),
    Line("CLAINC", "3.1.3", -12,  False, 0.03,  0.25, quarterly=True, note="health contributions"),
    Line("CLALVC", "3.1.7",  40,  False, 0.04,  0.07),
    Line("SGCOMM", "3.3.2",  30,  False, 0.03,  0.06),
    Line("SGLSCP", "3.3.3",   6,  False, 0.03,  0.10),
)
# fmt: on
MONTH_PROFILE = {3: 1.18, 4: 0.88}  # March year-end accruals, April reversals


def _suffix(code: str) -> str:
    """Cost-centre suffix from a locality code: "LOC-N" -> "N"."""
    return "".join(ch for ch in code.split("-")[-1].upper() if ch.isalnum())


def spend_frame(
    authority: AuthoritySpec, window: Window, plan: Plan, rng: np.random.Generator, many: bool = False
) -> pl.DataFrame:
    """The spend.csv rows; with several authorities pooled, cost centres start with the 3-digit code
    so that each authority's ledger lines stay distinct."""
    la = authority.la_code if many else ""
    rows: dict[str, list[str | None]] = {k: [] for k in COLUMNS}
    total_children = authority.children
    for month in month_starts(window.start, window.end):
        years_in = (month.year - window.start.year) + (month.month - window.start.month) / 12.0
        for line in LINES:
            targets: list[tuple[int | None, str, float]]
            if line.per_locality:
                targets = [(i, _suffix(loc.code), loc.children) for i, loc in enumerate(authority.localities)]
            else:
                targets = [(None, "", total_children)]
            for loc_index, suffix, children in targets:
                noise = rng.lognormal(0.0, line.volatility)  # drawn for every line so streams stay aligned
                if line.quarterly and month.month % 3 != 0:
                    continue
                amount = line.per_child * children / 12.0 * (1 + line.inflation) ** years_in
                amount *= (3.0 if line.quarterly else 1.0) * MONTH_PROFILE.get(month.month, 1.0) * noise
                if line.family_support:
                    amount *= plan.family_support_multiplier(loc_index, month)
                rows["period_month"].append(month.isoformat())
                rows["cost_centre"].append(f"{la}{line.prefix}{suffix}")
                rows["locality"].append(
                    authority.localities[loc_index].code if loc_index is not None else None
                )
                rows["s251_line"].append(line.s251)
                rows["s251_description"].append(line.description)
                rows["amount_gbp"].append(f"{amount:.2f}")
    return pl.DataFrame(rows, schema={k: pl.Utf8 for k in COLUMNS})


def expected_prevention_share_effect(authority: AuthoritySpec, plan: Plan, start: date) -> float:
    """Relative change in the authority's prevention share of spend caused by the planted uplift,
    from the noise-free budgets one year after the uplift starts."""
    years_in = (start.year - plan.window.start.year) + 1.0
    prevention = total = uplift = 0.0
    for line in LINES:
        children = authority.children
        amount = line.per_child * children * (1 + line.inflation) ** years_in
        total += amount
        if line.s251[:3] in ("3.0", "3.4", "3.5"):
            prevention += amount
        if line.family_support:
            loc = authority.localities[plan.loc_prevention]
            uplift += FAMILY_SUPPORT_UPLIFT * line.per_child * loc.children * (1 + line.inflation) ** years_in
    before = prevention / total
    after = (prevention + uplift) / (total + uplift)
    return after / before - 1.0
