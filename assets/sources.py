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


import dataclasses
import hashlib
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext
from dagster_duckdb import DuckDBResource

from assets.tables import read_table, replace_rows, replace_table
from oba_pipeline.contracts.contract import Contract, load_contract
from oba_pipeline.contracts.report import write_report
from oba_pipeline.contracts.validate import check_accepted, validate_extract
from oba_pipeline.errors import FileRuleError
from oba_pipeline.ingest.pseudonymise import load_key, pseudonymise_column
from oba_pipeline.ingest.readers import find_extract_files, read_extract
from oba_pipeline.resources import OBASettings

SOURCES = ("population", "referrals", "caseloads", "spend", "family_outcomes")
MAX_MESSAGES_LOGGED = 20
WITHHELD = "<withheld>"
REJECTED_FILE = "rejected_rows.csv"
# Reading extracts from a network share or mounted drive fails now and then for reasons that pass.
READ_RETRIES = dg.RetryPolicy(max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

DESCRIPTIONS = {
    "population": "Children aged 0 to 17 in each locality by mid-year: the denominator of every rate per child.",
    "referrals": "Referrals to children's social care and what followed: assessments, plans, care, closure.",
    "caseloads": "Month-end caseloads of each social worker: the capacity side of the system.",
    "spend": "Children's services spend by Section 251 line and month: prevention against late intervention.",
    "family_outcomes": "What families and children say about their lives, from the outcome tools they fill in.",
}


def key_column(identifier: str) -> str:
    """`child_id` becomes `child_key`: the pseudonym takes the identifier's place."""
    return identifier.removesuffix("_id") + "_key"


def staged_contract(contract: Contract) -> Contract:
    """The contract as it applies after ingestion: personal columns dropped, identifiers pseudonymised."""
    personal = set(contract.personal_columns)
    return dataclasses.replace(
        contract,
        columns=tuple(c for c in contract.columns if not c.personal),
        row_rules=tuple(r for r in contract.row_rules if r.column not in personal and r.other not in personal),
        unique=tuple(key for key in contract.unique if not personal.intersection(key)),
    )


def to_staged(contract: Contract, accepted: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Pseudonymise identifiers and replace personal details with what the indicators need."""
    frame = accepted
    if contract.source == "referrals":
        # Only the age at referral travels on; the date of birth stays in the landing area.
        frame = frame.with_columns(
            age_at_referral=(pl.col("referral_date").dt.year() - pl.col("date_of_birth").dt.year()
                             - ((pl.col("referral_date").dt.month() * 100 + pl.col("referral_date").dt.day())
                                < (pl.col("date_of_birth").dt.month() * 100 + pl.col("date_of_birth").dt.day()))
                             .cast(pl.Int32)).cast(pl.Int64)
        )
    frame = frame.drop(list(contract.personal_columns))
    for identifier in contract.identifier_columns:
        frame = pseudonymise_column(frame, identifier, key_column(identifier), identifier.removesuffix("_id"), key)
    return frame


def as_contract_columns(contract: Contract, staged: pl.DataFrame) -> pl.DataFrame:
    """The staged table under the contract's column names, so the contract's suite can run over it."""
    renames = {key_column(c): c for c in contract.identifier_columns}
    return staged.rename(renames)


def build_source_assets(source: str) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition, dg.AssetChecksDefinition]:
    contract = load_contract(source)
    upstream_refs = [dg.AssetKey(ref.split(".")[0]) for ref in contract.references]

    @dg.asset(name=f"{source}_extract", group_name="landing", kinds={"duckdb", "polars"}, retry_policy=READ_RETRIES,
              description=f"{contract.title}, exactly as the night's files arrived (kept in the landing area).")
    def extract(context: AssetExecutionContext, oba: OBASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        home = oba.layout
        try:
            files = find_extract_files(oba.inputs, contract)
            frames = [read_extract(path, contract) for path in files]
        except FileRuleError as error:
            context.log.error(str(error))
            # A broken file stays broken: no retry, the data team must act.
            raise dg.Failure(description=str(error), allow_retries=False,
                             metadata={"source": source, "rule": error.rule, "file": str(error.file)}) from error
        landing = home.landing / context.run_id / source
        landing.mkdir(parents=True, exist_ok=True)
        digests = {}
        for path in files:
            shutil.copy2(path, landing / path.name)
            digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        raw = pl.concat(frames, how="vertical") if frames else pl.DataFrame()
        with duckdb.get_connection() as con:
            replace_table(con, f"raw_{source}", raw)
        return dg.MaterializeResult(metadata={
            "rows": raw.height, "files": dg.MetadataValue.json(digests),
            "landing_folder": dg.MetadataValue.path(str(landing)),
        })

    @dg.asset(name=source, group_name="staging", kinds={"duckdb", "polars"},
              deps=[extract, *upstream_refs], description=DESCRIPTIONS[source])
    def staged(context: AssetExecutionContext, oba: OBASettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
        home = oba.layout
        key = load_key()
        with duckdb.get_connection() as con:
            raw = read_table(con, f"raw_{source}")
            references = _references(con, contract)
            outcome = validate_extract(raw, contract, extract_date=date.today(), references=references)
            staged_rows = to_staged(contract, outcome.accepted, key)
            replace_table(con, f"stg_{source}", staged_rows)
            replace_rows(con, "rejected_rows", _withhold(contract, outcome.rejected), source=source)
            loaded_at = _newest_file_time(home.landing / context.run_id / source)
            replace_rows(con, "source_loads", _load_summary(contract, raw, outcome, staged_rows, loaded_at),
                         source=source)
        report = write_report(outcome, home.reports / "validation" / f"{source}.html")
        _keep_rejected_for_data_team(home.landing / context.run_id / source, raw, outcome)
        for message in outcome.messages(limit=MAX_MESSAGES_LOGGED):
            context.log.info(message)
        if outcome.rejected_row_count:
            context.log.warning(f"{contract.source}: {outcome.rejected_row_count} of {outcome.rows_read} rows "
                                f"set aside; see rejected_rows and {report}")
        by_rule = (outcome.rejected.group_by("rule").len().sort("rule").rows() if outcome.rejected.height else [])
        return dg.MaterializeResult(metadata={
            "rows_read": outcome.rows_read, "rows_loaded": staged_rows.height,
            "rows_rejected": outcome.rejected_row_count,
            "rejected_by_rule": dg.MetadataValue.json(dict(by_rule)),
            "validation_report": dg.MetadataValue.path(str(report)),
        })

    @dg.asset_check(asset=staged, name=f"{source}_contract", blocking=True,
                    description=f"The {contract.title.lower()} contract's Great Expectations suite holds over the "
                                "staged rows, and no more rows were rejected than the contract allows.")
    def contract_check(oba: OBASettings, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            staged_rows = read_table(con, f"stg_{source}")
            loads = con.execute("select rows_read, rows_rejected from source_loads where source = $source",
                                {"source": source}).fetchone()
            references = _references(con, contract)
        rows_read, rows_rejected = loads if loads else (0, 0)
        share = rows_rejected / rows_read if rows_read else 0.0
        outcome = check_accepted(as_contract_columns(contract, staged_rows), staged_contract(contract),
                                 extract_date=date.today(), references=references, rejected_share=share)
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


def _withhold(contract: Contract, rejected: pl.DataFrame) -> pl.DataFrame:
    """Rejected rows as kept in the warehouse: identifiers and personal values are never copied there."""
    sensitive = [*contract.identifier_columns, *contract.personal_columns]
    return rejected.with_columns(
        value=pl.when(pl.col("column").is_in(sensitive)).then(pl.lit(WITHHELD)).otherwise(pl.col("value"))
    )


def _newest_file_time(folder: Path) -> datetime | None:
    """When the newest of a source's files was last written (UTC): taken from the files themselves, so the
    same extracts always publish the same `sources` table however often they are refreshed."""
    files = [path for path in folder.iterdir() if path.is_file() and path.name != REJECTED_FILE] \
        if folder.is_dir() else []
    times = [path.stat().st_mtime for path in files]
    if not times:
        return None
    return datetime.fromtimestamp(max(times), UTC).replace(tzinfo=None, microsecond=0)


def _load_summary(contract: Contract, raw: pl.DataFrame, outcome: object, staged: pl.DataFrame,
                  loaded_at: datetime | None) -> pl.DataFrame:
    files = ", ".join(sorted(raw.get_column("_source_file").unique().to_list())) if raw.height else ""
    date_columns = [c.name for c in contract.columns if c.type == "date" and c.name in staged.columns]
    first = staged.select(pl.min_horizontal([pl.col(c).min() for c in date_columns])).item() if date_columns else None
    last = staged.select(pl.max_horizontal([pl.col(c).max() for c in date_columns])).item() if date_columns else None
    return pl.DataFrame({
        "source": [contract.source], "title": [contract.title], "files": [files],
        "rows_read": [outcome.rows_read], "rows_loaded": [staged.height],  # type: ignore[attr-defined]
        "rows_rejected": [outcome.rejected_row_count],  # type: ignore[attr-defined]
        "first_date": [first], "last_date": [last], "loaded_at": [loaded_at],
    }, schema={"source": pl.Utf8, "title": pl.Utf8, "files": pl.Utf8, "rows_read": pl.Int64,
               "rows_loaded": pl.Int64, "rows_rejected": pl.Int64, "first_date": pl.Date, "last_date": pl.Date,
               "loaded_at": pl.Datetime("us")})


def _keep_rejected_for_data_team(folder: object, raw: pl.DataFrame, outcome: object) -> None:
    """The rejected rows as they arrived, with their reasons, in the landing area for the data team."""
    rejected = outcome.rejected  # type: ignore[attr-defined]
    if rejected.height == 0:
        return
    reasons = rejected.group_by("file", "row").agg(reasons=pl.col("message").str.join(" | "))
    rows = raw.join(reasons, left_on=["_source_file", "_source_row"], right_on=["file", "row"], how="inner")
    rows.write_csv(folder / REJECTED_FILE)  # type: ignore[operator]


SOURCE_ASSETS = [build_source_assets(source) for source in SOURCES]
