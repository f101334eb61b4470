"""Sizes of synthetic data set ("scales") and the fictional authorities they contain.

A scale says how many authorities to simulate, how big each one is, how many reporting years of
data to write and how much family-outcome data to produce. The generator works one authority at a
time and appends each authority's rows to the output files, so a future "regional" or "national"
scale only needs an `authorities` factory yielding many `AuthoritySpec`s: memory stays bounded by
the largest single authority, not by the whole country.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

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
    # "regional" and "national" would add factories yielding many authorities (invented names and
    # codes from the seed); the writer already streams one authority at a time.
}
