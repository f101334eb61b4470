"""Referrals and episodes of need: a child-level simulation in the shape of the CIN census.

Model, in brief:

* First-time referrals arrive as a Poisson process per locality and day. The intensity follows the
  locality's population and need, the school-year rhythm (see calendar.py) and planted changes.
* Each referral runs through the front door: a few end in no further action (NFA); the rest are
  assessed (authorised within 45 working days for most) and follow one pathway: not in need, a
  child-in-need plan, a child protection plan, a plan then care, or care directly. Dates, plan
  categories and closure reasons follow from the pathway and the child's age.
* When an episode closes, the same child may be referred again (a "chain"): this is where
  re-referrals come from, so the re-referral rate and repeat child protection plans emerge from
  children's histories rather than being stamped on rows.
* The simulation starts years before the window so that long care episodes open at the window start
  exist, and everything is vectorised by "generation" (all first referrals, then all second
  referrals, ...) so an authority takes well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from oba_pipeline.generate.calendar import (
    DAY,
    NAT,
    Window,
    add_working_days,
    daily_referral_weights,
    fy_start_years,
    iso,
    school_term_factor,
    to_np,
)
from oba_pipeline.generate.planted import MEAN_REREFERRAL_PROBABILITY, Plan
from oba_pipeline.generate.scales import AuthoritySpec

COLUMNS = (
    "referral_id",
    "child_id",
    "date_of_birth",
    "sex",
    "ethnicity",
    "locality",
    "referral_date",
    "referral_source",
    "primary_need_code",
    "referral_nfa",
    "assessment_start_date",
    "assessment_authorised_date",
    "s47_start_date",
    "cpp_start_date",
    "cpp_end_date",
    "cpp_category",
    "cpp_previous_plans",
    "cla_start_date",
    "cla_end_date",
    "closure_date",
    "closure_reason",
)

# Referrals per 10,000 children a year for an authority of average need (England 2025: ~520).
BASE_RATE = 525.0

# Pathways after the front door.
NFA, NOT_IN_NEED, CIN_PLAN, CPP, CPP_THEN_CARE, CARE = range(6)
P_NFA = 0.065
# Shares among assessed referrals before the age adjustment (CIN plan takes the remainder).
P_NOT_IN_NEED = 0.31
P_CPP = 0.088
P_CPP_THEN_CARE = 0.016
P_CARE = 0.034
# Age adjustment to protection and care: babies and very young children are far more likely to be
# placed on a plan or taken into care; older teenagers less so.
AGE_RISK = np.array(
    [1.9, 1.35, 1.3, 1.25, 1.2, 1.05, 1.0, 1.0, 0.95, 0.95, 0.9, 0.85, 0.85, 0.85, 0.85, 0.8, 0.6, 0.45]
)
# Chance that a section 47 enquiry was held, by pathway (plans always follow an enquiry).
P_S47 = np.array([0.0, 0.20, 0.30, 1.0, 1.0, 0.5])
# Chance the child is referred again after the episode closes, by pathway.
Q_NEXT = np.array([0.44, 0.43, 0.36, 0.45, 0.15, 0.15])
# Age at first referral (single years 0-17): a peak for babies and a broad teenage hump.
AGE_WEIGHTS = np.array(
    [9.0, 4.3, 4.3, 4.4, 4.7, 5.0, 5.0, 5.0, 5.0, 5.0, 5.4, 5.9, 6.4, 6.9, 7.2, 7.0, 5.6, 3.6]
)

# fmt: off
# Referral sources with their shares in term time (schools refer far less in the holidays, see
# _sources, so over a year schools end near 20% and police near 29%).
SOURCE_TABLE = {
    "1A": 0.040, "1B": 0.020, "1C": 0.015, "1D": 0.010,  # individuals
    "2A": 0.230, "2B": 0.015,  # schools, education services
    "3A": 0.025, "3B": 0.030, "3C": 0.005, "3D": 0.015, "3E": 0.035, "3F": 0.040,  # health
    "4": 0.015,  # housing
    "5A": 0.050, "5B": 0.020, "5C": 0.015, "5D": 0.020,  # local authority services
    "6": 0.270, "7": 0.030, "8": 0.045, "9": 0.015, "10": 0.015,  # police, legal, other, anon, unknown
}
# fmt: on
SOURCES = np.array(list(SOURCE_TABLE))
SOURCE_SHARES = np.array(list(SOURCE_TABLE.values())) / sum(SOURCE_TABLE.values())
SCHOOL = SOURCES == "2A"

NEED_CODES = np.array(["N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"])
NEED_GENERAL = np.array([0.045, 0.47, 0.05, 0.03, 0.16, 0.11, 0.03, 0.005, 0.03, 0.07])
NEED_PROTECTION = np.array([0.01, 0.80, 0.02, 0.02, 0.08, 0.03, 0.005, 0.0, 0.035, 0.0])
NEED_PROTECTION = NEED_PROTECTION / NEED_PROTECTION.sum()

CPP_CATEGORIES = np.array(["NEG", "EMO", "PHY", "SAB", "MUL"])
CPP_CATEGORY_SHARES = np.array([0.50, 0.37, 0.07, 0.04, 0.02])

# fmt: off
# DfE ethnicity codes with two mixes (per cent) blended by each locality's diversity: a largely
# White British area and a diverse town.
ETHNIC_TABLE = {
    #       low   high
    "WBRI": (84.0, 50.0), "WIRI": (0.4, 0.5), "WIRT": (0.3, 0.3), "WOTH": (3.5, 8.0), "WROM": (0.6, 1.2),
    "MWBC": (2.2, 3.5), "MWBA": (0.4, 1.2), "MWAS": (0.8, 1.4), "MOTH": (1.5, 3.5), "AIND": (0.6, 3.0),
    "APKN": (0.6, 6.0), "ABAN": (0.2, 2.0), "AOTH": (0.4, 2.5), "BCRB": (0.4, 1.8), "BAFR": (0.6, 6.0),
    "BOTH": (0.3, 1.2), "CHNE": (0.1, 0.3), "OOTH": (0.6, 2.6), "REFU": (1.2, 2.5), "NOBT": (0.3, 1.5),
}
# fmt: on
ETHNICITIES = np.array(list(ETHNIC_TABLE))
ETHNIC_LOW = np.array([low for low, _ in ETHNIC_TABLE.values()])
ETHNIC_HIGH = np.array([high for _, high in ETHNIC_TABLE.values()])
P_ETHNICITY_MISSING = 0.03

YEAR = 365.25


@dataclass
class Referrals:
    """All simulated referrals of one authority (including those never written), as columns."""

    chain: np.ndarray  # which child (index into the chain arrays)
    loc: np.ndarray
    ref: np.ndarray
    source: np.ndarray
    path: np.ndarray
    need: np.ndarray  # "" when not recorded
    a_start: np.ndarray
    a_auth: np.ndarray
    s47: np.ndarray
    cpp_start: np.ndarray
    cpp_end: np.ndarray
    cpp_cat: np.ndarray
    prev_plans: np.ndarray  # -1 when there is no plan
    cla_start: np.ndarray
    cla_end: np.ndarray
    closure: np.ndarray
    reason: np.ndarray
    # per chain (child)
    dob: np.ndarray
    sex: np.ndarray
    ethnicity: np.ndarray

    def take(self, index: np.ndarray) -> Referrals:
        per_row = {
            k: getattr(self, k)[index]
            for k in self.__dataclass_fields__
            if k not in ("dob", "sex", "ethnicity")
        }
        return Referrals(**per_row, dob=self.dob, sex=self.sex, ethnicity=self.ethnicity)

    def __len__(self) -> int:
        return len(self.ref)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows x categories) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _days(x: np.ndarray | float) -> np.ndarray:
    """Whole days as timedelta64 (rounded), for date arithmetic."""
    return np.round(np.asarray(x)).astype(np.int64) * DAY


def _sources(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Referral sources; schools refer far less when schools are shut."""
    school = SOURCE_SHARES[SCHOOL].sum() * school_term_factor(days)
    other = 1.0 - SOURCE_SHARES[SCHOOL].sum()
    is_school = rng.random(len(days)) < school / (school + other)
    others = SOURCE_SHARES * ~SCHOOL
    picked = rng.choice(len(SOURCES), size=len(days), p=others / others.sum())
    return np.where(is_school, "2A", SOURCES[picked])


def _close_reason(rng: np.random.Generator, codes: list[str], probs: list[float], n: int) -> np.ndarray:
    return np.array(codes)[rng.choice(len(codes), size=n, p=np.array(probs) / sum(probs))]


def _episodes(
    rng: np.random.Generator, plan: Plan, hols: np.ndarray, loc: np.ndarray, ref: np.ndarray, dob: np.ndarray
) -> dict[str, np.ndarray]:
    """What happens after each referral in a batch (vectorised)."""
    n = len(ref)
    age_days = (ref - dob).astype(np.int64)
    age = np.clip((age_days / YEAR).astype(np.int64), 0, 17)
    turns18 = dob + _days(18 * YEAR)

    # Pathway: NFA first, then an age-adjusted choice among the assessed.
    risk = AGE_RISK[age]
    probs = np.column_stack(
        [
            np.zeros(n),
            np.full(n, P_NOT_IN_NEED),
            np.zeros(n),
            P_CPP * risk,
            P_CPP_THEN_CARE * risk,
            P_CARE * risk,
        ]
    )
    probs[:, CIN_PLAN] = 1.0 - probs.sum(axis=1)
    path = _categorical(rng, probs)
    path[rng.random(n) < P_NFA] = NFA
    assessed = path != NFA

    # Single assessment: starts within a few working days; authorised within 45 working days for
    # most (the planted timeliness change moves this share), later for the rest.
    start_wd = rng.choice([0, 1, 2, 3, 5, 8], size=n, p=[0.35, 0.25, 0.15, 0.1, 0.1, 0.05])
    on_time = rng.random(n) < plan.p_within_45(loc, ref)
    wd_on_time = 8 + np.floor(38 * rng.beta(2.4, 1.15, size=n)).astype(np.int64)
    wd_late = 46 + np.floor(rng.exponential(20.0, size=n)).astype(np.int64)
    auth_wd = np.where(on_time, np.minimum(wd_on_time, 45), np.minimum(wd_late, 220))
    auth_wd = np.maximum(auth_wd, start_wd + 2)
    a_start = np.where(assessed, add_working_days(ref, start_wd, hols), NAT)
    a_auth = np.where(assessed, add_working_days(ref, auth_wd, hols), NAT)

    # Section 47 enquiry.
    has_s47 = assessed & (rng.random(n) < P_S47[path])
    s47_wd = rng.choice([0, 1, 2, 3, 5, 10], size=n, p=[0.3, 0.25, 0.15, 0.1, 0.12, 0.08])
    s47 = np.where(has_s47, add_working_days(ref, s47_wd, hols), NAT)

    # Child protection plan: initial conference within about 15 working days of the enquiry.
    on_plan = (path == CPP) | (path == CPP_THEN_CARE)
    cpp_start = np.where(on_plan, add_working_days(s47, rng.integers(8, 19, size=n), hols), NAT)
    plan_days = np.clip(rng.lognormal(np.log(265.0), 0.55, size=n), 20, 2000)
    cpp_end = np.where(on_plan, cpp_start + _days(plan_days), NAT)
    cpp_cat = np.where(on_plan, CPP_CATEGORIES[rng.choice(5, size=n, p=CPP_CATEGORY_SHARES)], "")

    # Care: after a plan (the plan ends the day care starts) or directly, often in an emergency.
    to_care_days = rng.uniform(7, np.minimum(plan_days, 300))
    direct_days = np.where(rng.random(n) < 0.35, rng.integers(0, 4, size=n), rng.integers(7, 91, size=n))
    cla_start = np.where(
        path == CPP_THEN_CARE,
        cpp_start + _days(to_care_days),
        np.where(path == CARE, ref + _days(direct_days), NAT),
    )
    cpp_end = np.where(path == CPP_THEN_CARE, cla_start, cpp_end)
    # Plans and care are for children: a 17-year-old whose plan or care would start after their
    # 18th birthday stays a child in need instead.
    too_old = (cpp_start >= turns18) | (cla_start >= turns18)
    path = np.where(too_old, CIN_PLAN, path)
    for arr in (cpp_start, cpp_end, cla_start):
        arr[too_old] = NAT
    cpp_cat = np.where(too_old, "", cpp_cat)
    care_median = np.where(age < 1, 2.0, np.where(age < 10, 1.9, 2.3)) * YEAR
    care_days = np.clip(rng.lognormal(np.log(care_median), 1.0), 10, 20 * YEAR)
    cla_end = cla_start + _days(care_days)
    aged_out = cla_end >= turns18
    cla_end = np.where(aged_out, turns18, cla_end)
    cpp_end = np.where(cpp_end > turns18, turns18, cpp_end)

    # Closure and its reason, by pathway.
    closure = np.full(n, NAT)
    reason = np.full(n, "", dtype="<U3")
    closure[path == NFA] = ref[path == NFA]
    reason[path == NFA] = "RC8"

    m = path == NOT_IN_NEED
    closure[m] = a_auth[m] + _days(rng.integers(0, 7, size=m.sum()))
    reason[m] = _close_reason(rng, ["RC8", "RC9"], [0.64, 0.36], m.sum())

    general = ["RC7", "RC9", "RC5", "RC3", "RC4", "RC2"]
    m = path == CIN_PLAN
    closure[m] = a_auth[m] + _days(rng.lognormal(np.log(150.0), 0.75, size=m.sum()))
    reason[m] = _close_reason(rng, general, [0.80, 0.07, 0.07, 0.03, 0.02, 0.002], m.sum())

    m = path == CPP
    closure[m] = cpp_end[m] + _days(rng.lognormal(np.log(95.0), 0.6, size=m.sum()))
    reason[m] = _close_reason(rng, general, [0.83, 0.05, 0.06, 0.035, 0.02, 0.002], m.sum())

    m = (path == CPP_THEN_CARE) | (path == CARE)
    closure[m] = cla_end[m] + _days(rng.integers(0, 22, size=m.sum()))
    young = m & (age < 5) & ~aged_out
    older = m & (age >= 5) & ~aged_out
    out18 = m & aged_out
    reason[young] = _close_reason(
        rng, ["RC1", "RC4", "RC3", "RC7", "RC5"], [0.35, 0.25, 0.07, 0.28, 0.05], young.sum()
    )
    reason[older] = _close_reason(
        rng, ["RC7", "RC4", "RC3", "RC5", "RC1"], [0.62, 0.16, 0.10, 0.10, 0.02], older.sum()
    )
    reason[out18] = _close_reason(rng, ["RC7", "RC6"], [0.85, 0.15], out18.sum())

    # Nothing closes before the work it records, and episodes end at 18.
    stack = np.stack([closure, a_auth, s47, cpp_end, cla_end])
    latest = np.where(np.isnat(stack), np.datetime64("1900-01-01", "D"), stack).max(axis=0)
    closure = np.maximum(closure, latest)
    over = closure > turns18
    closure = np.where(over, np.maximum(turns18, ref), closure)
    reason = np.where(
        over & (path != NFA) & ~np.isin(reason, ["RC1", "RC2"]),
        np.where(rng.random(n) < 0.15, "RC6", "RC7"),
        reason,
    )

    # Primary need: recorded for assessed referrals, only sometimes for NFA ones.
    protective = path >= CPP
    need_idx = np.where(
        protective, rng.choice(10, size=n, p=NEED_PROTECTION), rng.choice(10, size=n, p=NEED_GENERAL)
    )
    need = NEED_CODES[need_idx]
    need = np.where((path == NFA) & (rng.random(n) < 0.8), "", need)

    return {
        "path": path,
        "need": need,
        "a_start": a_start,
        "a_auth": a_auth,
        "s47": s47,
        "cpp_start": cpp_start,
        "cpp_end": cpp_end,
        "cpp_cat": cpp_cat,
        "cla_start": cla_start,
        "cla_end": cla_end,
        "closure": closure,
        "reason": reason,
    }


def simulate_referrals(
    authority: AuthoritySpec,
    window: Window,
    plan: Plan,
    pop_years: np.ndarray,
    pop: np.ndarray,
    hols: np.ndarray,
    rng: np.random.Generator,
) -> Referrals:
    """Simulate every referral in the authority from `window.sim_start` to `window.end`."""
    days = np.arange(to_np(window.sim_start), to_np(window.end) + DAY, DAY)
    n_loc = len(authority.localities)
    year_index = np.clip(fy_start_years(days) - pop_years[0], 0, len(pop_years) - 1)
    need = np.array([loc.need for loc in authority.localities])
    need = need / np.average(need, weights=pop[:, 0])  # the authority as a whole averages BASE_RATE
    weights = daily_referral_weights(days, hols)
    loc_grid = np.repeat(np.arange(n_loc)[:, None], len(days), axis=1)
    day_grid = np.broadcast_to(days, loc_grid.shape)
    intensity = (
        pop[:, year_index]
        / 10_000.0
        * BASE_RATE
        / YEAR
        * need[:, None]
        * weights[None, :]
        * (1.0 - MEAN_REREFERRAL_PROBABILITY)
        * plan.referral_multiplier(loc_grid, day_grid)
        * plan.first_referral_topup(loc_grid, day_grid)
    )
    counts = rng.poisson(intensity)
    chain_loc = np.repeat(loc_grid.ravel(), counts.ravel())
    first_ref = np.repeat(day_grid.ravel(), counts.ravel())
    order = np.lexsort((chain_loc, first_ref))  # chains numbered by first referral date
    chain_loc, first_ref = chain_loc[order], first_ref[order]
    n_chain = len(first_ref)

    # The children.
    age = rng.choice(18, size=n_chain, p=AGE_WEIGHTS / AGE_WEIGHTS.sum())
    within = np.where(
        age == 0, np.minimum(rng.exponential(95.0, size=n_chain), 364.0), rng.uniform(0, 364.0, size=n_chain)
    )
    dob = first_ref - _days(age * YEAR + within)
    sex = np.array(["M", "F", "U"])[rng.choice(3, size=n_chain, p=[0.515, 0.478, 0.007])]
    diversity = np.array([loc.diversity for loc in authority.localities])[chain_loc]
    eth_probs = (1 - diversity)[:, None] * (ETHNIC_LOW / ETHNIC_LOW.sum()) + diversity[:, None] * (
        ETHNIC_HIGH / ETHNIC_HIGH.sum()
    )
    ethnicity = ETHNICITIES[_categorical(rng, eth_probs)]
    ethnicity = np.where(rng.random(n_chain) < P_ETHNICITY_MISSING, "", ethnicity)
    # Some children arrive having been on plans elsewhere (moved from another authority).
    prior_elsewhere = np.where(rng.random(n_chain) < 0.20, 1 + rng.poisson(0.3, size=n_chain), 0)
    turns18 = dob + _days(18 * YEAR)
    plans_so_far = np.zeros(n_chain, dtype=np.int64)

    batches: list[dict[str, np.ndarray]] = []
    chain = np.arange(n_chain)
    ref = first_ref
    end = to_np(window.end)
    while len(chain):
        loc = chain_loc[chain]
        ep = _episodes(rng, plan, hols, loc, ref, dob[chain])
        on_plan = ~np.isnat(ep["cpp_start"])
        ep["prev_plans"] = np.where(on_plan, plans_so_far[chain] + prior_elsewhere[chain], -1)
        plans_so_far[chain] += on_plan
        ep["chain"], ep["loc"], ep["ref"] = chain, loc, ref
        ep["source"] = _sources(rng, ref)
        batches.append(ep)

        # The next referral of the same child, if any: usually within months of closure, sometimes
        # years later (those do not count as re-referrals within 12 months).
        n = len(chain)
        again = rng.random(n) < Q_NEXT[ep["path"]]
        soon = rng.random(n) < 0.80
        gap = np.where(soon, 1 + rng.exponential(75.0, size=n), rng.uniform(330, 1500, size=n))
        nxt = ep["closure"] + _days(gap)
        keep = again & (nxt <= end) & (nxt < turns18[chain])
        # Planted changes: the referral multiplier applies to a repeat referral only as far as it
        # changed since the previous referral (a child referred after the change already belongs to
        # the smaller flow), which makes the prevention effect a clean step; the divergence locality
        # loses a share of all repeat referrals after its date.
        ratio = plan.referral_multiplier(loc, nxt) / plan.referral_multiplier(loc, ref)
        keep &= rng.random(n) < np.minimum(ratio, 1.0) * plan.rereferral_keep(loc, nxt)
        chain, ref = chain[keep], nxt[keep]

    cols = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    return Referrals(**cols, dob=dob, sex=sex, ethnicity=ethnicity)


def written(refs: Referrals, window: Window) -> Referrals:
    """The referrals an extract on `window.end` holds: every episode open on or after the look-back
    start (12 months before the window), sorted by referral date."""
    keep = (refs.closure >= to_np(window.lookback_start)) & (refs.ref <= to_np(window.end))
    index = np.flatnonzero(keep)
    index = index[np.lexsort((refs.chain[index], refs.ref[index]))]
    return refs.take(index)


def child_ids(refs: Referrals, prefix: str = "C") -> tuple[np.ndarray, dict[int, str]]:
    """Child ids numbered by each child's first written referral."""
    _, first = np.unique(refs.chain, return_index=True)
    ordered_chains = refs.chain[np.sort(first)]
    mapping = {int(c): f"{prefix}{i + 1:07d}" for i, c in enumerate(ordered_chains)}
    return np.array([mapping[int(c)] for c in refs.chain]), mapping


def referral_frame(
    refs: Referrals, authority: AuthoritySpec, window: Window, ids: np.ndarray, id_prefix: str = "RF"
) -> pl.DataFrame:
    """The referrals.csv rows (strings, contract order) as an extract on `window.end` shows them:
    anything dated after the extract date is not known yet and is blank."""
    end = to_np(window.end)

    def known(d: np.ndarray) -> np.ndarray:
        return np.where(d <= end, d, NAT)

    codes = np.array([loc.code for loc in authority.localities])
    cpp_known = refs.cpp_start <= end
    closure = known(refs.closure)
    data = {
        "referral_id": [f"{id_prefix}{i + 1:07d}" for i in range(len(refs))],
        "child_id": ids.tolist(),
        "date_of_birth": iso(refs.dob[refs.chain]),
        "sex": refs.sex[refs.chain].tolist(),
        "ethnicity": [e or None for e in refs.ethnicity[refs.chain].tolist()],
        "locality": codes[refs.loc].tolist(),
        "referral_date": iso(refs.ref),
        "referral_source": refs.source.tolist(),
        "primary_need_code": [
            e or None for e in np.where((refs.path == NFA) | (refs.a_start <= end), refs.need, "").tolist()
        ],
        "referral_nfa": np.where(refs.path == NFA, "Y", "N").tolist(),
        "assessment_start_date": iso(known(refs.a_start)),
        "assessment_authorised_date": iso(known(refs.a_auth)),
        "s47_start_date": iso(known(refs.s47)),
        "cpp_start_date": iso(known(refs.cpp_start)),
        "cpp_end_date": iso(known(refs.cpp_end)),
        "cpp_category": [c or None for c in np.where(cpp_known, refs.cpp_cat, "").tolist()],
        "cpp_previous_plans": [
            str(p) if k else None for p, k in zip(refs.prev_plans.tolist(), cpp_known.tolist(), strict=True)
        ],
        "cla_start_date": iso(known(refs.cla_start)),
        "cla_end_date": iso(known(refs.cla_end)),
        "closure_date": iso(closure),
        "closure_reason": [r or None for r in np.where(~np.isnat(closure), refs.reason, "").tolist()],
    }
    return pl.DataFrame(data, schema={k: pl.Utf8 for k in COLUMNS})
