"""Landing and staging assets for each local extract, generated from its data contract.

For every source there is:
- `<source>_extract`: the files exactly as they arrived, copied into the landing area and loaded as
  text into `raw_<source>`. A file-level rule that breaks (no file, unreadable, a required column
  missing) stops this source here, and nothing already published changes.
- `<source>`: the rows that keep every row-level rule, typed and pseudonymised, in `stg_<source>`;
  rows that break a rule go to `rejected_rows` with the reason, and the rest carries on.
- `<source>_contract`: a blocking check that runs the contract's Great Expectations suite over the
  staged table, so nothing downstream is built on data that breaks its contract.
"""


import hashlib
import logging
import shutil
import tempfile
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import append_rows, registered, replace_rows, row_count, swap_in
from oba_pipeline.contracts.contract import Contract, load_contract
from oba_pipeline.contracts.report import write_report
from oba_pipeline.contracts.validate import ValidationSummary, check_table, validate_table
from oba_pipeline.errors import FileRuleError
from oba_pipeline.ingest.pseudonymise import load_key
from oba_pipeline.ingest.readers import find_extract_files, land_extract
from oba_pipeline.ingest.staging import key_column, staged_contract, to_staged
from oba_pipeline.resources import OBASettings
from oba_pipeline.workers import workers_setting_of

log = logging.getLogger(__name__)

SOURCES = ("population", "referrals", "caseloads", "spend", "family_outcomes")
MAX_MESSAGES_LOGGED = 20
WITHHELD = "<withheld>"
REJECTED_FILE = "rejected_rows.csv"
# Processes validating an extract of more than one chunk. One by default: on 2 cores, 8 million family
# readings staged in 100 s in one process and 93 s in two, as polars and DuckDB already use both cores.
VALIDATION_WORKERS_ENV = "OBA_VALIDATION_WORKERS"
# Reading extracts from a network share or mounted drive fails now and then for reasons that pass.
READ_RETRIES = dg.RetryPolicy(max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

DESCRIPTIONS = {
    "population": "Children aged 0 to 17 in each locality by mid-year: the denominator of every rate per child.",
    "referrals": "Referrals to children's social care and what followed: assessments, plans, care, closure.",
    "caseloads": "Month-end caseloads of each social worker: the capacity side of the system.",
    "spend": "Children's services spend by Section 251 line and month: prevention against late intervention.",
    "family_outcomes": "What families and children say about their lives, from the outcome tools they fill in.",
}


def build_source_assets(source: str) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition, dg.AssetChecksDefinition]:
    contract = load_contract(source)
    upstream_refs = [dg.AssetKey(ref.split(".")[0]) for ref in contract.references]

    @dg.asset(name=f"{source}_extract", group_name="landing", kinds={"duckdb", "polars"}, retry_policy=READ_RETRIES,
              description=f"{contract.title}, exactly as the night's files arrived (kept in the landing area).")
    def extract(context: AssetExecutionContext, oba: OBASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        home = oba.layout
        landing = home.landing / context.run_id / source
        digests, rows = {}, 0
        with duckdb.get_connection() as con:
            # One file in memory at a time. The files load into a scratch table that replaces raw_<source> only
            # once all of them have: a file that breaks a file-level rule leaves last night's table in place.
            scratch = f"_landing_{source}"
            try:
                files = find_extract_files(oba.inputs, contract)
                # Beside the copies of the files in landing: the Parquet holds identifiers too, so it stays
                # where they are kept (and is removed with them if a run dies before cleaning up).
                landing.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(prefix="parquet-", dir=landing) as scratch_folder:
                    for number, path in enumerate(files):
                        # Through Parquet: a large CSV streams from its file into the table in batches.
                        parquet = Path(scratch_folder) / f"{number}.parquet"
                        rows += land_extract(path, contract, parquet)
                        into = (f'create or replace table "{scratch}" as' if number == 0
                                else f'insert into "{scratch}" by name')
                        con.execute(f"{into} select * from read_parquet($file)", {"file": str(parquet)})
                        parquet.unlink()
                swap_in(con, {f"raw_{source}": scratch})
            except FileRuleError as error:
                context.log.error(str(error))
                # A broken file stays broken: no retry, the data team must act.
                raise dg.Failure(description=str(error), allow_retries=False,
                                 metadata={"source": source, "rule": error.rule, "file": str(error.file)}) from error
            finally:
                con.execute(f'drop table if exists "{scratch}"')  # already gone once swapped in
        for path in files:
            shutil.copy2(path, landing / path.name)
            with path.open("rb") as handle:
                digests[path.name] = hashlib.file_digest(handle, "sha256").hexdigest()
        return dg.MaterializeResult(metadata={
            "rows": rows, "files": dg.MetadataValue.json(digests),
            "landing_folder": dg.MetadataValue.path(str(landing)),
        })

    @dg.asset(name=source, group_name="staging", kinds={"duckdb", "polars"},
              deps=[extract, *upstream_refs], description=DESCRIPTIONS[source])
    def staged(context: AssetExecutionContext, oba: OBASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        home = oba.layout
        key = load_key()
        workers = workers_setting_of(VALIDATION_WORKERS_ENV, default=1)  # a mistyped value stops the step here
        folder = home.landing / context.run_id / source
        with duckdb.get_connection() as con:
            references = _references(con, contract)
            outcome = _stage(con, contract, key, references, workers)
            replace_rows(con, "source_loads", _load_summary(con, contract, outcome, _newest_file_time(folder)),
                         source=source)
            _keep_rejected_for_data_team(con, contract, folder)
            by_rule = con.execute("select rule, count(*) from rejected_rows where source = $source "
                                  "group by rule order by rule", {"source": source}).fetchall()
        report = write_report(outcome, home.reports / "validation" / f"{source}.html")
        for message in outcome.messages(limit=MAX_MESSAGES_LOGGED):
            context.log.info(message)
        if outcome.rejected_row_count:
            context.log.warning(f"{contract.source}: {outcome.rejected_row_count} of {outcome.rows_read} rows "
                                f"set aside; see rejected_rows and {report}")
        return dg.MaterializeResult(metadata={
            "rows_read": outcome.rows_read, "rows_loaded": outcome.rows_accepted,
            "rows_rejected": outcome.rejected_row_count,
            "rejected_by_rule": dg.MetadataValue.json(dict(by_rule)),
            "validation_report": dg.MetadataValue.path(str(report)),
        })

    @dg.asset_check(asset=staged, name=f"{source}_contract", blocking=True,
                    description=f"The {contract.title.lower()} contract's Great Expectations suite holds over the "
                                "staged rows, and no more rows were rejected than the contract allows.")
    def contract_check(oba: OBASettings, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        workers = workers_setting_of(VALIDATION_WORKERS_ENV, default=1)
        with duckdb.get_connection() as con:
            loads = con.execute("select rows_read, rows_rejected from source_loads where source = $source",
                                {"source": source}).fetchone()
            references = _references(con, contract)
            rows_read, rows_rejected = loads if loads else (0, 0)
            share = rows_rejected / rows_read if rows_read else 0.0
            outcome = check_table(con, f"stg_{source}", staged_contract(contract), extract_date=date.today(),
                                  references=references, rejected_share=share, workers=workers,
                                  names={c: key_column(c) for c in contract.identifier_columns})
        return dg.AssetCheckResult(
            passed=outcome.passed,
            metadata={"rejected_share": round(share, 4), "max_rejected_share": contract.max_rejected_share,
                      "failures": dg.MetadataValue.json(outcome.failures[:MAX_MESSAGES_LOGGED])},
            description="; ".join(outcome.failures[:5]) if outcome.failures else "contract holds",
        )

    return extract, staged, contract_check


def _references(con: object, contract: Contract) -> dict[str, set[str]]:
    """Allowed values for columns that must match another source (e.g. locality codes)."""
    result: dict[str, set[str]] = {}
    for reference in contract.references:
        ref_source, ref_column = reference.split(".")
        rows = con.execute(f'select distinct "{ref_column}" from "stg_{ref_source}"').fetchall()  # type: ignore[attr-defined]
        result[reference] = {row[0] for row in rows if row[0] is not None}
    return result


def _stage(con: duckdb.DuckDBPyConnection, contract: Contract, key: bytes,
           references: dict[str, set[str]], workers: int | None) -> ValidationSummary:
    """Validate raw_<source> chunk by chunk into stg_<source> and rejected_rows. Only a chunk of rows is in
    memory at a time, and a failure part way leaves the last night's tables as they were: the accepted rows
    go to a scratch table, committed chunk by chunk, that takes stg_<source>'s place in one short transaction
    at the end. (One transaction around the whole staging would hold every uncommitted row in memory until
    it ended.)"""
    source = contract.source
    scratch = f"_staging_{source}"
    con.execute(f'drop table if exists "{scratch}"')
    con.execute('create or replace temp table _rejected (source varchar, file varchar, "row" bigint, '
                '"column" varchar, value varchar, rule varchar, message varchar, _order bigint)')

    def accept(rows: pl.DataFrame) -> None:
        append_rows(con, scratch, rows, create=True)

    def reject(rows: pl.DataFrame) -> None:
        if rows.height:
            append_rows(con, "_rejected", rows)

    def retract(rows: pl.DataFrame) -> None:
        if rows.height:
            with registered(con, rows, "retracted_frame"):
                con.execute(f'delete from "{scratch}" s using retracted_frame r '
                            "where s._source_file = r._source_file and s._source_row = r._source_row")

    try:
        expectations = validate_table(con, f"raw_{source}", contract, extract_date=date.today(),
                                      references=references, accept=accept, reject=reject, retract=retract,
                                      workers=workers,
                                      # pseudonymised where each chunk is judged: with workers, in parallel too
                                      transform=partial(to_staged, contract, key=key))
        rows_read = row_count(con, f"raw_{source}")
        rows_accepted = row_count(con, scratch)
        rejected_rows, problems = con.execute(
            'select count(distinct (file, "row")), count(*) from _rejected').fetchone()  # type: ignore[misc]
        first = [m for (m,) in con.execute('select message from _rejected order by file, "row", _order limit $n',
                                           {"n": MAX_MESSAGES_LOGGED}).fetchall()]
        # Identifiers and personal values are never copied to the warehouse's rejected rows.
        sensitive = [*contract.identifier_columns, *contract.personal_columns]
        con.execute('create table if not exists rejected_rows (source varchar, file varchar, "row" bigint, '
                    '"column" varchar, value varchar, rule varchar, message varchar)')
        swap_in(con, {f"stg_{source}": scratch}, then=[
            ("delete from rejected_rows where source = $source", {"source": source}),
            ('insert into rejected_rows by name select source, file, "row", "column", '
             'case when list_contains($sensitive, "column") then $withheld else value end as value, '
             'rule, message from _rejected order by file, "row", _order',
             {"sensitive": sensitive, "withheld": WITHHELD}),
        ])
    finally:
        con.execute(f'drop table if exists "{scratch}"')
    outcome = ValidationSummary(
        source=source, rows_read=rows_read, rows_accepted=rows_accepted, rejected_row_count=rejected_rows,
        problem_count=problems, first_problems=first, expectations=expectations,
        max_rejected_share=contract.max_rejected_share, title=contract.title,
    )
    log.info("%s: %d row(s) read, %d accepted, %d rejected (%.1f%%)", source, rows_read, rows_accepted,
             rejected_rows, 100 * outcome.rejected_share)
    return outcome


def _newest_file_time(folder: Path) -> datetime | None:
    """When the newest of a source's files was last written (UTC): taken from the files themselves, so the
    same extracts always publish the same `sources` table however often they are refreshed."""
    files = [path for path in folder.iterdir() if path.is_file() and path.name != REJECTED_FILE] \
        if folder.is_dir() else []
    times = [path.stat().st_mtime for path in files]
    if not times:
        return None
    return datetime.fromtimestamp(max(times), UTC).replace(tzinfo=None, microsecond=0)


def _load_summary(con: duckdb.DuckDBPyConnection, contract: Contract, outcome: ValidationSummary,
                  loaded_at: datetime | None) -> pl.DataFrame:
    source = contract.source
    (files,) = con.execute(f'select coalesce(string_agg(distinct _source_file, \', \' order by _source_file), \'\') '
                           f'from "raw_{source}"').fetchone()  # type: ignore[misc]
    staged = {d[0] for d in con.execute(f'select * from "stg_{source}" limit 0').description}
    dates = [c.name for c in contract.columns if c.type == "date" and c.name in staged]
    first, last = con.execute(
        f"select least({', '.join(f'min({_q(c)})' for c in dates)}), "
        f"greatest({', '.join(f'max({_q(c)})' for c in dates)}) from \"stg_{source}\""
    ).fetchone() if dates else (None, None)  # type: ignore[misc]
    return pl.DataFrame({
        "source": [source], "title": [contract.title], "files": [files],
        "rows_read": [outcome.rows_read], "rows_loaded": [outcome.rows_accepted],
        "rows_rejected": [outcome.rejected_row_count],
        "first_date": [first], "last_date": [last], "loaded_at": [loaded_at],
    }, schema={"source": pl.Utf8, "title": pl.Utf8, "files": pl.Utf8, "rows_read": pl.Int64,
               "rows_loaded": pl.Int64, "rows_rejected": pl.Int64, "first_date": pl.Date, "last_date": pl.Date,
               "loaded_at": pl.Datetime("us")})


def _q(name: str) -> str:
    return f'"{name}"'


def _keep_rejected_for_data_team(con: duckdb.DuckDBPyConnection, contract: Contract, folder: Path) -> None:
    """The rejected rows as they arrived, with their reasons, in the landing area for the data team."""
    if not con.execute("select count(*) from _rejected").fetchone()[0]:  # type: ignore[index]
        return
    rows = con.execute(
        f"""select raw.*, reasons from "raw_{contract.source}" raw join (
                select file, "row", string_agg(message, ' | ' order by _order) as reasons from _rejected group by all
            ) r on raw._source_file = r.file and raw._source_row = r."row" order by raw.rowid"""
    ).pl()
    folder.mkdir(parents=True, exist_ok=True)
    rows.write_csv(folder / REJECTED_FILE)


SOURCE_ASSETS = [build_source_assets(source) for source in SOURCES]
