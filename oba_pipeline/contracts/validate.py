"""Validating an extract against its data contract: accepted typed rows, and rejected rows explained.

Great Expectations does the rule checking, in two phases compiled from the contract (see suite.py):
"format" on the text as it arrived (trimmed; blanks count as missing), then "values" on the typed rows
that passed. A row that breaks any rule is set aside with one message per broken rule naming the file,
row, column, value and rule; the rest of the file loads. Identifier and personal values are never
echoed back: the row number is enough to find them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

from oba_pipeline.contracts.contract import Contract
from oba_pipeline.contracts.runner import SuiteResult, run_suite
from oba_pipeline.contracts.suite import Phase, build_suite, skipped_references
from oba_pipeline.errors import FileRuleError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CheckOutcome", "ValidationOutcome", "build_suite", "check_accepted", "validate_extract"]

log = logging.getLogger(__name__)

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
KEY = [SOURCE_FILE, SOURCE_ROW]
SAMPLE_SIZE = 20
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
class ValidationOutcome:
    """What validating one source's extract produced."""

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

    def messages(self, limit: int = 20) -> list[str]:
        """The first `limit` rejection messages, plus a closing line saying how many were left out."""
        shown = self.rejected["message"].head(limit).to_list()
        if self.rejected.height > limit:
            shown.append(
                f"... and {self.rejected.height - limit} more problem(s) in the {self.source} rejected rows."
            )
        return shown


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


def validate_extract(
    frame: pl.DataFrame,
    contract: Contract,
    *,
    extract_date: date,
    references: Mapping[str, set[str]] | None = None,
) -> ValidationOutcome:
    """Split an all-text extract (as read by `read_extract`) into accepted typed rows and rejected rows."""
    references = _clean_references(references)
    raw = _prepare(frame, contract)
    clean = _clean(raw, contract)
    expectations: list[dict[str, Any]] = []
    rejections: list[pl.DataFrame] = []

    duplicates = _duplicates(clean, contract)
    rejections.append(duplicates)
    expectations.append(
        _entry(
            {
                "rule": "duplicate_row",
                "column": "(all columns)",
                "columns": list(contract.column_names),
                "name": "no row is an exact copy of an earlier row (the first copy is kept)",
            },
            kind="polars: duplicate rows",
            phase="format",
            engine="polars",
            element_count=clean.height,
            rejected=duplicates,
        )
    )
    candidates = clean.join(
        duplicates.select(pl.col("file").alias(SOURCE_FILE), pl.col("row").alias(SOURCE_ROW)),
        on=KEY,
        how="anti",
    )

    # Phase "format": the text as it arrived, trimmed.
    format_results = run_suite(
        build_suite(contract, phase="format", extract_date=extract_date, references=references),
        _text_pandas(candidates, contract),
    )
    failed = _collect(format_results, "format", contract, raw, clean, expectations, rejections)
    expectations.extend(_skipped_entries(contract, references))
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
        rejected = _rejections(rows, meta, contract, raw, clean, order=len(expectations))
        rejections.append(rejected)
        expectations.append(
            _entry(
                meta,
                kind="polars: cast",
                phase="format",
                engine="polars",
                element_count=passing.height,
                rejected=rejected,
            )
        )
        typed = typed.join(rows, on=KEY, how="anti")

    # Phase "values": the typed rows.
    value_results = run_suite(
        build_suite(contract, phase="values", extract_date=extract_date, references=references),
        _typed_pandas(typed, contract),
    )
    failed_values = _collect(value_results, "values", contract, raw, clean, expectations, rejections)
    accepted = typed.join(failed_values, on=KEY, how="anti")

    rejected = (
        pl.concat(rejections, how="vertical")
        .sort(["file", "row", "_order"], maintain_order=True)
        .select(list(REJECTED_SCHEMA))
    )
    outcome = ValidationOutcome(
        source=contract.source,
        accepted=accepted,
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
        accepted.height,
        outcome.rejected_row_count,
        100 * outcome.rejected_share,
    )
    return outcome


def check_accepted(
    accepted: pl.DataFrame,
    contract: Contract,
    *,
    extract_date: date,
    references: Mapping[str, set[str]] | None = None,
    rejected_share: float = 0.0,
) -> CheckOutcome:
    """Re-run the whole compiled suite on an accepted, typed table; hold the rejected share to the contract.

    Passes only if every expectation holds and `rejected_share` is within the contract's
    `max_rejected_share`.
    """
    references = _clean_references(references)
    failures: list[str] = []
    absent = [c for c in contract.column_names if c not in accepted.columns]
    if absent:
        failures.append(f"{contract.source}: the accepted table has no column(s) {', '.join(absent)}.")
    typed = _retype(_with_source_columns(accepted, contract), contract)
    text = _as_text(typed, contract)

    expectations: list[dict[str, Any]] = []
    phases: tuple[tuple[Phase, pd.DataFrame], ...] = (
        ("format", _text_pandas(text, contract)),
        ("values", _typed_pandas(typed, contract)),
    )
    for phase, frame in phases:
        results = run_suite(
            build_suite(contract, phase=phase, extract_date=extract_date, references=references), frame
        )
        for result in results:
            rejected = _rejections(result.rows, result.meta, contract, text, text, order=len(expectations))
            expectations.append(
                _entry(
                    result.meta,
                    kind=result.kind,
                    phase=phase,
                    engine=GX,
                    element_count=result.element_count,
                    rejected=rejected,
                    success=result.success,
                    unexpected_count=result.unexpected_count,
                )
            )
            if not result.success:
                failures.append(_check_failure(contract, result, rejected))
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
        rows=accepted.height,
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
        if col.type == "date":
            frame[col.name] = frame[col.name].astype("datetime64[ns]")
    return frame


# --- duplicate rows ------------------------------------------------------------------------------------


def _duplicates(clean: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Rows repeating an earlier row in every contract column (after trimming): all but the first."""
    cols = list(contract.column_names)
    marked = clean.select(
        *KEY,
        (pl.int_range(pl.len()).over(cols) > 0).alias("_repeat"),
        pl.col(SOURCE_FILE).first().over(cols).alias("_first_file"),
        pl.col(SOURCE_ROW).first().over(cols).alias("_first_row"),
    ).filter("_repeat")
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
        pl.lit(0, dtype=pl.Int64).alias("_order"),
    )


# --- turning GX results into rejected rows -------------------------------------------------------------


def _collect(
    results: list[SuiteResult],
    phase: str,
    contract: Contract,
    raw: pl.DataFrame,
    clean: pl.DataFrame,
    expectations: list[dict[str, Any]],
    rejections: list[pl.DataFrame],
) -> pl.DataFrame:
    """Record each result (appending to `expectations` and `rejections`); return the rows that failed any."""
    failed = [pl.DataFrame(schema={SOURCE_FILE: pl.Utf8, SOURCE_ROW: pl.Int64})]
    for result in results:
        rejected = _rejections(result.rows, result.meta, contract, raw, clean, order=len(expectations))
        rejections.append(rejected)
        expectations.append(
            _entry(
                result.meta,
                kind=result.kind,
                phase=phase,
                engine=GX,
                element_count=result.element_count,
                rejected=rejected,
                success=result.success,
                unexpected_count=result.unexpected_count,
            )
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
        return pl.DataFrame(schema={**REJECTED_SCHEMA, "_order": pl.Int64})
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


def _check_failure(contract: Contract, result: SuiteResult, rejected: pl.DataFrame) -> str:
    where = ", ".join(
        f"{r['file']} row {r['row']}" for r in rejected.head(5).select("file", "row").to_dicts()
    )
    return (
        f"{contract.source}: {result.unexpected_count} accepted row(s) break the rule "
        f"'{result.meta['name']}' (rule: {result.meta['rule']}), for example {where}."
    )
