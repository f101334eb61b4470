"""Seeded, deterministic synthetic extracts for a fictional children's services partnership.

`generate(out_dir, seed=42, scale="sample")` writes the five local extracts the pipeline reads
(referrals, caseloads, spend, family_outcomes, population), in the exact column order and formats of
the data contracts, plus `ground_truth.yaml`: what was planted (dated changes and non-changes), which
rows are deliberately bad, and the realised headline rates.

Same seed and scale give byte-identical files. Randomness comes from numpy Generators seeded from
one SeedSequence per authority and component, so changing one simulator does not shift the random
numbers another one sees. Authorities are simulated one at a time (by `workers` processes at the
regional and national scales) and appended to the files in code order, so memory stays bounded by a
few authorities and the files do not depend on how many processes made them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
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
    frames: dict[str, pl.DataFrame]  # source -> rows as written, spoiled rows included
    spoiled: dict[str, list[dict]]  # source -> the spoiled rows, by 0-based position in the frame


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
    authority: AuthoritySpec, scale: Scale, window: Window, seed: int, many: bool
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
    ledger = spend.spend_frame(authority, window, plan, rng_spend, many)

    # Family outcomes, and a counterfactual twin without the safety divergence: both consume the same
    # random numbers, so comparing them gives the planted effect on exactly these families.
    out_frames = {}
    sims = {}
    for divergence in (True, False) if scale.detailed_truth else (True,):
        sim = outcomes.OutcomeSimulator(
            authority, window, plan, staff, np.random.default_rng(seq_out), divergence=divergence,
            family_prefix=prefixes["family"], child_prefix=prefixes["child"],
        )
        n_families = sim.statutory(extract, child_ids, scale)
        sim.early_help(pop_years, pop, scale, first_family=n_families + 1, first_child=9_000_001)
        out_frames[divergence] = sim.frame(prefixes["reading"])
        sims[divergence] = sim
    family_frame = out_frames[True]

    frames = {
        "referrals": ref_frame,
        "caseloads": staff.frame,
        "spend": ledger,
        "family_outcomes": family_frame,
        "population": pop_frame,
    }
    detail = _detailed_truth(authority, window, plan, hols, frames, out_frames, sims) if scale.detailed_truth else {}

    # Spoil a few rows; they are numbered as they sit in the files when the authority is written.
    written_frames: dict[str, pl.DataFrame] = {}
    spoiled_rows: dict[str, list[dict]] = {}
    for source, frame in frames.items():
        written_frames[source], spoiled_rows[source] = mess.spoil(frame, source, scale.mess_rate, rng_mess)
    truth: dict[str, object] = {
        "la_code": authority.la_code,
        "la_name": authority.la_name,
        "localities": [{"code": loc.code, "name": loc.name} for loc in authority.localities],
        "roles": dict(authority.roles),
        "rows": {source: frame.height for source, frame in written_frames.items()},
        **detail,
    }
    return _AuthorityResult(truth, written_frames, spoiled_rows)


def _detailed_truth(
    authority: AuthoritySpec,
    window: Window,
    plan: Plan,
    hols: np.ndarray,
    frames: dict[str, pl.DataFrame],
    out_frames: dict[bool, pl.DataFrame],
    sims: dict[bool, outcomes.OutcomeSimulator],
) -> dict[str, object]:
    """What was planted, with the realised figures and the counterfactual effect on families."""
    ref_frame, pop_frame, family_frame = frames["referrals"], frames["population"], frames["family_outcomes"]
    staff_frame, ledger = frames["caseloads"], frames["spend"]
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
        staff_frame,
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
    headline = summary.headline(typed_refs, pop_frame, staff_frame, ledger, family_frame, window)
    actual = sims[True]
    headline["family_star_families_missing_a_follow_up_pct"] = round(
        100 * actual.star_missed / max(1, actual.star_due), 1
    )

    return {
        "planted_changes": changes,
        "knock_on_effects": plan.knock_on(),
        "family_vs_service": plan.family_vs_service(),
        "planted_non_changes": plan.non_changes(),
        "realised_headline_rates": headline,
    }


def _bad_row_entries(source: str, first_row: int, records: list[dict]) -> list[dict[str, object]]:
    """The ground truth's account of one authority's spoiled rows, numbered as they sit in the file."""
    entries = []
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
        entries.append(entry)
    return entries


def _simulated(
    authorities: list[AuthoritySpec], scale: Scale, window: Window, seed: int, workers: int
) -> Iterator[_AuthorityResult]:
    """Each authority's rows, in code order; with several workers, simulated in parallel processes."""
    many = len(authorities) > 1
    if workers <= 1 or not many:
        for authority in authorities:
            yield _simulate_authority(authority, scale, window, seed, many)
        return
    n = len(authorities)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # map keeps the order; results wait only while the writer is behind, which it rarely is.
        yield from pool.map(_simulate_authority, authorities, [scale] * n, [window] * n, [seed] * n, [many] * n)


def _resolve_scale(scale: str | Scale) -> Scale:
    if isinstance(scale, Scale):
        return scale
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}") from None


def generate(
    out_dir: Path,
    *,
    seed: int = 42,
    scale: str | Scale = "sample",
    end_date: date | None = None,
    workers: int = 1,
) -> Path:
    """Write the synthetic extracts into `out_dir` and return the path of ground_truth.yaml.

    Deterministic: the same seed, scale and end date give byte-identical files, whatever `workers`
    (processes simulating authorities side by side at multi-authority scales).
    """
    chosen = _resolve_scale(scale)
    end = end_date or DEFAULT_END_DATE
    window = make_window(end, chosen.window_years, chosen.burn_in_years, chosen.history_years)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    authorities = list(chosen.authorities(seed))
    writers = {source: _CsvWriter(out / name, COLUMNS[source]) for source, name in FILES.items()}
    truths: list[dict[str, object]] = []
    bad_rows: list[dict[str, object]] = []
    try:
        for result in _simulated(authorities, chosen, window, seed, workers):
            for source, frame in result.frames.items():
                first_row = writers[source].append(frame)
                bad_rows.extend(_bad_row_entries(source, first_row, result.spoiled[source]))
            truths.append(result.ground_truth)
    finally:
        for writer in writers.values():
            writer.close()

    files = {}
    for source, name in FILES.items():
        files[name] = {
            "source": source,
            "data_rows": writers[source].rows,
            "sha256": _sha256(out / name),
        }
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
        "authorities": truths,
        "bad_rows": bad_rows,
        "bad_row_counts": _count_bad(bad_rows, files),
    }
    path = out / GROUND_TRUTH
    path.write_text(yaml.safe_dump(truth, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _count_bad(bad_rows: list[dict[str, object]], files: dict[str, dict[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, info in files.items():
        n = sum(1 for r in bad_rows if r["file"] == name)
        rows = int(info["data_rows"])  # type: ignore[call-overload]
        out[name] = {"bad_rows": n, "share_pct": round(n / rows * 100, 3) if rows else 0.0}
    return out
