"""Sizes of synthetic data set ("scales") and the fictional authorities they contain.

A scale says how many authorities to simulate, how big each one is, how many reporting years of
data to write and how much family-outcome data to produce. The generator works one authority at a
time and appends each authority's rows to the output files, so the "regional" and "national" scales
are only `authorities` factories yielding many invented `AuthoritySpec`s: memory stays bounded by
the largest single authority, not by the whole country.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np

# The roles a locality can play in the planted changes (see planted.py). Every authority assigns each
# role to one of its localities; a locality may hold several roles when there are few localities.
ROLES = ("prevention", "timeliness", "divergence", "caseload")


@dataclass(frozen=True)
class LocalitySpec:
    """One locality of a fictional authority."""

    code: str
    name: str
    children: int  # children aged 0-17 at the mid-year of the first reporting year in the window
    growth: float  # yearly population growth, e.g. 0.004 for +0.4% a year
    need: float  # relative propensity to be referred (deprivation); the authority averages about 1
    diversity: float  # 0 = mostly White British, 1 = much more ethnically mixed than average


@dataclass(frozen=True)
class AuthoritySpec:
    """A fictional local authority: its DfE-style 3-digit code, name, localities and planted roles."""

    la_code: str
    la_name: str
    localities: tuple[LocalitySpec, ...]
    roles: dict[str, str]  # role -> locality code

    def __post_init__(self) -> None:
        codes = {loc.code for loc in self.localities}
        missing = [r for r in ROLES if self.roles.get(r) not in codes]
        if missing:
            raise ValueError(f"{self.la_name}: roles without a valid locality: {missing}")

    @property
    def children(self) -> int:
        return sum(loc.children for loc in self.localities)


@dataclass(frozen=True)
class Scale:
    """How much data to generate.

    `authorities` is a factory (not a list) so that large scales can describe hundreds of
    authorities lazily; it receives the seed so procedurally invented authorities stay deterministic.
    """

    name: str
    authorities: Callable[[int], Iterator[AuthoritySpec]]
    window_years: int  # full April-March reporting years before the one containing end_date
    burn_in_years: int = 2  # simulated (and partly written) before the window starts
    history_years: int = 16  # extra quiet history so long care episodes are in steady state
    early_help_per_10k: float = 20.0  # early-help families with outcome readings, per 10k children a year
    statutory_outcome_share: float = 1.0  # scales how many social-care families use outcome tools
    mess_rate: float = 0.0004  # deliberately bad rows per data row, per kind of mess
    # Realised figures in the ground truth (and the counterfactual family-outcome twin they need).
    # Worth it for one authority that tests score against; at national scale it would double the work.
    detailed_truth: bool = True
    description: str = ""
    notes: dict[str, str] = field(default_factory=dict)


def _northwold_sample(seed: int) -> Iterator[AuthoritySpec]:
    # Population shares and need indices chosen so the authority averages need ~1.0, with one
    # deprived urban core (Central), a comfortable rural west and a growing new-build south.
    yield AuthoritySpec(
        la_code="999",
        la_name="Northwold",
        localities=(
            LocalitySpec("LOC-N", "Northwold North", 9_600, 0.002, 0.92, 0.15),
            LocalitySpec("LOC-S", "Northwold South", 10_400, 0.007, 1.05, 0.35),
            LocalitySpec("LOC-E", "Northwold East", 10_900, 0.003, 1.10, 0.45),
            LocalitySpec("LOC-W", "Northwold West", 8_700, 0.001, 0.80, 0.10),
            LocalitySpec("LOC-C", "Northwold Central", 10_800, 0.005, 1.12, 0.90),
        ),
        roles={"prevention": "LOC-E", "timeliness": "LOC-W", "divergence": "LOC-S", "caseload": "LOC-C"},
    )


def _northwold_tiny(seed: int) -> Iterator[AuthoritySpec]:
    yield AuthoritySpec(
        la_code="999",
        la_name="Northwold",
        localities=(
            LocalitySpec("LOC-N", "Northwold North", 4_800, 0.003, 1.02, 0.30),
            LocalitySpec("LOC-S", "Northwold South", 3_300, 0.005, 0.97, 0.40),
        ),
        roles={"prevention": "LOC-N", "caseload": "LOC-N", "timeliness": "LOC-S", "divergence": "LOC-S"},
    )


# Word parts for invented authority names: no real place is meant.
_NAME_STARTS = ("Ash", "Bram", "Calder", "Dun", "Elm", "Fen", "Gran", "Hol", "Ivy", "Kel", "Lark", "Mar",
                "Nor", "Oak", "Pen", "Quarr", "Rid", "Stan", "Thorn", "Wil")
_NAME_ENDS = ("bury", "combe", "dale", "field", "ford", "ham", "hurst", "ley", "mere", "minster", "mouth",
              "stead", "ton", "wick")
_DIRECTIONS = ("North", "South", "East", "West", "Central", "Valley", "Coast", "Rural")


def invented_authorities(seed: int, count: int, children: int) -> Iterator[AuthoritySpec]:
    """`count` fictional authorities with codes 001.. (no real DfE code is below 201) whose children
    add up to about `children`: sizes spread like English authorities' (a few large counties, many
    mid-sized boroughs), 3 to 6 localities each. Deterministic for the seed."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(count, 153_001)))
    sizes = rng.lognormal(0.0, 0.55, size=count)
    sizes = np.maximum(np.round(sizes / sizes.sum() * children), 6_000).astype(np.int64)
    names = [a + b for a in _NAME_STARTS for b in _NAME_ENDS]
    picked = rng.permutation(len(names))[:count]
    for i in range(count):
        la_code = f"{i + 1:03d}"
        la_name = names[int(picked[i])]
        n_loc = int(rng.integers(3, 7))
        shares = rng.dirichlet(np.full(n_loc, 6.0))
        need = rng.lognormal(0.0, 0.2, size=n_loc)
        localities = tuple(
            LocalitySpec(
                code=f"L{la_code}{direction[0]}{k}",
                name=f"{la_name} {direction}",
                children=int(round(sizes[i] * shares[k])),
                growth=float(rng.uniform(0.0, 0.008)),
                need=float(need[k] / need.mean()),
                diversity=float(rng.uniform(0.05, 0.9)),
            )
            for k, direction in enumerate(_DIRECTIONS[:n_loc])
        )
        holders = rng.integers(0, n_loc, size=len(ROLES))
        yield AuthoritySpec(la_code=la_code, la_name=la_name, localities=localities,
                            roles={role: localities[int(h)].code for role, h in zip(ROLES, holders, strict=True)})


SCALES: dict[str, Scale] = {
    "sample": Scale(
        name="sample",
        authorities=_northwold_sample,
        window_years=7,
        description="One fictional authority (Northwold, 999), 5 localities, ~50,000 children, "
        "7 reporting years plus the part year to end_date.",
    ),
    "tiny": Scale(
        name="tiny",
        authorities=_northwold_tiny,
        window_years=3,
        history_years=14,
        description="Northwold with 2 localities and ~8,000 children, 3 reporting years plus part "
        "year: fast, for tests.",
    ),
    "regional": Scale(
        name="regional",
        authorities=partial(invented_authorities, count=30, children=2_400_000),
        window_years=8,
        detailed_truth=False,
        description="30 invented authorities (codes 001-030, about 2.4 million children, like a large "
        "English region), 8 reporting years plus the part year to end_date: about 1.3 million referrals.",
    ),
    "national": Scale(
        name="national",
        authorities=partial(invented_authorities, count=153, children=12_100_000),
        window_years=8,
        detailed_truth=False,
        description="153 invented authorities (codes 001-153, about 12.1 million children, England's "
        "size), 8 reporting years plus the part year and the year of look-back: about ten years and "
        "6.5 million referrals.",
    ),
}
