"""What an accepted extract row becomes in the warehouse: identifiers pseudonymised, personal details
replaced by what the indicators need (a date of birth by the age at referral) and then dropped.

Kept apart from the Dagster assets so that validation's worker processes can stage their chunks without
importing Dagster.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from oba_pipeline.contracts.contract import Contract
from oba_pipeline.ingest.pseudonymise import pseudonymise_column


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
