"""Marts: one table per subject, built by the SQL files in assets/sql, that the indicators count from."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.sql_files import read_sql
from assets.tables import row_count

# mart name -> (what it means to the partnership, upstream assets)
MARTS: dict[str, tuple[str, list[str]]] = {
    "mart_referrals": ("Every referral with what the partnership counts: re-referrals, assessment timescales, "
                       "repeat plans.", ["referrals", "calendar"]),
    "mart_caseloads": ("Every worker's month-end caseload, marking the staff who hold cases.", ["caseloads"]),
    "mart_spend": ("Every ledger line classed as prevention, late intervention or other spend.",
                   ["spend", "registries"]),
    "mart_family_readings": ("Every outcome reading a family completed, with its headline score.",
                             ["family_outcomes", "registries"]),
    "mart_family_reviews": ("Every review reading, with how far the family has moved since its first reading.",
                            ["mart_family_readings"]),
    "mart_family_engagement": ("Every family journey, and whether its first review happened on time.",
                               ["mart_family_readings", "reporting_periods"]),
    "mart_family_theme_outcomes": ("Every family's reliable change on each outcome theme, by month and year.",
                                   ["family_outcomes", "registries"]),
    "mart_family_band_changes": ("Every child's score band (SDQ) at first and latest reading, by month and year.",
                                 ["mart_family_readings", "registries"]),
    "mart_family_what_matters": ("Every theme a family named as what matters most to them.",
                                 ["family_outcomes", "registries"]),
    "mart_family_rater_gaps": ("Every pair of family and professional ratings of the same family on the same day.",
                               ["mart_family_readings", "registries"]),
}


def build_mart(name: str, description: str, deps: list[str]) -> dg.AssetsDefinition:
    @dg.asset(name=name, group_name="marts", kinds={"duckdb", "sql"}, deps=deps, description=description)
    def mart(duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            con.execute(f"create or replace table {name} as {read_sql(name)}")
            rows = row_count(con, name)
        return dg.MaterializeResult(metadata={"rows": rows})

    return mart


MART_ASSETS = [build_mart(name, description, deps) for name, (description, deps) in MARTS.items()]
