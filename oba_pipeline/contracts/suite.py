"""Compiling a data contract into Great Expectations suites, one per validation phase.

Phase "format" runs on the raw text (trimmed, blanks as missing): required, type formats, allowed
codes, patterns and references. Phase "values" runs on the typed rows that passed it: minimum and
maximum, dates not after the extract date, rules between columns and unique keys. Every expectation
carries, in `meta`, the rule code and the plain-English wording used in messages and the report, so
results can be explained without looking back at the contract.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from oba_pipeline.contracts.contract import Bound, Column, Contract

if TYPE_CHECKING:  # importing great_expectations costs seconds; only the functions that validate do it
    from great_expectations import ExpectationSuite
    from great_expectations.expectations import Expectation

Phase = Literal["format", "values"]
PHASES: tuple[Phase, ...] = ("format", "values")

INTEGER_PATTERN = r"^[+-]?[0-9]+$"
# Plain decimals (12, -0.5, .25) and the exponent form spreadsheets write for tiny numbers (1E-05).
DECIMAL_PATTERN = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
MAX_CODES_IN_TEXT = 25
# Real calendar dates written YYYY-MM-DD, accepting exactly what datetime.strptime(value, "%Y-%m-%d")
# accepts (one-digit months and days too, leap days only in leap years). GX checks a strftime format by
# calling strptime once per value in Python, which took most of a national refresh; a regex runs
# vectorised in pandas. tests/test_contracts.py compares the two on every date of several centuries.
_DAY_31 = r"(?:3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])"
_DAY_30 = r"(?:30|[12][0-9]|0[1-9]|[1-9]| [1-9])"
_DAY_28 = r"(?:2[0-8]|1[0-9]|0[1-9]|[1-9]| [1-9])"
# Any year but 0000, spelled out: a lookahead such as (?!0000) is beyond pyarrow's RE2, and pandas then
# matches each value in Python instead (a third of the format phase's time).
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
ISO_DATE_PATTERN = (
    r"^(?:" + _YEAR + r"-(?:(?:1[02]|0[13578]|[13578])-" + _DAY_31
    + r"|(?:11|0[469]|[469])-" + _DAY_30 + r"|0?2-" + _DAY_28 + r")|" + _LEAP_YEAR + r"-0?2-29)$"
)
DATE_PATTERNS = {"%Y-%m-%d": ISO_DATE_PATTERN}


def build_suite(
    contract: Contract,
    *,
    phase: Phase,
    extract_date: date,
    references: Mapping[str, set[str]] | None = None,
    leave_out: tuple[str, ...] = (),
) -> ExpectationSuite:
    """The Great Expectations suite for one phase of a contract; pure given its inputs.

    A contract column that references another source (`references: population.locality`) is checked
    only when `references` holds that key; without it the check is left out, and `skipped_references`
    says which. Rules whose code starts with one of `leave_out` (e.g. "unique ") are left out too, for
    callers that check them some other way.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    if phase not in PHASES:
        raise ValueError(f"unknown validation phase {phase!r}; expected one of {', '.join(PHASES)}")
    expectations = (
        _format_expectations(contract, references or {})
        if phase == "format"
        else _value_expectations(contract, extract_date)
    )
    expectations = [e for e in expectations if not str((e.meta or {})["rule"]).startswith(leave_out)]
    # Passing the expectations to the constructor (rather than add_expectation) needs no data context.
    return gx.ExpectationSuite(
        name=f"oba.{contract.source}.{phase}",
        expectations=expectations,
        meta={"source": contract.source, "phase": phase, "extract_date": extract_date.isoformat()},
    )


def skipped_references(contract: Contract, references: Mapping[str, set[str]] | None) -> list[str]:
    """Reference checks the contract asks for but that cannot run because no reference list was given."""
    given = references or {}
    return [key for key in contract.references if key not in given]


def human_date_format(date_format: str) -> str:
    """'%Y-%m-%d' as a user reads it: 'YYYY-MM-DD'."""
    text = date_format
    for code, shown in (
        ("%Y", "YYYY"),
        ("%y", "YY"),
        ("%m", "MM"),
        ("%d", "DD"),
        ("%b", "Mon"),
        ("%H", "hh"),
        ("%M", "mm"),
        ("%S", "ss"),
    ):
        text = text.replace(code, shown)
    return text


# --- phase "format" --------------------------------------------------------------------------------


def _format_expectations(contract: Contract, references: Mapping[str, set[str]]) -> list[Expectation]:
    import great_expectations.expectations as gxe

    out: list[Expectation] = []
    for col in contract.columns:
        name = col.name
        if col.required:
            out.append(
                gxe.ExpectColumnValuesToNotBeNull(
                    column=name,
                    meta=_meta(
                        col, "required", f"{name} is filled in", "is empty, but this column is required"
                    ),
                )
            )
        if col.type == "date":
            shown = human_date_format(contract.date_format)
            meta = _meta(
                col, "type date", f"{name} is a real date in the form {shown}", f"not a real date in the form {shown}"
            )
            pattern = DATE_PATTERNS.get(contract.date_format)
            out.append(
                gxe.ExpectColumnValuesToMatchRegex(column=name, regex=pattern, meta=meta)
                if pattern
                else gxe.ExpectColumnValuesToMatchStrftimeFormat(
                    column=name, strftime_format=contract.date_format, meta=meta
                )
            )
        elif col.type == "integer":
            out.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=name,
                    regex=INTEGER_PATTERN,
                    meta=_meta(
                        col,
                        "type integer",
                        f"{name} is a whole number",
                        "not a whole number (digits only, e.g. 12)",
                    ),
                )
            )
        elif col.type == "decimal":
            out.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=name,
                    regex=DECIMAL_PATTERN,
                    meta=_meta(
                        col,
                        "type decimal",
                        f"{name} is a number",
                        "not a number (e.g. 0.5 or -1200.75, without currency signs or thousands separators)",
                    ),
                )
            )
        if col.allowed:
            codes = _list_codes(col.allowed)
            out.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=name,
                    value_set=list(col.allowed),
                    meta=_meta(
                        col,
                        "allowed",
                        f"{name} is one of the codes {codes}",
                        f"not one of the allowed codes: {codes}",
                    ),
                )
            )
        if col.regex:
            out.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=name,
                    regex=col.regex,
                    meta=_meta(
                        col,
                        "regex",
                        f"{name} matches the pattern {col.regex}",
                        f"does not match the expected pattern {col.regex}",
                    ),
                )
            )
        if col.references and col.references in references:
            ref_source, ref_column = col.references.split(".")
            out.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=name,
                    value_set=sorted(references[col.references]),
                    meta=_meta(
                        col,
                        f"references {col.references}",
                        f"{name} is a {ref_column} listed in the {ref_source} file",
                        f"not a {ref_column} listed in the {ref_source} file",
                    ),
                )
            )
    return out


# --- phase "values" --------------------------------------------------------------------------------


def _value_expectations(contract: Contract, extract_date: date) -> list[Expectation]:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column as RowColumn

    out: list[Expectation] = []
    for col in contract.columns:
        name = col.name
        if col.min is not None:
            shown = _show_bound(col.min)
            wording = (
                (f"on or after {shown}", f"before the earliest allowed date {shown}")
                if col.type == "date"
                else (f"at least {shown}", f"below the minimum {shown}")
            )
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=_gx_bound(col.min),
                    meta=_meta(col, "min", f"{name} is {wording[0]}", wording[1]),
                )
            )
        if col.max is not None:
            shown = _show_bound(col.max)
            wording = (
                (f"on or before {shown}", f"after the latest allowed date {shown}")
                if col.type == "date"
                else (f"at most {shown}", f"above the maximum {shown}")
            )
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name,
                    max_value=_gx_bound(col.max),
                    meta=_meta(col, "max", f"{name} is {wording[0]}", wording[1]),
                )
            )
        if col.not_after == "extract_date":
            shown = extract_date.isoformat()
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name,
                    max_value=_gx_bound(extract_date),
                    meta=_meta(
                        col,
                        "not_after extract_date",
                        f"{name} is not after the extract date ({shown})",
                        f"after the extract date {shown}, so in the future",
                    ),
                )
            )

    for rule in contract.row_rules:
        col = contract.column(rule.column)
        why = f": {rule.description}" if rule.description else ""
        if rule.rule == "not_before":
            # Missing dates are judged by the "required" rule, not here: compare only rows that have both.
            out.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=rule.column,
                    column_B=rule.other,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                    meta=_meta(
                        col,
                        f"not_before {rule.other}",
                        f"{rule.column} is not before {rule.other}{why}",
                        f"is before {rule.other}",
                        other=rule.other,
                        detail=why,
                    ),
                )
            )
        else:  # requires: among rows where the column is filled in, the other must be filled in too
            out.append(
                gxe.ExpectColumnValuesToNotBeNull(
                    column=rule.other,
                    row_condition=RowColumn(rule.column).is_not_null(),
                    meta=_meta(
                        col,
                        f"requires {rule.other}",
                        f"{rule.column} is only filled in when {rule.other} is{why}",
                        f"is filled in but {rule.other} is empty{why}",
                        other=rule.other,
                    ),
                )
            )

    for key in contract.unique:
        label = " + ".join(key)
        first = contract.column(key[0])
        meta = _meta(
            first,
            f"unique {label}",
            f"{label} identifies one row only",
            f"the same {label} is on more than one row",
            columns=list(key),
        )
        if len(key) == 1:
            out.append(gxe.ExpectColumnValuesToBeUnique(column=key[0], meta=meta))
        else:
            # A key across columns is unique per row combination: expect_compound_columns_to_be_unique.
            # (expect_select_column_values_to_be_unique_within_record checks values *within* one row,
            # which is a different promise.)
            out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(key), meta=meta))
    return out


# --- helpers -------------------------------------------------------------------------------------------


def _meta(
    col: Column,
    rule: str,
    name: str,
    problem: str,
    *,
    other: str | None = None,
    detail: str = "",
    columns: list[str] | None = None,
) -> dict[str, Any]:
    """What an expectation means, in the words messages and the report use."""
    return {
        "rule": rule,
        "column": col.name if columns is None else ", ".join(columns),
        "columns": columns or [col.name],
        "other": other,
        "name": name,
        "problem": problem,
        "detail": detail,
    }


def _list_codes(codes: tuple[str, ...]) -> str:
    if len(codes) <= MAX_CODES_IN_TEXT:
        return ", ".join(codes)
    return ", ".join(codes[:MAX_CODES_IN_TEXT]) + f" (and {len(codes) - MAX_CODES_IN_TEXT} more)"


def _show_bound(value: Bound) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _gx_bound(value: Bound) -> Any:
    # Dates are compared as pandas datetime64 values, which compare with datetime, not date.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value
