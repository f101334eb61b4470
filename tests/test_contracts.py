"""Data contracts: loading, compiled suites, row rejections and their messages, the check, the report."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from oba_pipeline.contracts import validate
from oba_pipeline.contracts.contract import SOURCES, Contract, load_contract, load_contracts
from oba_pipeline.contracts.report import write_report
from oba_pipeline.contracts.validate import (
    CheckOutcome,
    ValidationOutcome,
    build_suite,
    check_accepted,
    validate_extract,
)
from oba_pipeline.errors import FileRuleError
from oba_pipeline.ingest.staging import to_staged
from oba_pipeline.workers import WorkersSettingError, workers_setting_of

EXTRACT_DATE = date(2025, 3, 31)
LOCALITIES = {"population.locality": {"L1", "L2"}}
ADVICE = (
    "Correct it in the source system and re-export; this row was set aside in rejected_rows and the rest "
    "of the file was loaded."
)

GOOD_REFERRAL: dict[str, str | None] = {
    "referral_id": "R1",
    "child_id": "C1",
    "date_of_birth": "2015-06-01",
    "sex": "M ",
    "ethnicity": "WBRI",
    "locality": " L1",
    "referral_date": "2024-01-10",
    "referral_source": "1A",
    "primary_need_code": "N1",
    "referral_nfa": "N",
    "assessment_start_date": "2024-01-11",
    "assessment_authorised_date": "2024-02-01",
    "s47_start_date": "",
    "cpp_start_date": "2024-03-01",
    "cpp_end_date": "2024-09-01",
    "cpp_category": "NEG",
    "cpp_previous_plans": "2",
    "cla_start_date": None,
    "cla_end_date": None,
    "closure_date": "2024-10-01",
    "closure_reason": "RC1",
}

# (referral_id, changes) in file order; the header is row 1, so the first of these is row 2.
REFERRAL_ROWS: list[tuple[str, dict[str, str | None]]] = [
    ("R1", {}),
    ("R2", {"ethnicity": "   ", "closure_reason": None, "closure_date": None}),
    ("R3", {"sex": ""}),
    ("R4", {"assessment_authorised_date": "2021-02-30"}),
    ("R5", {"cpp_previous_plans": "2.5"}),
    ("R6", {"sex": "X"}),
    ("R 7!", {}),
    ("R8", {"locality": "L9"}),
    (
        "R9",
        {"referral_date": "1999-12-31", "date_of_birth": "1990-01-01", "assessment_start_date": "2000-01-05"},
    ),
    ("R10", {"cpp_previous_plans": "51"}),
    ("R11", {"closure_date": "2025-04-01"}),
    ("R12", {"assessment_start_date": "2024-01-09"}),
    ("R13", {"closure_date": "  "}),
    ("R14", {"child_id": "C14a"}),
    ("R14", {"child_id": "C14b"}),
    ("R1", {}),  # an exact copy of row 2
    ("R17", {"referral_date": "2015-05-31"}),  # before the child's date of birth
]

# (row, column, rule, value as shown, wording of the problem)
EXPECTED_REJECTIONS = [
    (4, "sex", "required", "(empty)", "is empty, but this column is required"),
    (5, "assessment_authorised_date", "type date", "'2021-02-30'", "not a real date in the form YYYY-MM-DD"),
    (6, "cpp_previous_plans", "type integer", "'2.5'", "not a whole number"),
    (7, "sex", "allowed", "'X'", "not one of the allowed codes: M, F, U"),
    (8, "referral_id", "regex", "<withheld: identifier>", "does not match the expected pattern"),
    (9, "locality", "references population.locality", "'L9'", "not a locality listed in the population file"),
    (10, "referral_date", "min", "'1999-12-31'", "before the earliest allowed date 2000-01-01"),
    (11, "cpp_previous_plans", "max", "'51'", "above the maximum 50"),
    (12, "closure_date", "not_after extract_date", "'2025-04-01'", "after the extract date 2025-03-31"),
    (
        13,
        "assessment_start_date",
        "not_before referral_date",
        "'2024-01-09'",
        "is before referral_date ('2024-01-10'): an assessment does not start before its referral",
    ),
    (14, "closure_reason", "requires closure_date", "'RC1'", "is filled in but closure_date is empty"),
    (
        15,
        "referral_id",
        "unique referral_id",
        "<withheld: identifier>",
        "the same referral_id is on more than one row: referrals.csv row 15, referrals.csv row 16",
    ),
    (
        16,
        "referral_id",
        "unique referral_id",
        "<withheld: identifier>",
        "the same referral_id is on more than one row",
    ),
    (
        18,
        "referral_date",
        "not_before date_of_birth",
        "'2015-05-31'",
        "is before date_of_birth (<withheld: personal>): a referral is not before the child's date of birth",
    ),
]


def referral_frame(
    rows: list[tuple[str, dict[str, str | None]]], file: str = "referrals.csv"
) -> pl.DataFrame:
    records = [{**GOOD_REFERRAL, "referral_id": rid, **changes} for rid, changes in rows]
    frame = pl.DataFrame(records, schema={name: pl.Utf8 for name in GOOD_REFERRAL})
    return frame.with_columns(
        pl.lit(file).alias("_source_file"), pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_source_row")
    )


@pytest.fixture(scope="module")
def referrals() -> Contract:
    return load_contract("referrals")


@pytest.fixture(scope="module")
def outcome(referrals: Contract) -> ValidationOutcome:
    return validate_extract(
        referral_frame(REFERRAL_ROWS), referrals, extract_date=EXTRACT_DATE, references=LOCALITIES
    )


# --- contracts -----------------------------------------------------------------------------------------


def test_all_contracts_load_in_source_order():
    contracts = load_contracts()
    assert tuple(contracts) == SOURCES
    referrals = contracts["referrals"]
    assert referrals.identifier_columns == ("referral_id", "child_id")
    assert referrals.personal_columns == ("date_of_birth",)
    assert referrals.unique == (("referral_id",),)
    assert referrals.column("referral_date").min == date(2000, 1, 1)
    assert referrals.column("locality").references == "population.locality"
    assert contracts["caseloads"].max_rejected_share == 0.05
    assert contracts["population"].path is not None and contracts["population"].path.name == "population.yaml"


@pytest.mark.parametrize(
    ("yaml_text", "complaint"),
    [
        (
            "source: demo\ntitle: Demo\nfile_patterns: [demo*.csv]\ncolour: red\n"
            "columns:\n  - {name: a, type: string}\n",
            "unknown key 'colour'",
        ),
        (
            "source: demo\ntitle: Demo\nfile_patterns: [demo*.csv]\ncolumns:\n  - {name: a, type: text}\n",
            "key 'type' is 'text'",
        ),
        (
            "source: demo\ntitle: Demo\nfile_patterns: [demo*.csv]\n"
            "columns:\n  - {name: a, type: string, mandatory: true}\n",
            "unknown key 'mandatory' at column 'a'",
        ),
        (
            "source: demo\ntitle: Demo\nfile_patterns: [demo*.csv]\nunique: [[b]]\n"
            "columns:\n  - {name: a, type: string}\n",
            "unknown column(s) b",
        ),
    ],
    ids=["top-level key", "column type", "column key", "unique column"],
)
def test_malformed_contract_names_file_and_key(tmp_path: Path, yaml_text: str, complaint: str):
    (tmp_path / "demo.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_contract("demo", tmp_path)
    assert str(tmp_path / "demo.yaml") in str(caught.value)
    assert complaint in str(caught.value)


def test_build_suite_compiles_each_rule_kind(referrals: Contract):
    fmt = build_suite(referrals, phase="format", extract_date=EXTRACT_DATE, references=LOCALITIES)
    values = build_suite(referrals, phase="values", extract_date=EXTRACT_DATE, references=LOCALITIES)
    fmt_types = {e.expectation_type for e in fmt.expectations}
    assert fmt_types == {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_in_set",
    }
    value_types = {e.expectation_type for e in values.expectations}
    assert value_types == {
        "expect_column_values_to_be_between",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
    }
    rules = {e.meta["rule"] for e in fmt.expectations + values.expectations}
    assert {
        "references population.locality",
        "not_before date_of_birth",
        "requires cpp_start_date",
        "not_after extract_date",
        "unique referral_id",
    } <= rules
    # Without the population list the reference check is left out, not failed.
    without = build_suite(referrals, phase="format", extract_date=EXTRACT_DATE, references=None)
    assert "references population.locality" not in {e.meta["rule"] for e in without.expectations}
    # Pure: the same inputs compile to the same suite.
    again = build_suite(referrals, phase="values", extract_date=EXTRACT_DATE, references=LOCALITIES)
    assert [e.configuration.to_json_dict() for e in again.expectations] == [
        e.configuration.to_json_dict() for e in values.expectations
    ]


def test_compound_key_compiles_to_compound_uniqueness():
    suite = build_suite(
        load_contract("caseloads"), phase="values", extract_date=EXTRACT_DATE, references=None
    )
    compound = [e for e in suite.expectations if e.expectation_type == "expect_compound_columns_to_be_unique"]
    assert [e.column_list for e in compound] == [["worker_id", "snapshot_date"]]


# --- row-level rejection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "rule", "shown", "problem"),
    EXPECTED_REJECTIONS,
    ids=[f"{r[2]}-row{r[0]}" for r in EXPECTED_REJECTIONS],
)
def test_each_rule_rejects_its_row_with_a_clear_message(
    outcome: ValidationOutcome, row: int, column: str, rule: str, shown: str, problem: str
):
    found = outcome.rejected.filter((pl.col("row") == row) & (pl.col("rule") == rule))
    assert found.height == 1, outcome.rejected.filter(pl.col("row") == row).to_dicts()
    record = found.row(0, named=True)
    assert (record["source"], record["file"], record["column"]) == ("referrals", "referrals.csv", column)
    message = record["message"]
    assert message.startswith(f"referrals.csv row {row}, column {column}, value {shown}: ")
    assert problem in message
    assert message.endswith(f"(rule: {rule}). {ADVICE}")


def test_message_wording_matches_the_agreed_form(outcome: ValidationOutcome):
    message = outcome.rejected.filter(pl.col("rule") == "type date")["message"].item()
    assert message == (
        "referrals.csv row 5, column assessment_authorised_date, value '2021-02-30': not a real date in the "
        f"form YYYY-MM-DD (rule: type date). {ADVICE}"
    )


def test_duplicate_rows_keep_the_first(outcome: ValidationOutcome):
    duplicate = outcome.rejected.filter(pl.col("rule") == "duplicate_row")
    assert duplicate.select("row", "column").rows() == [(17, "(all columns)")]
    assert duplicate["message"].item().startswith("referrals.csv row 17: an exact copy of row 2 ")
    assert 2 in outcome.accepted["_source_row"].to_list()


def test_only_broken_rows_are_set_aside(outcome: ValidationOutcome):
    assert sorted(outcome.accepted["_source_row"].to_list()) == [2, 3]
    assert outcome.rows_read == len(REFERRAL_ROWS)
    assert outcome.rejected_row_count == len(REFERRAL_ROWS) - 2
    assert outcome.rejected_share == pytest.approx(15 / 17)
    assert outcome.rejected.schema == pl.Schema(
        {
            "source": pl.Utf8,
            "file": pl.Utf8,
            "row": pl.Int64,
            "column": pl.Utf8,
            "value": pl.Utf8,
            "rule": pl.Utf8,
            "message": pl.Utf8,
        }
    )
    # Rows failing the format rules never reach the value rules, so each row here breaks exactly one rule.
    assert outcome.rejected.height == outcome.rejected_row_count


def test_accepted_rows_are_typed_and_trimmed(outcome: ValidationOutcome, referrals: Contract):
    accepted = outcome.accepted.sort("_source_row")
    assert accepted.columns == [*referrals.column_names, "_source_file", "_source_row"]
    assert accepted.schema["referral_date"] == pl.Date
    assert accepted.schema["cpp_previous_plans"] == pl.Int64
    assert accepted.schema["sex"] == pl.Utf8
    first = accepted.row(0, named=True)
    assert first["referral_date"] == date(2024, 1, 10)
    assert first["cpp_previous_plans"] == 2
    assert (first["sex"], first["locality"]) == ("M", "L1")  # codes arrive padded; checked and kept trimmed
    assert first["s47_start_date"] is None
    assert accepted.row(1, named=True)["ethnicity"] is None  # whitespace-only is missing


def test_identifier_and_personal_values_are_never_echoed(outcome: ValidationOutcome):
    everything = " ".join(outcome.rejected["message"].to_list()) + " ".join(
        str(v) for v in outcome.rejected["value"].to_list()
    )
    for secret in ("R 7!", "R14", "C14a", "2015-06-01"):
        assert secret not in everything
    samples = [x["value"] for e in outcome.expectations for x in e["unexpected"]]
    assert "R 7!" not in samples and "<withheld: identifier>" in samples


def test_expectations_summarise_every_rule(outcome: ValidationOutcome):
    by_rule = {(e["rule"], e["column"]): e for e in outcome.expectations}
    date_rule = by_rule[("type date", "assessment_authorised_date")]
    assert date_rule["success"] is False
    assert date_rule["unexpected_count"] == 1
    assert date_rule["engine"] == "great_expectations"
    assert date_rule["kind"] == "expect_column_values_to_match_regex"
    assert date_rule["unexpected"] == [{"file": "referrals.csv", "row": 5, "value": "2021-02-30"}]
    assert by_rule[("allowed", "ethnicity")]["success"] is True
    assert by_rule[("duplicate_row", "(all columns)")]["engine"] == "polars"


def test_messages_are_limited_and_say_how_many_more(outcome: ValidationOutcome):
    lines = outcome.messages(limit=3)
    assert len(lines) == 4
    assert (
        lines[-1] == f"... and {outcome.rejected.height - 3} more problem(s) in the referrals rejected rows."
    )


def test_decimal_and_compound_key_rules_on_caseloads():
    caseloads = load_contract("caseloads")
    good = {
        "snapshot_date": "2025-01-31",
        "worker_id": "W1",
        "team": "T",
        "locality": "L1",
        "role": "social_worker ",
        "fte": "0.5",
        "cases_held": "12",
    }
    rows = [
        good,
        {**good, "worker_id": "W2", "fte": "0,5"},
        {**good, "worker_id": "W3", "fte": "1.5"},
        {**good, "team": "Other team"},
    ]
    frame = pl.DataFrame(rows, schema={c: pl.Utf8 for c in good})
    result = validate_extract(frame, caseloads, extract_date=EXTRACT_DATE, references=LOCALITIES)
    rejected = {(r["row"], r["rule"]): r for r in result.rejected.to_dicts()}
    assert rejected[(3, "type decimal")]["value"] == "0,5"
    assert rejected[(3, "type decimal")]["message"].startswith(
        "caseloads row 3, column fte, value '0,5': not a number"
    )
    assert rejected[(4, "max")]["message"].startswith(
        "caseloads row 4, column fte, value '1.5': above the maximum 1"
    )
    key = rejected[(5, "unique worker_id + snapshot_date")]
    assert key["column"] == "worker_id, snapshot_date"
    assert key["value"] == "<withheld: identifier> | 2025-01-31"
    assert (2, "unique worker_id + snapshot_date") in rejected
    assert result.accepted.height == 0
    assert "W1" not in " ".join(result.rejected["message"].to_list())


def test_rows_across_files_are_told_apart(referrals: Contract):
    first = referral_frame([("R1", {})], file="referrals_a.csv")
    second = referral_frame([("R1", {"child_id": "C9"})], file="referrals_b.csv")
    result = validate_extract(
        pl.concat([first, second]), referrals, extract_date=EXTRACT_DATE, references=LOCALITIES
    )
    assert result.rejected.select("file", "row").rows() == [("referrals_a.csv", 2), ("referrals_b.csv", 2)]
    assert "referrals_a.csv row 2, referrals_b.csv row 2" in result.rejected["message"][0]


def test_frame_without_a_required_column_is_a_file_error(referrals: Contract):
    frame = referral_frame([("R1", {})]).drop("referral_date")
    with pytest.raises(FileRuleError, match="required column\\(s\\) missing: referral_date"):
        validate_extract(frame, referrals, extract_date=EXTRACT_DATE, references=LOCALITIES)


# --- the accepted-table check --------------------------------------------------------------------------


def test_check_accepted_passes_on_accepted_output(outcome: ValidationOutcome, referrals: Contract):
    check = check_accepted(
        outcome.accepted, referrals, extract_date=EXTRACT_DATE, references=LOCALITIES, rejected_share=0.05
    )
    assert isinstance(check, CheckOutcome)
    assert check.passed, check.failures
    assert check.failures == []
    assert all(e["success"] for e in check.expectations)
    assert len(check.expectations) > 30


def test_check_accepted_fails_above_the_rejected_share_limit(outcome: ValidationOutcome, referrals: Contract):
    check = check_accepted(
        outcome.accepted,
        referrals,
        extract_date=EXTRACT_DATE,
        references=LOCALITIES,
        rejected_share=outcome.rejected_share,
    )
    assert not check.passed
    assert check.failures == [
        "referrals: 88.2% of rows were rejected, above the contract's limit of 5.0%. Look at the rejected "
        "rows, correct them in the source system and re-export."
    ]


def test_check_accepted_fails_when_a_rule_is_broken(outcome: ValidationOutcome, referrals: Contract):
    tampered = outcome.accepted.with_columns(pl.lit(date(2026, 1, 1)).alias("closure_date"))
    check = check_accepted(tampered, referrals, extract_date=EXTRACT_DATE, references=LOCALITIES)
    assert not check.passed
    assert any(
        "closure_date is not after the extract date (2025-03-31)" in f and "referrals.csv row 2" in f
        for f in check.failures
    )


# --- the HTML report -----------------------------------------------------------------------------------


def test_report_escapes_values_and_stands_alone(
    tmp_path: Path, referrals: Contract, outcome: ValidationOutcome
):
    hostile = validate_extract(
        referral_frame([("R1", {"sex": "<script>alert('x')</script>"})]),
        referrals,
        extract_date=EXTRACT_DATE,
        references=LOCALITIES,
    )
    check = check_accepted(outcome.accepted, referrals, extract_date=EXTRACT_DATE, references=LOCALITIES)
    path = write_report([hostile, outcome, check], tmp_path / "reports" / "validation.html")
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "http://" not in text and "https://" not in text and "<link" not in text
    assert "referral_id" in text and "Referrals and episodes of need" in text
    assert "R 7!" not in text and "&lt;withheld: identifier&gt;" in text
    assert "2021-02-30" in text and "referrals.csv row 5" in text


def test_report_accepts_a_single_outcome_or_a_mapping(tmp_path: Path, outcome: ValidationOutcome):
    one = write_report(outcome, tmp_path / "one.html").read_text(encoding="utf-8")
    many: dict[str, Any] = {"referrals": outcome}
    mapped = write_report(many, tmp_path / "many.html").read_text(encoding="utf-8")
    assert one.count("<section>") == mapped.count("<section>") == 1
    assert "Too many rows rejected" in one


def test_the_date_pattern_accepts_exactly_what_strptime_accepts() -> None:
    """The ISO date rule is a regex (fast in pandas); it must agree with strptime, leap days included."""
    import re
    from datetime import datetime

    from oba_pipeline.contracts.suite import ISO_DATE_PATTERN

    def parses(text: str) -> bool:
        try:
            datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return False
        return True

    pattern = re.compile(ISO_DATE_PATTERN)
    months = ["1", "01", "2", "02", "4", "04", "9", "09", "10", "11", "12", "13", "00", "0", " 1", "001"]
    days = ["1", "01", "9", " 9", "28", "29", "30", "31", "32", "00", "0", "010", " 10"]
    years = [*range(0, 40), *range(1580, 2500), 9996, 9999]
    texts = [f"{y:04d}-{m}-{d}" for y in years for m in months for d in days]
    texts += ["2021-02-30", "abcd-01-01", "2021-1-1x", "20210101", "2021/01/01", "+202-01-01", "21-01-01"]
    disagree = [t for t in texts if bool(pattern.match(t)) != parses(t)]
    assert disagree == []
    assert pattern.match("2024-02-29") and not pattern.match("2023-02-29") and not pattern.match("1900-02-29")


@pytest.mark.parametrize("workers", [1, 2], ids=["in this process", "two worker processes"])
def test_small_chunks_give_the_same_outcome_and_check(
    outcome: ValidationOutcome, referrals: Contract, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    # Duplicate rows, repeated keys and every other rule straddle chunk boundaries of two rows; with two
    # workers the chunks are judged out of order and must still be handed on in table order.
    monkeypatch.setattr(validate, "CHUNK_CELLS", 2 * len(referrals.column_names))  # two rows a chunk
    chunked = validate_extract(
        referral_frame(REFERRAL_ROWS), referrals, extract_date=EXTRACT_DATE, references=LOCALITIES, workers=workers
    )
    assert chunked.rejected.equals(outcome.rejected)
    assert chunked.accepted.equals(outcome.accepted)
    assert chunked.expectations == outcome.expectations
    tampered = outcome.accepted.with_columns(pl.lit("R1").alias("referral_id"))
    whole = check_accepted(tampered, referrals, extract_date=EXTRACT_DATE, references=LOCALITIES, workers=workers)
    assert not whole.passed
    assert any("unique referral_id" in failure for failure in whole.failures)
    monkeypatch.setattr(validate, "CHUNK_CELLS", 10**9)
    assert check_accepted(tampered, referrals, extract_date=EXTRACT_DATE, references=LOCALITIES) == whole


def test_chunks_are_pseudonymised_where_they_are_judged_with_the_same_result(
    outcome: ValidationOutcome, referrals: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Staging hands each chunk's accepted rows to to_staged in the worker that judged it; the rows come back
    # in table order, pseudonymised and without personal columns, as if staged afterwards in one piece.
    key = b"k" * 32
    monkeypatch.setattr(validate, "CHUNK_CELLS", 2 * len(referrals.column_names))
    staged = validate_extract(referral_frame(REFERRAL_ROWS), referrals, extract_date=EXTRACT_DATE,
                              references=LOCALITIES, workers=2, transform=partial(to_staged, referrals, key=key))
    assert staged.accepted.equals(to_staged(referrals, outcome.accepted, key))
    assert staged.rejected.equals(outcome.rejected)
    assert {"referral_id", "child_id", "date_of_birth"}.isdisjoint(staged.accepted.columns)
    assert {"referral_key", "child_key", "age_at_referral"} <= set(staged.accepted.columns)


def test_a_wide_extract_is_validated_in_fewer_rows_at_a_time() -> None:
    # A chunk's memory grows with its cells, so the 21-column referrals take fewer rows than the family readings.
    contracts = load_contracts()
    for contract in contracts.values():
        assert 0 < validate.chunk_rows(contract) * len(contract.column_names) <= validate.CHUNK_CELLS
    assert validate.chunk_rows(contracts["referrals"]) < validate.chunk_rows(contracts["family_outcomes"])


def test_a_whitespace_only_difference_is_still_a_duplicate_row(referrals: Contract) -> None:
    # Trimming removes any Unicode space (a no-break space too), in DuckDB as in polars.
    frame = referral_frame([("R1", {}), ("R1", {"sex": "M\u00a0"}), ("R2", {"sex": " M\t"})])
    result = validate_extract(frame, referrals, extract_date=EXTRACT_DATE, references=LOCALITIES)
    duplicates = result.rejected.filter(rule="duplicate_row")
    assert duplicates.select("row").to_series().to_list() == [3]
    assert "an exact copy of row 2" in duplicates["message"][0]


def test_the_validation_workers_setting_defaults_to_one_process_and_names_a_bad_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OBA_VALIDATION_WORKERS", raising=False)
    assert workers_setting_of("OBA_VALIDATION_WORKERS", default=1) == 1
    monkeypatch.setenv("OBA_VALIDATION_WORKERS", "2")
    assert workers_setting_of("OBA_VALIDATION_WORKERS", default=1) == 2
    monkeypatch.setenv("OBA_VALIDATION_WORKERS", "all")
    with pytest.raises(WorkersSettingError, match=r"OBA_VALIDATION_WORKERS must be a whole number .* not 'all'.* "
                                                 r"unset it for 1 \(the default\)"):
        workers_setting_of("OBA_VALIDATION_WORKERS", default=1)
