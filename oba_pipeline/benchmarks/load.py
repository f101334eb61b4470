"""Loading the `published/` folder: every CSV recognised by its columns and read whole, or not at all.

Each file either loads completely or is reported (in `benchmark_sources` and as a finding) with a
message naming the file and what was expected; one bad file never stops the others. `.meta.csv`
sidecars are paired with the data file of the same name and give units and precision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from oba_pipeline.benchmarks import schemas
from oba_pipeline.benchmarks.errors import PublishedFileError
from oba_pipeline.benchmarks.formats import FORMATS_BY_ID, Format
from oba_pipeline.benchmarks.neighbours import parse_lookup, parse_neighbours
from oba_pipeline.benchmarks.parse import Meta, parse_ees, parse_meta
from oba_pipeline.benchmarks.read import CsvTable, read_published_csv
from oba_pipeline.benchmarks.recognise import recognise
from oba_pipeline.benchmarks.spend import parse_s251_ees, parse_s251_legacy
from oba_pipeline.catalogue.published_measures import PublishedMeasures, load_published_measures

log = logging.getLogger(__name__)

PUBLISHED_FOLDER = "published"
META_SUFFIX = ".meta.csv"
# Two files giving the same figure: the later release wins (a revised figure replaces the first one).
OBSERVATION_KEY = ["dataset", "level", "area_code", "year", "column", "category"]


@dataclass
class PublishedLoad:
    """Everything read from one published folder."""

    observations: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.OBSERVATIONS))
    neighbours: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.NEIGHBOURS))
    lookup: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.LOOKUP))
    sources: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.SOURCES))
    findings: pl.DataFrame = field(default_factory=lambda: schemas.empty(schemas.FINDINGS))

    @property
    def errors(self) -> list[str]:
        return self.sources.filter(pl.col("status") == "error").get_column("message").to_list()

    @property
    def failed_formats(self) -> set[str]:
        return set(self.sources.filter((pl.col("status") == "error") & pl.col("format").is_not_null())
                   .get_column("format").to_list())


def published_files(folder: Path) -> list[Path]:
    """The CSV files in the folder (names compared ignoring case), in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(".csv"))


def load_published_folder(folder: Path, measures: PublishedMeasures | None = None) -> PublishedLoad:
    """Read every published CSV in `folder`; a file that cannot be used is reported, never half-loaded."""
    measures = measures or load_published_measures()
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    files = published_files(folder)
    sidecars = {p.name.lower()[: -len(META_SUFFIX)]: p for p in files if p.name.lower().endswith(META_SUFFIX)}
    frames: dict[str, list[pl.DataFrame]] = {"observations": [], "neighbours": [], "lookup": []}
    sources: list[dict[str, Any]] = []
    for path in files:
        if path.name.lower().endswith(META_SUFFIX):
            continue
        row: dict[str, Any] = {"file": path.name, "loaded_at": loaded_at}
        table: CsvTable | None = None
        fmt: Format | None = None
        try:
            table = read_published_csv(path)
            row.update(encoding=table.encoding, sha256=table.sha256)
            fmt = recognise(path.name, table.header)
            row.update(format=fmt.id, format_title=fmt.title, dataset=fmt.dataset)
            meta = _sidecar(sidecars.get(path.name.lower()[:-4]))
            kind, frame, skipped = _parse(table, fmt, meta, measures)
        except PublishedFileError as error:
            log.warning("%s", error.message)
            if fmt is None and error.format_id is not None:
                taken = FORMATS_BY_ID[error.format_id]
                row.update(format=taken.id, format_title=taken.title, dataset=taken.dataset)
            sources.append({**row, "status": "error", "rows": 0, "message": error.message})
            continue
        frames[kind].append(frame)
        years = frame.get_column("year") if "year" in frame.columns else pl.Series([], dtype=pl.Int64)
        note = f"{skipped} rows of other geographic levels skipped" if skipped else None
        sources.append({**row, "status": "loaded", "rows": frame.height, "first_year": years.min(),
                        "last_year": years.max(), "message": note})
    result = PublishedLoad(sources=pl.DataFrame(sources, schema=schemas.SOURCES) if sources
                           else schemas.empty(schemas.SOURCES))
    if frames["observations"]:
        result.observations = (pl.concat(frames["observations"]).sort(["release", "file"], descending=[True, False])
                               .unique(OBSERVATION_KEY, keep="first", maintain_order=True))
    if frames["neighbours"]:
        result.neighbours = pl.concat(frames["neighbours"]).unique(["model", "area_code", "neighbour_rank"],
                                                                   keep="last", maintain_order=True)
    if frames["lookup"]:
        result.lookup = pl.concat(frames["lookup"]).unique("old_la_code", keep="last", maintain_order=True)
    result.findings = _file_findings(result.sources, result.observations)
    return result


def _sidecar(path: Path | None) -> Meta | None:
    """The units and precision a `.meta.csv` gives; a sidecar that cannot be read is ignored with a warning."""
    if path is None:
        return None
    try:
        table = read_published_csv(path)
        fmt = recognise(path.name, table.header)
    except PublishedFileError as error:
        log.warning("%s (the data file is read without it)", error.message)
        return None
    return parse_meta(table) if fmt.shape == "ees_meta" else None


def _parse(table: CsvTable, fmt: Format, meta: Meta | None,
           measures: PublishedMeasures) -> tuple[str, pl.DataFrame, int]:
    if fmt.shape in ("neighbours_2025", "neighbours_2021"):
        return "neighbours", parse_neighbours(table, fmt), 0
    if fmt.shape == "la_lookup":
        return "lookup", parse_lookup(table, fmt), 0
    if fmt.shape == "ees_meta":
        raise PublishedFileError(table.name, "sidecar",
                                 f"{table.name}: is a .meta.csv sidecar without its data file; put it beside "
                                 f"the file it describes, with the same name before .meta.csv.")
    if fmt.shape == "s251_legacy":
        frame, skipped = parse_s251_legacy(table, fmt, measures)
    elif fmt.id == "s251_ees":
        frame, skipped = parse_s251_ees(table, fmt, meta, measures)
    else:
        frame, skipped = parse_ees(table, fmt, meta)
    return "observations", frame, skipped


def _file_findings(sources: pl.DataFrame, observations: pl.DataFrame) -> pl.DataFrame:
    """Findings about the files themselves: files that could not be used, figures shared by joint services."""
    errors = sources.filter(pl.col("status") == "error").select(
        kind=pl.lit("file_not_loaded"), severity=pl.lit("error"), file=pl.col("file"), message=pl.col("message"))
    shared = observations.filter(pl.col("note").is_not_null()).group_by("file", "area_code", "area_name").agg(
        pl.col("note").first(), pl.col("year").min().alias("first"), pl.col("year").max().alias("last"),
    ).select(
        kind=pl.lit("shared_service"), severity=pl.lit("info"), file=pl.col("file"), area_code=pl.col("area_code"),
        area_name=pl.col("area_name"),
        message=pl.format("{}: {} ({}) is published jointly ({}), {} to {}; its figure is the shared one.",
                          pl.col("file"), pl.col("area_name"), pl.col("area_code"), pl.col("note"),
                          pl.col("first"), pl.col("last")),
    )
    frames = [f for f in (errors, shared) if f.height]
    if not frames:
        return schemas.empty(schemas.FINDINGS)
    return pl.concat(frames, how="diagonal_relaxed").select(
        [pl.col(name).cast(dtype) if name in pl.concat(frames, how="diagonal_relaxed").columns
         else pl.lit(None, dtype=dtype).alias(name) for name, dtype in schemas.FINDINGS.items()])
