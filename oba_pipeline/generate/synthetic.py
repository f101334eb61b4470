"""Seeded, deterministic synthetic extracts for a fictional children's services partnership.

`generate(out_dir, seed=42, scale="sample")` writes the five local extracts the pipeline reads
(referrals, caseloads, spend, family_outcomes, population), in the exact column order and formats of
the data contracts, plus `ground_truth.yaml`: what was planted (dated changes and non-changes), which
rows are deliberately bad, and the realised headline rates.

Same seed and scale give byte-identical files. Randomness comes from numpy Generators seeded from
one SeedSequence per authority and component, so changing one simulator does not shift the random
numbers another one sees. Authorities are simulated and appended one at a time, which keeps memory
bounded for future multi-authority scales.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

import numpy as np
import polars as pl
import yaml

from oba_pipeline.generate import mess, outcomes, population, referrals, spend, summary, workforce
from oba_pipeline.generate.calendar import Window, england_bank_holidays, make_window
from oba_pipeline.generate.planted import Plan
from oba_pipeline.generate.scales import SCALES, AuthoritySpec, Scale

__all__ = ["DEFAULT_END_DATE", "FILES", "SCALES", "generate"]

GENERATOR_VERSION = 1
DEFAULT_END_DATE = date(2026, 10, 31)
# Output file name per source, in the order they are written.
FILES = {
    "referrals": "referrals.csv",
    "caseloads": "caseloads.csv",
    "spend": "spend.csv",
    "family_outcomes": "family_outcomes.csv",
    "population": "population.csv",
}
COLUMNS = {
    "referrals": referrals.COLUMNS,
    "caseloads": workforce.COLUMNS,
    "spend": spend.COLUMNS,
    "family_outcomes": outcomes.COLUMNS,
    "population": ("la_code", "la_name", "locality", "locality_name", "mid_year", "children_0_17"),
}
GROUND_TRUTH = "ground_truth.yaml"
POPULATION_YEARS_BEFORE = 3  # population.csv starts this many mid-years before the window


class _CsvWriter:
    """Appends frames to one CSV, writing the header once and counting data rows."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path = path
        self.columns = columns
        self.rows = 0
        self._fh: IO[bytes] = path.open("wb")
        self._fh.write((",".join(columns) + "\n").encode())

    def append(self, frame: pl.DataFrame) -> int:
        """Write the frame's rows; returns the file row number of its first row (header = row 1)."""
        if tuple(frame.columns) != self.columns:
            raise ValueError(f"{self.path.name}: columns {frame.columns} do not match {self.columns}")
        first = self.rows + 2
        frame.write_csv(self._fh, include_header=False, line_terminator="\n", null_value="")
        self.rows += frame.height
        return first

    def close(self) -> None:
        self._fh.close()


@dataclass
class _AuthorityResult:
    ground_truth: dict[str, object]
    bad_rows: list[dict[str, object]]


def _id_prefixes(authority: AuthoritySpec, many: bool) -> dict[str, str]:
    """Id prefixes; with several authorities the 3-digit code keeps ids unique across them."""
    la = authority.la_code if many else ""
    return {
        "child": f"C{la}",
        "referral": f"RF{la}",
        "worker": f"W{la}",
        "family": f"F{la}",
        "reading": f"RD{la}",
    }


def _simulate_authority(
    authority: AuthoritySpec,
    scale: Scale,
    window: Window,
    seed: int,
    many: bool,
    writers: dict[str, _CsvWriter],
) -> _AuthorityResult:
    root = np.random.SeedSequence(entropy=seed, spawn_key=(int(authority.la_code),))
    seq_pop, seq_ref, seq_work, seq_spend, seq_out, seq_mess = root.spawn(6)
    rng_pop, rng_ref, rng_work, rng_spend, rng_mess = (
        np.random.default_rng(s) for s in (seq_pop, seq_ref, seq_work, seq_spend, seq_mess)
    )
    plan = Plan(authority, window)
    prefixes = _id_prefixes(authority, many)
    hols = england_bank_holidays(window.sim_start.year - 1, window.end.year + 2)

    pop_years, pop = population.population_table(
        authority, window.start.year, window.sim_start.year - 1, window.end.year, rng_pop
    )
    pop_frame = population.population_frame(
        authority, pop_years, pop, window.start.year - POPULATION_YEARS_BEFORE, window.end.year
    )

    simulated = referrals.simulate_referrals(authority, window, plan, pop_years, pop, hols, rng_ref)
    extract = referrals.written(simulated, window)
    child_ids, _ = referrals.child_ids(extract, prefixes["child"])
    ref_frame = referrals.referral_frame(extract, authority, window, child_ids, prefixes["referral"])

    staff = workforce.simulate_workforce(authority, window, plan, rng_work, prefixes["worker"])
    ledger = spend.spend_frame(authority, window, plan, rng_spend)

    # Family outcomes, and a counterfactual twin without the safety divergence: both consume the same
    # random numbers, so comparing them gives the planted effect on exactly these families.
    out_frames = {}
    sims = {}
    for divergence in (True, False):
        sim = outcomes.OutcomeSimulator(
            authority, window, plan, staff, np.random.default_rng(seq_out), divergence=divergence
        )
        n_families = sim.statutory(extract, child_ids, scale)
        sim.early_help(pop_years, pop, scale, first_family=n_families + 1, first_child=9_000_001)
        out_frames[divergence] = sim.frame(prefixes["reading"])
        sims[divergence] = sim
    family_frame = out_frames[True]

    # Ground truth for this authority, from the clean frames.
    loc_codes = [loc.code for loc in authority.localities]
    typed_refs = summary.referral_table(ref_frame, hols)
    div_code = loc_codes[plan.loc_divergence]
    after = (plan.divergence_start, window.end)
    with_div = summary.reliable_improvement_pct(family_frame, *after, locality=div_code)
    without_div = summary.reliable_improvement_pct(out_frames[False], *after, locality=div_code)
    family_effect = with_div / without_div - 1.0 if without_div else 0.0
    share_effect = spend.expected_prevention_share_effect(authority, plan, plan.prevention_start)
    changes = [c.as_dict() for c in plan.changes(share_effect, family_effect)]
    realised = summary.realised_changes(
        changes,
        typed_refs,
        pop_frame,
        staff.frame,
        ledger,
        family_frame,
        window,
        loc_codes,
        authority.la_code,
    )
    for change in changes:
        change["realised"] = realised[str(change["id"])]
        if change["id"] == "divergence_family_safety":
            change["counterfactual"] = {
                "note": "the same families generated without the divergence (same random numbers)",
                "with_change_pct": round(with_div, 1),
                "without_change_pct": round(without_div, 1),
            }
    headline = summary.headline(typed_refs, pop_frame, staff.frame, ledger, family_frame, window)
    actual = sims[True]
    headline["family_star_families_missing_a_follow_up_pct"] = round(
        100 * actual.star_missed / max(1, actual.star_due), 1
    )

    # Spoil a few rows, write, and number the bad rows as they sit in the files.
    bad_rows: list[dict[str, object]] = []
    frames = {
        "referrals": ref_frame,
        "caseloads": staff.frame,
        "spend": ledger,
        "family_outcomes": family_frame,
        "population": pop_frame,
    }
    counts: dict[str, int] = {}
    for source, frame in frames.items():
        spoiled, records = mess.spoil(frame, source, scale.mess_rate, rng_mess)
        first_row = writers[source].append(spoiled)
        counts[source] = spoiled.height
        for rec in records:
            entry: dict[str, object] = {
                "file": FILES[source],
                "row": first_row + int(rec["index"]),
                "kind": rec["kind"],
                "column": rec["column"],
            }
            if rec.get("value") is not None:
                entry["value"] = rec["value"]
            if rec.get("was") is not None:
                entry["was"] = rec["was"]
            if "duplicate_of_index" in rec:
                entry["duplicate_of_row"] = first_row + int(rec["duplicate_of_index"])
            entry["note"] = rec["note"]
            bad_rows.append(entry)

    truth: dict[str, object] = {
        "la_code": authority.la_code,
        "la_name": authority.la_name,
        "localities": [{"code": loc.code, "name": loc.name} for loc in authority.localities],
        "roles": dict(authority.roles),
        "rows": counts,
        "planted_changes": changes,
        "knock_on_effects": plan.knock_on(),
        "family_vs_service": plan.family_vs_service(),
        "planted_non_changes": plan.non_changes(),
        "realised_headline_rates": headline,
    }
    return _AuthorityResult(truth, bad_rows)


def _resolve_scale(scale: str | Scale) -> Scale:
    if isinstance(scale, Scale):
        return scale
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}") from None


def generate(
    out_dir: Path, *, seed: int = 42, scale: str | Scale = "sample", end_date: date | None = None
) -> Path:
    """Write the synthetic extracts into `out_dir` and return the path of ground_truth.yaml.

    Deterministic: the same seed, scale and end date give byte-identical files.
    """
    chosen = _resolve_scale(scale)
    end = end_date or DEFAULT_END_DATE
    window = make_window(end, chosen.window_years, chosen.burn_in_years, chosen.history_years)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    authorities = list(chosen.authorities(seed))
    many = len(authorities) > 1
    writers = {source: _CsvWriter(out / name, COLUMNS[source]) for source, name in FILES.items()}
    results = []
    try:
        for authority in authorities:
            results.append(_simulate_authority(authority, chosen, window, seed, many, writers))
    finally:
        for writer in writers.values():
            writer.close()

    files = {}
    for source, name in FILES.items():
        data = (out / name).read_bytes()
        files[name] = {
            "source": source,
            "data_rows": writers[source].rows,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    bad_rows = [row for r in results for row in r.bad_rows]
    truth = {
        "generator": {
            "module": "oba_pipeline.generate",
            "version": GENERATOR_VERSION,
            "seed": seed,
            "scale": chosen.name,
            "command": f"generate(Path(...), seed={seed}, scale={chosen.name!r}, "
            f"end_date=date.fromisoformat({end.isoformat()!r}))",
        },
        "synthetic": "Entirely synthetic: fictional authority, localities, people and ids. No real data.",
        "extract_date": end.isoformat(),
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "lookback_start": window.lookback_start.isoformat(),
            "burn_in_start": window.burn_in_start.isoformat(),
            "simulation_start": window.sim_start.isoformat(),
        },
        "files": files,
        "authorities": [r.ground_truth for r in results],
        "bad_rows": bad_rows,
        "bad_row_counts": _count_bad(bad_rows, files),
    }
    path = out / GROUND_TRUTH
    path.write_text(yaml.safe_dump(truth, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return path


def _count_bad(bad_rows: list[dict[str, object]], files: dict[str, dict[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, info in files.items():
        n = sum(1 for r in bad_rows if r["file"] == name)
        rows = int(info["data_rows"])  # type: ignore[call-overload]
        out[name] = {"bad_rows": n, "share_pct": round(n / rows * 100, 3) if rows else 0.0}
    return out
