"""Data contracts: the YAML files in data_contracts/ read into typed, checked Python objects.

A contract is the one description of an input source. The readers, the Great Expectations suites,
the rejection messages and the validation report are all derived from it, so a malformed contract is
refused here, loudly, naming the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from oba_pipeline import config

ColumnType = Literal["string", "date", "integer", "decimal"]
Bound = date | int | float

SOURCES: tuple[str, ...] = ("population", "referrals", "caseloads", "spend", "family_outcomes")
COLUMN_TYPES: tuple[str, ...] = ("string", "date", "integer", "decimal")
ROW_RULES: tuple[str, ...] = ("not_before", "requires")
# The only moving bound a contract may name; it is resolved to the extract's date at validation time.
NOT_AFTER_VALUES: tuple[str, ...] = ("extract_date",)

_TOP_KEYS = frozenset(
    {
        "source",
        "title",
        "description",
        "file_patterns",
        "date_format",
        "max_rejected_share",
        "unique",
        "columns",
        "row_rules",
    }
)
_REQUIRED_TOP_KEYS = ("source", "title", "file_patterns", "columns")
_COLUMN_KEYS = frozenset(
    {
        "name",
        "type",
        "required",
        "allowed",
        "regex",
        "min",
        "max",
        "not_after",
        "identifier",
        "personal",
        "description",
        "references",
    }
)
_ROW_RULE_KEYS = frozenset({"rule", "column", "other", "description"})


@dataclass(frozen=True)
class Column:
    """One column of an extract and the rules its values must follow."""

    name: str
    type: ColumnType
    required: bool = False
    allowed: tuple[str, ...] | None = None
    regex: str | None = None
    min: Bound | None = None
    max: Bound | None = None
    not_after: str | None = None
    identifier: bool = False
    personal: bool = False
    description: str = ""
    references: str | None = None  # "source.column": values must appear in that column of that source

    @property
    def withheld_as(self) -> str | None:
        """Why values of this column must never be echoed back ("identifier"/"personal"), or None."""
        if self.identifier:
            return "identifier"
        if self.personal:
            return "personal"
        return None


@dataclass(frozen=True)
class RowRule:
    """A rule between two columns of the same row (`not_before` or `requires`)."""

    rule: Literal["not_before", "requires"]
    column: str
    other: str
    description: str = ""


@dataclass(frozen=True)
class Contract:
    """A source's data contract: where its files are, what columns they hold and the rules they follow."""

    source: str
    title: str
    columns: tuple[Column, ...]
    file_patterns: tuple[str, ...]
    description: str = ""
    date_format: str = "%Y-%m-%d"
    max_rejected_share: float = 0.0
    unique: tuple[tuple[str, ...], ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    path: Path | None = None
    _by_name: dict[str, Column] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A frozen dataclass still needs a name index for column(); object.__setattr__ is the sanctioned way.
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{self.source} contract has no column {name!r}") from None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def identifier_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.identifier)

    @property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.personal)

    @property
    def references(self) -> tuple[str, ...]:
        """The reference lists ("source.column") this contract's row rules need."""
        return tuple(sorted({c.references for c in self.columns if c.references}))


def load_contract(source: str, contracts_dir: Path | None = None) -> Contract:
    """Read and check `<contracts_dir>/<source>.yaml` (the project's data_contracts/ by default)."""
    folder = contracts_dir if contracts_dir is not None else config.CONTRACTS_DIR
    path = folder / f"{source}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"No data contract for source {source!r}: expected {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    contract = _parse_contract(raw, path)
    if contract.source != source:
        raise ValueError(f"{path}: key 'source' is {contract.source!r} but the file is named for {source!r}")
    return contract


def load_contracts(contracts_dir: Path | None = None) -> dict[str, Contract]:
    """All contracts, keyed by source, in load order (population first: others reference it)."""
    return {source: load_contract(source, contracts_dir) for source in SOURCES}


# --- parsing -----------------------------------------------------------------------------------------


def _parse_contract(raw: Any, path: Path) -> Contract:
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a contract must be a YAML mapping of keys to values")
    _reject_unknown(raw, _TOP_KEYS, path, "top level")
    for key in _REQUIRED_TOP_KEYS:
        if key not in raw:
            raise ValueError(f"{path}: required key {key!r} is missing")

    date_format = str(raw.get("date_format", "%Y-%m-%d"))
    try:
        datetime(2000, 1, 31).strftime(date_format)
    except ValueError as exc:
        raise ValueError(f"{path}: key 'date_format' {date_format!r} is not a strftime format") from exc

    columns_raw = raw["columns"]
    if not isinstance(columns_raw, list) or not columns_raw:
        raise ValueError(f"{path}: key 'columns' must be a non-empty list")
    columns = tuple(_parse_column(item, i, path, date_format) for i, item in enumerate(columns_raw))
    names = [c.name for c in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"{path}: key 'columns' lists {', '.join(duplicated)} more than once")

    patterns = raw["file_patterns"]
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns:
        raise ValueError(f"{path}: key 'file_patterns' must be a non-empty list of glob patterns")

    share = raw.get("max_rejected_share", 0.0)
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0.0 <= share <= 1.0:
        raise ValueError(f"{path}: key 'max_rejected_share' must be a number from 0 to 1, not {share!r}")

    unique = tuple(_parse_unique(raw.get("unique") or [], names, path))
    types = {c.name: c.type for c in columns}
    row_rules = tuple(
        _parse_row_rule(item, i, types, path) for i, item in enumerate(raw.get("row_rules") or [])
    )

    return Contract(
        source=str(raw["source"]),
        title=str(raw["title"]),
        description=" ".join(str(raw.get("description", "")).split()),
        file_patterns=tuple(str(p) for p in patterns),
        date_format=date_format,
        max_rejected_share=float(share),
        unique=unique,
        columns=columns,
        row_rules=row_rules,
        path=path,
    )


def _parse_column(item: Any, index: int, path: Path, date_format: str) -> Column:
    where = f"columns[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{path}: {where} must be a mapping with at least 'name' and 'type'")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{path}: {where} has no 'name'")
    where = f"column {name!r}"
    _reject_unknown(item, _COLUMN_KEYS, path, where)
    col_type = item.get("type")
    if col_type not in COLUMN_TYPES:
        raise ValueError(
            f"{path}: {where}: key 'type' is {col_type!r}; expected one of {', '.join(COLUMN_TYPES)}"
        )

    allowed = item.get("allowed")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise ValueError(f"{path}: {where}: key 'allowed' must be a non-empty list of codes")
        # YAML reads unquoted 4 as an int; codes are compared as the text the file holds.
        allowed = tuple(str(v) for v in allowed)

    regex = item.get("regex")
    if regex is not None:
        try:
            re.compile(str(regex))
        except re.error as exc:
            raise ValueError(
                f"{path}: {where}: key 'regex' is not a valid regular expression: {exc}"
            ) from exc
        regex = str(regex)

    bounds = {
        key: _parse_bound(item.get(key), col_type, path, where, key, date_format) for key in ("min", "max")
    }

    not_after = item.get("not_after")
    if not_after is not None and (col_type != "date" or not_after not in NOT_AFTER_VALUES):
        raise ValueError(f"{path}: {where}: key 'not_after' must be 'extract_date' on a date column")

    references = item.get("references")
    if references is not None and (not isinstance(references, str) or references.count(".") != 1):
        raise ValueError(
            f"{path}: {where}: key 'references' must look like 'source.column', not {references!r}"
        )

    flags = {}
    for key in ("required", "identifier", "personal"):
        value = item.get(key, False)
        if not isinstance(value, bool):
            raise ValueError(f"{path}: {where}: key {key!r} must be true or false, not {value!r}")
        flags[key] = value

    return Column(
        name=name,
        type=col_type,
        required=flags["required"],
        allowed=allowed,
        regex=regex,
        min=bounds["min"],
        max=bounds["max"],
        not_after=not_after,
        identifier=flags["identifier"],
        personal=flags["personal"],
        description=str(item.get("description", "")),
        references=references,
    )


def _parse_bound(
    value: Any, col_type: str, path: Path, where: str, key: str, date_format: str
) -> Bound | None:
    if value is None:
        return None
    if col_type == "string":
        raise ValueError(f"{path}: {where}: key {key!r} only applies to date, integer and decimal columns")
    if col_type == "date":
        if isinstance(value, date):
            return value
        for fmt in ("%Y-%m-%d", date_format):
            try:
                return datetime.strptime(str(value), fmt).date()
            except ValueError:
                continue
        raise ValueError(f"{path}: {where}: key {key!r} {value!r} is not a date (write it as YYYY-MM-DD)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{path}: {where}: key {key!r} must be a number, not {value!r}")
    if col_type == "integer":
        if float(value) != int(value):
            raise ValueError(f"{path}: {where}: key {key!r} must be a whole number on an integer column")
        return int(value)
    return float(value)


def _parse_unique(raw: Any, names: list[str], path: Path) -> list[tuple[str, ...]]:
    if not isinstance(raw, list):
        raise ValueError(f"{path}: key 'unique' must be a list of column lists")
    keys = []
    for item in raw:
        key = [item] if isinstance(item, str) else item
        if not isinstance(key, list) or not key:
            raise ValueError(f"{path}: key 'unique' must be a list of column lists, not {item!r}")
        unknown = [c for c in key if c not in names]
        if unknown:
            raise ValueError(f"{path}: key 'unique' names unknown column(s) {', '.join(map(str, unknown))}")
        keys.append(tuple(str(c) for c in key))
    return keys


def _parse_row_rule(item: Any, index: int, types: Mapping[str, str], path: Path) -> RowRule:
    where = f"row_rules[{index}]"
    if not isinstance(item, dict):
        raise ValueError(f"{path}: {where} must be a mapping with rule, column and other")
    _reject_unknown(item, _ROW_RULE_KEYS, path, where)
    rule = item.get("rule")
    if rule not in ROW_RULES:
        raise ValueError(f"{path}: {where}: key 'rule' is {rule!r}; expected one of {', '.join(ROW_RULES)}")
    for key in ("column", "other"):
        if item.get(key) not in types:
            raise ValueError(f"{path}: {where}: key {key!r} names unknown column {item.get(key)!r}")
    column_type, other_type = types[item["column"]], types[item["other"]]
    if rule == "not_before" and (column_type != other_type or column_type == "string"):
        raise ValueError(
            f"{path}: {where}: 'not_before' compares two date or two number columns of the same type"
        )
    return RowRule(
        rule=rule, column=item["column"], other=item["other"], description=str(item.get("description", ""))
    )


def _reject_unknown(mapping: dict[str, Any], known: frozenset[str], path: Path, where: str) -> None:
    unknown = sorted(set(map(str, mapping)) - known)
    if unknown:
        raise ValueError(
            f"{path}: unknown key {', '.join(repr(k) for k in unknown)} at {where}; "
            f"allowed keys are {', '.join(sorted(known))}"
        )
