"""Validating an extract against its data contract: accepted typed rows, and rejected rows explained.

Great Expectations does the rule checking, in two phases compiled from the contract (see suite.py):
"format" on the text as it arrived (trimmed; blanks count as missing), then "values" on the typed rows
that passed. A row that breaks any rule is set aside with one message per broken rule naming the file,
row, column, value and rule; the rest of the file loads. Identifier and personal values are never
echoed back: the row number is enough to find them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from oba_pipeline.arrow import arrow_of
from oba_pipeline.contracts.contract import Contract
from oba_pipeline.contracts.runner import SuiteResult, run_suite
from oba_pipeline.contracts.suite import Phase, build_suite, skipped_references
from oba_pipeline.errors import FileRuleError
from oba_pipeline.workers import ordered_map

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from great_expectations import ExpectationSuite

__all__ = [
    "CheckOutcome",
    "ValidationOutcome",
    "ValidationSummary",
    "build_suite",
    "check_accepted",
    "check_table",
    "validate_extract",
    "validate_table",
]

log = logging.getLogger(__name__)

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
KEY = [SOURCE_FILE, SOURCE_ROW]
SAMPLE_SIZE = 20
# Cells (rows times columns) validated at once: a chunk's text, its typed copy and their pandas copies grow
# with both, so a wide extract gets fewer rows per chunk (see `chunk_rows`) and every chunk stays within a few
# hundred MB whatever the extract's size. Smaller chunks cost time: GX has a fixed cost per run (0.56 s for the
# family readings' format rules on 10 rows, 1.3 s on 250,000). Staging 4 million family readings (12 columns)
# peaked at 2.4 GB with chunks of 500,000 rows and 1.6 GB with 250,000, in about the same time; 6.7 million
# referrals (21 columns) at 3.5 GB with 250,000 and 2.7 GB with 140,000.
CHUNK_CELLS = 3_000_000
# Where each kind of rule sorts, in the report and among one row's messages.
DUPLICATE_RANK, FORMAT_RANK, SKIPPED_RANK, CAST_RANK, VALUES_RANK = 0, 1, 100_000, 200_000, 300_000
ADVICE = (
    "Correct it in the source system and re-export; this row was set aside in rejected_rows and the "
    "rest of the file was loaded."
)
DUPLICATE_ADVICE = (
    "Remove the repeated row from the export; this row was set aside in rejected_rows and the "
    "rest of the file was loaded."
)
REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.Utf8(),
    "file": pl.Utf8(),
    "row": pl.Int64(),
    "column": pl.Utf8(),
    "value": pl.Utf8(),
    "rule": pl.Utf8(),
    "message": pl.Utf8(),
}
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.Utf8(),
    "date": pl.Date(),
    "integer": pl.Int64(),
    "decimal": pl.Float64(),
}
GX = "great_expectations"


@dataclass
class ValidationSummary:
    """What validating one source found, without its rows: a national extract's rejections alone need
    not fit in memory, so staging keeps counts and the first messages and leaves the rows in the warehouse."""

    source: str
    rows_read: int
    rows_accepted: int
    rejected_row_count: int
    problem_count: int  # rejection messages (a row breaking three rules has three)
    first_problems: list[str]  # in file, row and rule order
    expectations: list[dict[str, Any]]
    max_rejected_share: float | None = None
    title: str | None = None

    @property
    def rejected_share(self) -> float:
        return self.rejected_row_count / self.rows_read if self.rows_read else 0.0

    def messages(self, limit: int = 20) -> list[str]:
        """The first `limit` rejection messages, plus a closing line saying how many were left out."""
        shown = self.first_problems[:limit]
        if self.problem_count > limit:
            shown.append(f"... and {self.problem_count - limit} more problem(s) in the {self.source} rejected rows.")
        return shown


@dataclass
class ValidationOutcome:
    """What validating one source's extract produced, rows and all (for extracts that fit in memory)."""

    source: str
    accepted: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    expectations: list[dict[str, Any]]
    max_rejected_share: float | None = None  # the contract's threshold, carried for reports and checks
    title: str | None = None

    @property
    def rejected_row_count(self) -> int:
        """Rows set aside (a row breaking three rules counts once)."""
        if self.rejected.is_empty():
            return 0
        return self.rejected.select(pl.struct("file", "row").n_unique()).item()

    @property
    def rejected_share(self) -> float:
        return self.rejected_row_count / self.rows_read if self.rows_read else 0.0

    def summary(self, keep: int = SAMPLE_SIZE) -> ValidationSummary:
        return ValidationSummary(
            source=self.source,
            rows_read=self.rows_read,
            rows_accepted=self.accepted.height,
            rejected_row_count=self.rejected_row_count,
            problem_count=self.rejected.height,
            first_problems=self.rejected["message"].head(keep).to_list(),
            expectations=self.expectations,
            max_rejected_share=self.max_rejected_share,
            title=self.title,
        )

    def messages(self, limit: int = 20) -> list[str]:
        """The first `limit` rejection messages, plus a closing line saying how many were left out."""
        return self.summary(limit).messages(limit)


@dataclass
class CheckOutcome:
    """Whether an accepted table still meets its whole contract (backs a blocking asset check)."""

    source: str
    passed: bool
    failures: list[str]
    expectations: list[dict[str, Any]]
    rejected_share: float = 0.0
    max_rejected_share: float = 0.0
    title: str | None = None
    rows: int = 0


Sink = Callable[[pl.DataFrame], None]


def validate_extract(
    frame: pl.DataFrame,
    contract: Contract,
    *,
    extract_date: date,
    references: Mapping[str, set[str]] | None = None,
    workers: int | None = 1,
    transform: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> ValidationOutcome:
    """Split an all-text extract (as read by `read_extract`) into accepted typed rows and rejected rows
    (`workers` and `transform` as for `validate_table`)."""
    raw = _prepare(frame, contract)
    accepted: list[pl.DataFrame] = []
    rejections: list[pl.DataFrame] = [_no_rejections()]
    retracted: list[pl.DataFrame] = [raw.select(KEY).clear()]
    with duckdb.connect() as con:
        con.register("extract_frame", arrow_of(raw))
        con.execute("create table extract as select * from extract_frame")
        con.unregister("extract_frame")
        expectations = validate_table(
            con, "extract", contract, extract_date=extract_date, references=references,
            accept=accepted.append, reject=rejections.append, retract=retracted.append, workers=workers,
            transform=transform,
        )
    kept = pl.concat(accepted).join(pl.concat(retracted), on=KEY, how="anti")
    rejected = (
        pl.concat(rejections, how="vertical")
        .sort(["file", "row", "_order"], maintain_order=True)
        .select(list(REJECTED_SCHEMA))
    )
    outcome = ValidationOutcome(
        source=contract.source,
        accepted=kept,
        rejected=rejected,
        rows_read=raw.height,
        expectations=expectations,
        max_rejected_share=contract.max_rejected_share,
        title=contract.title,
    )
    log.info(
        "%s: %d row(s) read, %d accepted, %d rejected (%.1f%%)",
        contract.source,
        raw.height,
        kept.height,
        outcome.rejected_row_count,
        100 * outcome.rejected_share,
    )
    return outcome


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    contract: Contract,
    *,
    extract_date: date,
    references: Mapping[str, set[str]] | None,
    accept: Sink,
    reject: Sink,
    retract: Sink,
    workers: int | None = 1,
    transform: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> list[dict[str, Any]]:
    """Validate the all-text extract in warehouse table `table` (a code constant) a chunk of rows at a time.

    Typed accepted rows go to `accept` and rejected-row records (with `_order`, the rule's place) to
    `reject`, chunk by chunk (`accept` is called at least once, so an empty extract still gives the typed
    columns); rows already accepted that a rule over the whole table then breaks (a
    repeated unique key) go to `retract` at the end. Returns the expectations, counted over all chunks.

    `transform`, when given, is applied to each chunk's accepted rows where the chunk is judged (in a worker
    when there are workers), before `accept` sees them; it must keep `_source_file` and `_source_row`, and
    be picklable (a module-level function, or a partial of one).

    With `workers` above one (None: one per CPU) and more than one chunk, chunks are judged in that many
    worker processes; the sinks still receive them in table order in this process, so the outcome is the
    same whatever the number.
    """
    references = _clean_references(references)
    present = [d[0] for d in con.execute(f'select * from "{table}" limit 0').description]
    _prepare(pl.DataFrame(schema=dict.fromkeys(present, pl.Utf8)), contract)  # required columns
    # Unique keys span chunks, so GX (which sees one chunk) cannot judge them: see _UniqueKeys.
    rules = _Rules(contract, extract_date, references, leave_out={"format": (), "values": ("unique ",)},
                   transform=transform)
    unique = rules.unique
    tally = _Tally()
    _mark_repeated_rows(con, table, contract)
    typed_rows, chunks = 0, 0

    def jobs() -> Iterator[_ChunkJob]:
        reader = con.cursor().execute(
            f"select {_quoted_names([*contract.column_names, *KEY])}, rowid as _ord from \"{table}\""
        ).to_arrow_reader(chunk_rows(contract))
        for batch in reader:
            chunk = _arrow_frame(batch)
            bounds = {"first": chunk["_ord"].min(), "last": chunk["_ord"].max()}
            marks = con.execute(
                "select _source_file, _source_row, _first_file, _first_row from _repeated_rows "
                "where _ord between $first and $last order by _ord", bounds
            ).pl()
            yield _ChunkJob(rules, chunk, marks)

    for outcome in ordered_map(_stage_chunk, jobs(), _processes(con, table, contract, workers)):
        chunks += 1
        outcome.replay(tally, reject)
        unique.store(con, outcome.key_hashes)
        typed_rows += outcome.rows
        assert outcome.accepted is not None  # a validated chunk always has its accepted rows
        accept(outcome.accepted)
    if not chunks:
        empty = _typed(_clean(_prepare(pl.DataFrame(schema=dict.fromkeys(present, pl.Utf8)), contract), contract),
                       contract)[0]
        accept(transform(empty) if transform is not None else empty)

    def extract_rows(ords: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        con.register("_candidate_rows", arrow_of(ords))
        try:
            found = con.execute(
                f"select {_quoted_names([*contract.column_names, *KEY])} from \"{table}\" "
                "where rowid in (select _ord from _candidate_rows) order by rowid"
            ).pl()
        finally:
            con.unregister("_candidate_rows")
        raw = _prepare(found, contract)
        return raw, _clean(raw, contract), _typed(_clean(raw, contract), contract)[0]

    for rank, rejected, entry in unique.judge(con, extract_rows, element_count=typed_rows):
        reject(rejected)
        retract(rejected.select(pl.col("file").alias(SOURCE_FILE), pl.col("row").alias(SOURCE_ROW)))
        tally.add(rank, entry)
    for rank, entry in enumerate(_skipped_entries(contract, references), start=SKIPPED_RANK):
        tally.add(rank, entry)
    return tally.listed()


def check_accepted(
    accepted: pl.DataFrame,
    contract: Contract,
    *,
    extract_date: date,
    references: Mapping[str, set[str]] | None = None,
    rejected_share: float = 0.0,
    workers: int | None = 1,
) -> CheckOutcome:
    """Re-run the compiled suite on an accepted, typed table held in memory (see `check_table`)."""
    frame = _with_source_columns(accepted, contract)
    with duckdb.connect() as con:
        con.register("accepted_frame", arrow_of(frame))
        con.execute("create table accepted as select * from accepted_frame")
        con.unregister("accepted_frame")
        return check_table(
            con, "accepted", contract, extract_date=extract_date, references=references,
            rejected_share=rejected_share, workers=workers,
        )


def check_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    contract: Contract,
    *,
    extract_date: date,
    references: Mapping[str, set[str]] | None = None,
    rejected_share: float = 0.0,
    names: Mapping[str, str] | None = None,
    workers: int | None = 1,
) -> CheckOutcome:
    """Re-run the compiled suite over accepted table `table` (a code constant), a chunk of rows at a time;
    hold the rejected share to the contract. `names` maps contract columns stored under another name.

    Passes only if every expectation holds and `rejected_share` is within the contract's
    `max_rejected_share`. The "format" phase leaves out the type rules (a whole number, a real date): the
    table holds typed values, and a typed value written back as text always fits its type's pattern, so
    that check could not fail and would cost a text copy of every row. Required, allowed codes, patterns
    and references still run, on the stored values. `workers` as for `validate_table`.
    """
    references = _clean_references(references)
    stored = {c: (names or {}).get(c, c) for c in contract.column_names}
    present = {d[0] for d in con.execute(f'select * from "{table}" limit 0').description}
    failures: list[str] = []
    absent = [c for c in contract.column_names if stored[c] not in present]
    if absent:
        failures.append(f"{contract.source}: the accepted table has no column(s) {', '.join(absent)}.")
    # Text rules on a column of another type (none in today's contracts) still see text.
    as_text = [c.name for c in contract.columns if c.type != "string" and (c.allowed or c.regex or c.references)]
    rules = _Rules(contract, extract_date, references, leave_out={"format": ("type ",), "values": ("unique ",)},
                   as_text=tuple(as_text))
    unique = rules.unique
    select = ", ".join(
        [*(f'"{stored[c]}" as "{c}"' for c in contract.column_names if c not in absent), *(f'"{k}"' for k in KEY)]
    )
    tally = _Tally()
    rows = 0

    def jobs() -> Iterator[_ChunkJob]:
        reader = con.cursor().execute(f'select {select}, rowid as _ord from "{table}"').to_arrow_reader(
            chunk_rows(contract))
        for batch in reader:
            yield _ChunkJob(rules, _arrow_frame(batch))

    for outcome in ordered_map(_check_chunk, jobs(), _processes(con, table, contract, workers)):
        rows += outcome.rows
        unique.store(con, outcome.key_hashes)
        outcome.replay(tally, None)

    def stored_rows(ords: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        con.register("_candidate_rows", arrow_of(ords))
        try:
            found = con.execute(
                f'select {select} from "{table}" where rowid in (select _ord from _candidate_rows) order by rowid'
            ).pl()
        finally:
            con.unregister("_candidate_rows")
        typed = _retype(found, contract)
        text = _as_text(typed, contract)
        return text, text, typed

    for rank, _, entry in unique.judge(con, stored_rows, element_count=rows):
        tally.add(rank, entry)
    expectations = tally.listed()
    failures.extend(_check_failure(contract, e) for e in expectations if e["success"] is False)
    expectations.extend(_skipped_entries(contract, references))

    if rejected_share > contract.max_rejected_share:
        failures.append(
            f"{contract.source}: {rejected_share:.1%} of rows were rejected, above the contract's limit "
            f"of {contract.max_rejected_share:.1%}. Look at the rejected rows, correct them in the source "
            "system and re-export."
        )
    passed = not failures
    log.info(
        "%s: accepted-table check %s (%d expectation(s), %d failure(s))",
        contract.source,
        "passed" if passed else "FAILED",
        len(expectations),
        len(failures),
    )
    return CheckOutcome(
        source=contract.source,
        passed=passed,
        failures=failures,
        expectations=expectations,
        rejected_share=rejected_share,
        max_rejected_share=contract.max_rejected_share,
        title=contract.title,
        rows=rows,
    )


# --- judging one chunk (in this process or a worker) ---------------------------------------------------


@dataclass
class _Rules:
    """What every chunk of one table is judged by. It crosses to worker processes, which build the suites
    from it themselves (a compiled suite is rebuilt, not pickled)."""

    contract: Contract
    extract_date: date
    references: dict[str, set[str]]
    leave_out: dict[Phase, tuple[str, ...]]  # rule codes each phase's suite leaves out
    as_text: tuple[str, ...] = ()  # check only: columns of another type that text rules see as text
    transform: Callable[[pl.DataFrame], pl.DataFrame] | None = None  # validation only: see validate_table
    unique: _UniqueKeys = field(init=False)  # judged over all chunks, so left out of the chunks' suites
    _suites: dict[Phase, ExpectationSuite] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        every_value_rule = build_suite(self.contract, phase="values", extract_date=self.extract_date,
                                       references=self.references)
        self.unique = _UniqueKeys(self.contract, every_value_rule, start=VALUES_RANK)

    def suite(self, phase: Phase) -> ExpectationSuite:
        if phase not in self._suites:
            self._suites[phase] = build_suite(self.contract, phase=phase, extract_date=self.extract_date,
                                              references=self.references, leave_out=self.leave_out[phase])
        return self._suites[phase]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_suites": {}}


@dataclass
class _ChunkJob:
    rules: _Rules
    chunk: pl.DataFrame  # the contract's columns, _source_file, _source_row and _ord (the row's place)
    marks: pl.DataFrame | None = None  # validation only: the chunk's rows repeating an earlier row


@dataclass
class _ChunkOutcome:
    """What judging one chunk found, to be handed on in table order: accepted typed rows, rejected-row records
    and expectation entries in the order they were made, and the hashes of the unique keys."""

    rows: int  # validation: rows typed; check: rows checked
    key_hashes: pl.DataFrame | None
    accepted: pl.DataFrame | None = None
    made: list[tuple[int, dict[str, Any], pl.DataFrame]] = field(default_factory=list)

    def reject(self, rank: int, rejected: pl.DataFrame, entry: dict[str, Any]) -> None:
        self.made.append((rank, entry, rejected))

    def replay(self, tally: _Tally, reject: Sink | None) -> None:
        for rank, entry, rejected in self.made:
            if reject is not None:
                reject(rejected)
            tally.add(rank, entry)


def chunk_rows(contract: Contract) -> int:
    """Rows per chunk for a contract's tables: CHUNK_CELLS over its columns."""
    return max(1, CHUNK_CELLS // len(contract.column_names))


def _processes(con: duckdb.DuckDBPyConnection, table: str, contract: Contract, workers: int | None) -> int:
    """Worker processes for a table: none (judged here) when it is one chunk, as starting them costs more."""
    rows = con.execute(f'select count(*) from "{table}"').fetchone()[0]  # type: ignore[index]
    return min(workers or os.cpu_count() or 1, -(-rows // chunk_rows(contract)))


def _stage_chunk(job: _ChunkJob) -> _ChunkOutcome:
    """One chunk of an all-text extract validated: duplicates, the format phase, typing, the values phase."""
    rules, contract = job.rules, job.rules.contract
    assert job.marks is not None  # validation jobs always carry them
    chunk = job.chunk.with_columns(
        *[pl.col(c).cast(pl.Utf8) for c in contract.column_names], pl.col(SOURCE_ROW).cast(pl.Int64)
    )
    raw = chunk.select(*contract.column_names, *KEY)
    clean = _clean(raw, contract)
    duplicates = _duplicates(job.marks, contract)
    outcome = _ChunkOutcome(rows=0, key_hashes=None)
    outcome.reject(DUPLICATE_RANK, duplicates, _duplicate_entry(contract, clean.height, duplicates))
    candidates = clean.join(job.marks.select(KEY), on=KEY, how="anti")

    # Phase "format": the text as it arrived, trimmed.
    format_results = run_suite(rules.suite("format"), _text_pandas(candidates, contract))
    failed = _collect(format_results, "format", FORMAT_RANK, contract, raw, clean, outcome)
    passing = candidates.join(failed, on=KEY, how="anti")

    # Typing cannot fail after the format rules passed, except where a value fits the pattern but not the
    # type (a whole number too large for 64 bits): GX has no such expectation, so polars finds those rows.
    typed, cast_failures = _typed(passing, contract)
    for column, rows in cast_failures.items():
        col = contract.column(column)
        meta = {
            "rule": f"type {col.type}",
            "column": column,
            "columns": [column],
            "name": f"{column} fits the {col.type} type",
            "problem": f"cannot be stored as a {col.type} value (too many digits)",
        }
        rank = CAST_RANK + contract.column_names.index(column)
        rejected = _rejections(rows, meta, contract, raw, clean, order=rank)
        outcome.reject(rank, rejected, _entry(meta, kind="polars: cast", phase="format", engine="polars",
                                              element_count=passing.height, rejected=rejected))
        typed = typed.join(rows, on=KEY, how="anti")
    outcome.key_hashes = rules.unique.hashes(typed.join(chunk.select(*KEY, "_ord"), on=KEY, how="left"))
    outcome.rows = typed.height

    # Phase "values": the typed rows.
    value_results = run_suite(rules.suite("values"), _typed_pandas(typed, contract))
    failed_values = _collect(value_results, "values", VALUES_RANK, contract, raw, clean, outcome)
    outcome.accepted = typed.join(failed_values, on=KEY, how="anti")
    if rules.transform is not None:
        outcome.accepted = rules.transform(outcome.accepted)
    return outcome


def _check_chunk(job: _ChunkJob) -> _ChunkOutcome:
    """One chunk of an accepted, typed table checked against both phases' suites (see `check_table`)."""
    rules, contract = job.rules, job.rules.contract
    typed = _retype(job.chunk, contract)
    outcome = _ChunkOutcome(rows=typed.height, key_hashes=rules.unique.hashes(typed.with_columns(job.chunk["_ord"])))
    values = _typed_pandas(typed, contract)
    frames = {
        "format": _typed_pandas(typed.with_columns(_as_text(typed, contract).select(rules.as_text)), contract)
        if rules.as_text else values,
        "values": values,
    }
    text: pl.DataFrame | None = None  # written only when a rule finds rows to show
    phases: tuple[tuple[Phase, int], ...] = (("format", FORMAT_RANK), ("values", VALUES_RANK))
    for phase, start in phases:
        for number, result in enumerate(run_suite(rules.suite(phase), frames[phase])):
            if text is None and not result.rows.is_empty():
                text = _as_text(typed, contract)
            shown = text if text is not None else typed.clear()
            rejected = _rejections(result.rows, result.meta, contract, shown, shown, order=start + number)
            outcome.reject(start + number, rejected, _entry(
                result.meta, kind=result.kind, phase=phase, engine=GX, element_count=result.element_count,
                rejected=rejected, success=result.success, unexpected_count=result.unexpected_count,
            ))
    return outcome


# --- chunks --------------------------------------------------------------------------------------------


def _arrow_frame(batch: pa.RecordBatch) -> pl.DataFrame:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)  # a record batch always gives a frame
    return frame


def _quoted_names(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


@dataclass
class _Tally:
    """Expectation entries added up over chunks, in rule order (`rank`): counts add, the first examples stay."""

    entries: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, rank: int, entry: dict[str, Any]) -> None:
        known = self.entries.setdefault(rank, entry)
        if known is entry:
            return
        known["element_count"] += entry["element_count"]
        known["unexpected_count"] += entry["unexpected_count"]
        known["success"] = known["success"] and entry["success"]
        known["unexpected"] = [*known["unexpected"], *entry["unexpected"]][:SAMPLE_SIZE]

    def listed(self) -> list[dict[str, Any]]:
        return [self.entries[rank] for rank in sorted(self.entries)]


class _UniqueKeys:
    """Unique keys judged over the whole table although GX sees one chunk at a time: each chunk's typed rows
    leave a 64-bit hash of each key in a temporary table, and only the rows whose hash repeats are read
    back and compared value by value (rows with every key column empty are not judged, as in GX)."""

    def __init__(self, contract: Contract, values_suite: ExpectationSuite, *, start: int) -> None:
        self.contract = contract
        self.rules = [
            (start + number, dict(e.meta or {}), e.expectation_type)
            for number, e in enumerate(values_suite.expectations)
            if str((e.meta or {})["rule"]).startswith("unique ")
        ]
        self.created = False

    def hashes(self, typed: pl.DataFrame) -> pl.DataFrame | None:
        """The key hashes of `typed` (which also holds `_ord`, the row's place in the table); None without keys."""
        if not self.rules:
            return None
        return typed.select(
            pl.col("_ord"),
            *[
                pl.when(pl.all_horizontal([pl.col(c).is_null() for c in meta["columns"]]))
                .then(None)
                .otherwise(pl.struct(meta["columns"]).hash())
                .alias(f"_h{number}")
                for number, (_, meta, _) in enumerate(self.rules)
            ],
        )

    def store(self, con: duckdb.DuckDBPyConnection, hashes: pl.DataFrame | None) -> None:
        """Remember a chunk's key hashes (from `hashes`) in a temporary table for `judge`."""
        if hashes is None:
            return
        con.register("_key_hashes", arrow_of(hashes))
        try:
            if not self.created:
                con.execute("create or replace temp table _unique_keys as select * from _key_hashes limit 0")
                self.created = True
            con.execute("insert into _unique_keys select * from _key_hashes")
        finally:
            con.unregister("_key_hashes")

    def judge(
        self,
        con: duckdb.DuckDBPyConnection,
        fetch: Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]],
        *,
        element_count: int,
    ) -> Iterator[tuple[int, pl.DataFrame, dict[str, Any]]]:
        """Per unique key: its rank, the rejected-row records of every row sharing a key, and its entry.

        `fetch` turns `_ord` values into the rows as arrived, trimmed and typed, in table order."""
        for number, (rank, meta, kind) in enumerate(self.rules):
            key = list(meta["columns"])
            ords = (
                con.execute(
                    f"select _ord from _unique_keys where _h{number} in (select _h{number} from _unique_keys "
                    f"where _h{number} is not null group by all having count(*) > 1) order by _ord"
                ).pl()
                if self.created
                else pl.DataFrame(schema={"_ord": pl.Int64})
            )
            rejected = _no_rejections()
            if ords.height:
                raw, clean, typed = fetch(ords)
                repeated = (
                    typed.filter(~pl.all_horizontal([pl.col(c).is_null() for c in key]))
                    .filter(pl.len().over(key) > 1)
                    .select(KEY)
                )
                rejected = _rejections(repeated, meta, self.contract, raw, clean, order=rank)
            yield rank, rejected, _entry(
                meta, kind=f"{kind} (over all chunks: polars hashes, DuckDB counts)", phase="values",
                engine="polars", element_count=element_count, rejected=rejected,
            )


# Exactly what polars' str.strip_chars() removes (Unicode White_Space), so DuckDB trims the same way.
WHITESPACE = "".join(
    chr(c) for c in [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
                     0x202F, 0x205F, 0x3000]
)


def _mark_repeated_rows(con: duckdb.DuckDBPyConnection, table: str, contract: Contract) -> None:
    """Temporary table _repeated_rows: every row repeating an earlier row of `table` in every contract column
    (after trimming; the first copy is kept), with where that first copy is. A hash per row picks the
    candidates and a window over them compares the values themselves, so the rule is exact across chunks."""
    names = _quoted_names(list(contract.column_names))
    # trim(value, characters) is slow, so only values starting or ending in white space go through it.
    cleaned = ", ".join(
        f"nullif(case when contains($ws, left(\"{c}\", 1)) or contains($ws, right(\"{c}\", 1)) "
        f"then trim(\"{c}\", $ws) else \"{c}\" end, '') as \"{c}\""
        for c in contract.column_names
    )
    con.execute(
        f"""
        create or replace temp table _repeated_rows as
        with hashed as (select _ord, hash({names}) as _h from (select rowid as _ord, {cleaned} from "{table}")),
        candidates as (
            select rowid as _ord, _source_file, _source_row, {cleaned} from "{table}"
            where rowid in (select _ord from hashed
                            where _h in (select _h from hashed group by all having count(*) > 1))
        )
        select _ord, _source_file, _source_row::bigint as _source_row, _first_file, _first_row::bigint as _first_row
        from (
            select _ord, _source_file, _source_row,
                   first_value(_source_file) over copies as _first_file,
                   first_value(_source_row) over copies as _first_row,
                   row_number() over copies as _copy
            from candidates
            window copies as (partition by {names} order by _ord)
        )
        where _copy > 1
        """,
        {"ws": WHITESPACE},
    )


# --- preparing frames ----------------------------------------------------------------------------------


def _clean_references(references: Mapping[str, set[str]] | None) -> dict[str, set[str]]:
    # Reference lists come from another source's accepted table; compare codes the way rows are compared.
    return {
        key: {str(v).strip() for v in values if v is not None and str(v).strip()}
        for key, values in (references or {}).items()
    }


def _with_source_columns(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Hand-built frames (tests, tables read back) may lack the source columns: number rows as Excel would."""
    extra = []
    if SOURCE_FILE not in frame.columns:
        extra.append(pl.lit(contract.source, dtype=pl.Utf8).alias(SOURCE_FILE))
    if SOURCE_ROW not in frame.columns:
        extra.append(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(SOURCE_ROW))
    frame = frame.with_columns(extra) if extra else frame
    frame = frame.with_columns(pl.col(SOURCE_FILE).cast(pl.Utf8), pl.col(SOURCE_ROW).cast(pl.Int64))
    if frame.select(pl.struct(KEY).is_duplicated().any()).item():
        raise ValueError(f"{contract.source}: _source_file and _source_row must identify each row once")
    return frame


def _prepare(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """The contract's columns as text, plus the source columns; optional columns that are absent are empty."""
    missing = [c for c in contract.required_columns if c not in frame.columns]
    if missing:
        raise FileRuleError(
            contract.source,
            None,
            "required_columns",
            f"{contract.source}: required column(s) missing: {', '.join(missing)}. Columns found: "
            f"{', '.join(frame.columns)}. Add the column to the export; nothing from this source was loaded.",
        )
    frame = _with_source_columns(frame, contract)
    return frame.select(
        *[
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(pl.Utf8).alias(c)
            for c in contract.column_names
        ],
        *KEY,
    )


def _clean(raw: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Surrounding spaces trimmed (real extracts pad codes); empty and whitespace-only cells become null."""

    def trimmed(name: str) -> pl.Expr:
        value = pl.col(name).str.strip_chars()
        return pl.when(value == "").then(None).otherwise(value).alias(name)

    return raw.with_columns(trimmed(c) for c in contract.column_names)


def _text_pandas(frame: pl.DataFrame, contract: Contract) -> pd.DataFrame:
    return frame.select(*contract.column_names, *KEY).to_pandas()


def _typed(clean: pl.DataFrame, contract: Contract) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Cleaned text cast to the contract's types, and per column the rows whose value would not cast."""
    casts = []
    for col in contract.columns:
        value = pl.col(col.name)
        if col.type == "date":
            casts.append(value.str.to_date(contract.date_format, strict=False).alias(col.name))
        elif col.type != "string":
            casts.append(value.cast(POLARS_TYPES[col.type], strict=False).alias(col.name))
    typed = clean.with_columns(casts)
    failures = {}
    for col in contract.columns:
        if col.type == "string":
            continue
        lost = clean.select(*KEY, (pl.col(col.name).is_not_null() & typed[col.name].is_null()).alias("lost"))
        rows = lost.filter("lost").select(KEY)
        if rows.height:
            failures[col.name] = rows
    return typed, failures


def _retype(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """An accepted table in the contract's types, whatever types it arrived in (text is parsed)."""
    columns = []
    for col in contract.columns:
        if col.name not in frame.columns:
            columns.append(pl.lit(None, dtype=POLARS_TYPES[col.type]).alias(col.name))
            continue
        value, dtype = pl.col(col.name), frame.schema[col.name]
        if dtype == POLARS_TYPES[col.type]:
            columns.append(value)
        elif col.type == "date" and dtype == pl.Utf8:
            columns.append(value.str.strip_chars().str.to_date(contract.date_format, strict=False))
        else:
            columns.append(value.cast(POLARS_TYPES[col.type], strict=False))
    return frame.select(*columns, *KEY)


def _as_text(typed: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """A typed table written back as the text an extract would hold, for the "format" phase."""
    columns = []
    for col in contract.columns:
        value = pl.col(col.name)
        if col.type == "date":
            columns.append(value.dt.strftime(contract.date_format).alias(col.name))
        else:
            columns.append(value.cast(pl.Utf8).alias(col.name))
    return typed.select(*columns, *KEY)


def _typed_pandas(typed: pl.DataFrame, contract: Contract) -> pd.DataFrame:
    frame = typed.select(*contract.column_names, *KEY).to_pandas()
    # GX compares datetime64[ns] columns vectorised but falls back to a Python loop for other units.
    for col in contract.columns:
        if typed.schema[col.name] == pl.Date:
            frame[col.name] = frame[col.name].astype("datetime64[ns]")
    return frame


# --- duplicate rows ------------------------------------------------------------------------------------


def _duplicates(marked: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Rejected-row records for rows repeating an earlier row (see `_mark_repeated_rows`)."""
    first = pl.concat_str(
        pl.when(pl.col("_first_file") == pl.col(SOURCE_FILE))
        .then(pl.lit("row "))
        .otherwise(pl.concat_str(pl.col("_first_file"), pl.lit(" row "))),
        pl.col("_first_row").cast(pl.Utf8),
    )
    return marked.select(
        pl.lit(contract.source).alias("source"),
        pl.col(SOURCE_FILE).alias("file"),
        pl.col(SOURCE_ROW).alias("row"),
        pl.lit("(all columns)").alias("column"),
        pl.lit(None, dtype=pl.Utf8).alias("value"),
        pl.lit("duplicate_row").alias("rule"),
        pl.concat_str(
            pl.col(SOURCE_FILE),
            pl.lit(" row "),
            pl.col(SOURCE_ROW).cast(pl.Utf8),
            pl.lit(": an exact copy of "),
            first,
            pl.lit(" (every column holds the same value); the first copy was kept (rule: duplicate_row). "),
            pl.lit(DUPLICATE_ADVICE),
        ).alias("message"),
        pl.lit(DUPLICATE_RANK, dtype=pl.Int64).alias("_order"),
    )


def _duplicate_entry(contract: Contract, rows: int, rejected: pl.DataFrame) -> dict[str, Any]:
    meta = {
        "rule": "duplicate_row",
        "column": "(all columns)",
        "columns": list(contract.column_names),
        "name": "no row is an exact copy of an earlier row (the first copy is kept)",
    }
    return _entry(meta, kind="polars: duplicate rows", phase="format", engine="polars", element_count=rows,
                  rejected=rejected)


# --- turning GX results into rejected rows -------------------------------------------------------------


def _collect(
    results: list[SuiteResult],
    phase: str,
    start: int,
    contract: Contract,
    raw: pl.DataFrame,
    clean: pl.DataFrame,
    outcome: _ChunkOutcome,
) -> pl.DataFrame:
    """Record each result's rejected rows and entry in `outcome`; return the rows that failed any."""
    failed = [pl.DataFrame(schema={SOURCE_FILE: pl.Utf8, SOURCE_ROW: pl.Int64})]
    for number, result in enumerate(results):
        rejected = _rejections(result.rows, result.meta, contract, raw, clean, order=start + number)
        outcome.reject(
            start + number,
            rejected,
            _entry(
                result.meta,
                kind=result.kind,
                phase=phase,
                engine=GX,
                element_count=result.element_count,
                rejected=rejected,
                success=result.success,
                unexpected_count=result.unexpected_count,
            ),
        )
        failed.append(result.rows)
    return pl.concat(failed).unique(maintain_order=True)


def _rejections(
    rows: pl.DataFrame,
    meta: Mapping[str, Any],
    contract: Contract,
    raw: pl.DataFrame,
    clean: pl.DataFrame,
    *,
    order: int,
) -> pl.DataFrame:
    """One rejected-row record per unexpected row of one rule, with its message."""
    if rows.is_empty():
        return _no_rejections()
    columns: list[str] = list(meta["columns"])
    other: str | None = meta.get("other")
    needed = [c for c in dict.fromkeys([*columns, *([other] if other else [])]) if c in raw.columns]
    frame = rows.join(raw.select(*KEY, *needed), on=KEY, how="left")

    value = _shown_value(contract, columns)
    problem: pl.Expr = pl.lit(meta["problem"])
    if meta["rule"].startswith("not_before") and other:
        problem = pl.concat_str(
            problem, pl.lit(" ("), _quoted(contract, other), pl.lit(")"), pl.lit(meta["detail"])
        )
    elif meta["rule"].startswith("unique"):
        frame = frame.join(_where_else(rows, columns, clean), on=KEY, how="left")
        problem = pl.concat_str(problem, pl.lit(": "), pl.col("_where"))

    return frame.select(
        pl.lit(contract.source).alias("source"),
        pl.col(SOURCE_FILE).alias("file"),
        pl.col(SOURCE_ROW).alias("row"),
        pl.lit(meta["column"]).alias("column"),
        value.alias("value"),
        pl.lit(meta["rule"]).alias("rule"),
        pl.concat_str(
            pl.col(SOURCE_FILE),
            pl.lit(" row "),
            pl.col(SOURCE_ROW).cast(pl.Utf8),
            pl.lit(f", column {meta['column']}, value "),
            _quoted_expr(value, contract, columns),
            pl.lit(": "),
            problem,
            pl.lit(f" (rule: {meta['rule']}). {ADVICE}"),
        ).alias("message"),
        pl.lit(order, dtype=pl.Int64).alias("_order"),
    )


def _shown_value(contract: Contract, columns: list[str]) -> pl.Expr:
    """The value as it arrived, or `<withheld: identifier>` for identifiers and personal data."""
    parts = []
    for name in columns:
        withheld = contract.column(name).withheld_as
        parts.append(pl.lit(f"<withheld: {withheld}>") if withheld else pl.col(name))
    if len(parts) == 1:
        return parts[0].cast(pl.Utf8)
    return pl.concat_str([p.fill_null("") for p in parts], separator=" | ")


def _quoted_expr(value: pl.Expr, contract: Contract, columns: list[str]) -> pl.Expr:
    if len(columns) == 1 and contract.column(columns[0]).withheld_as:
        return value
    # Whitespace-only values are quoted as they arrived (' '); nothing at all reads better as (empty).
    return (
        pl.when(value.is_null() | (value == ""))
        .then(pl.lit("(empty)"))
        .otherwise(pl.concat_str(pl.lit("'"), value, pl.lit("'")))
    )


def _quoted(contract: Contract, name: str) -> pl.Expr:
    return _quoted_expr(_shown_value(contract, [name]), contract, [name])


def _where_else(rows: pl.DataFrame, key: list[str], clean: pl.DataFrame) -> pl.DataFrame:
    """For each row breaking a unique key, where that key occurs (first five places)."""
    located = rows.join(clean.select(*KEY, *key), on=KEY, how="left").with_columns(
        pl.concat_str(pl.col(SOURCE_FILE), pl.lit(" row "), pl.col(SOURCE_ROW).cast(pl.Utf8)).alias("_place")
    )
    places = located.group_by(key, maintain_order=True).agg(
        pl.col("_place").head(5).str.join(", ").alias("_places"), pl.len().alias("_n")
    )
    where = pl.concat_str(
        pl.col("_places"), pl.when(pl.col("_n") > 5).then(pl.lit(", ...")).otherwise(pl.lit(""))
    )
    return located.join(places, on=key, how="left", nulls_equal=True).select(*KEY, where.alias("_where"))


# --- summaries -----------------------------------------------------------------------------------------


def _entry(
    meta: Mapping[str, Any],
    *,
    kind: str,
    phase: str,
    engine: str,
    element_count: int,
    rejected: pl.DataFrame,
    success: bool | None = None,
    unexpected_count: int | None = None,
) -> dict[str, Any]:
    """One expectation as the report and Dagster metadata show it (JSON-ready)."""
    count = rejected.height if unexpected_count is None else unexpected_count
    sample = rejected.head(SAMPLE_SIZE).select("file", "row", "value").to_dicts()
    return {
        "name": meta["name"],
        "rule": meta["rule"],
        "column": meta["column"],
        "columns": list(meta["columns"]),
        "kind": kind,
        "phase": phase,
        "engine": engine,
        "success": (count == 0) if success is None else success,
        "element_count": element_count,
        "unexpected_count": count,
        "unexpected": sample,
    }


def _skipped_entries(contract: Contract, references: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    entries = []
    for key in skipped_references(contract, references):
        log.warning("%s: no %s list given, so values were not checked against it", contract.source, key)
        for col in contract.columns:
            if col.references == key:
                entries.append(
                    {
                        "name": f"{col.name} is listed in {key}",
                        "rule": f"references {key}",
                        "column": col.name,
                        "columns": [col.name],
                        "kind": "expect_column_values_to_be_in_set",
                        "phase": "format",
                        "engine": GX,
                        "success": None,
                        "element_count": 0,
                        "unexpected_count": 0,
                        "unexpected": [],
                        "note": f"not checked: no {key} list was given",
                    }
                )
    return entries


def _check_failure(contract: Contract, entry: Mapping[str, Any]) -> str:
    where = ", ".join(f"{r['file']} row {r['row']}" for r in entry["unexpected"][:5])
    return (
        f"{contract.source}: {entry['unexpected_count']} accepted row(s) break the rule "
        f"'{entry['name']}' (rule: {entry['rule']}), for example {where}."
    )


def _no_rejections() -> pl.DataFrame:
    return pl.DataFrame(schema={**REJECTED_SCHEMA, "_order": pl.Int64})
