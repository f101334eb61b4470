"""Every published file the toolkit knows, described by its columns: how files are recognised and read.

A file is recognised by its columns, never its name: each format lists the columns that identify it
(`signature`) and those the toolkit needs from it (`required`). A column may have alternative names
across releases (the looked-after file has used both `children_count` and `number`); the first name is
the one the toolkit uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Column = tuple[str, ...]  # alternative names of one column; the first is the toolkit's own
Shape = Literal["ees", "s251_legacy", "neighbours_2025", "neighbours_2021", "la_lookup", "ees_meta"]

# The geography and time columns every Explore Education Statistics file starts with.
EES_GEOGRAPHY: tuple[Column, ...] = tuple((name,) for name in (
    "time_period", "time_identifier", "geographic_level", "country_code", "region_code", "region_name",
    "old_la_code", "new_la_code", "la_name"))
NEIGHBOURS = range(1, 11)
# Where the April 2021 groupings keep each authority's own code and name (the file has no EES header).
SN2021_CODE: Column = ("old_la_code", "la_code", "la number", "la_number", "lea", "la", "code")
SN2021_NAME: Column = ("la_name", "la name", "local authority", "authority", "name")


@dataclass(frozen=True)
class Format:
    id: str
    title: str
    shape: Shape
    dataset: str | None
    signature: tuple[Column, ...]
    required: tuple[Column, ...]
    category: Column | None = None  # the filter column that tells populations apart (looked-after file)
    # National and regional counts rounded to the nearest 10 (children in need and looked-after files):
    # a percentage re-derived from them can only be checked to within that rounding.
    rounds_aggregates: bool = False
    keep_rows: tuple[str, str] | None = None  # (column, value in lower case): the rows the toolkit reads

    @property
    def values(self) -> tuple[Column, ...]:
        """The indicator columns read as figures: the signature, less the category and filter columns."""
        skip = {*(self.category or ()), *((self.keep_rows[0],) if self.keep_rows else ())}
        return tuple(column for column in self.signature if column[0] not in skip)


def _cols(*names: str) -> tuple[Column, ...]:
    return tuple((name,) for name in names)


FORMATS: tuple[Format, ...] = (
    Format("cin_b1", "Children in need: episodes of need (b1)", "ees", "children_in_need",
           signature=_cols("anypoint_episodes", "anypoint_child", "started_episodes", "started_child",
                           "ended_episodes", "ended_child", "at31_episodes", "awaiting_assessment"),
           required=(*EES_GEOGRAPHY, *_cols("at31_episodes")), rounds_aggregates=True),
    Format("cin_c1", "Children in need: referrals and re-referrals (c1)", "ees", "referrals",
           signature=_cols("referral_count", "rereferral_count", "rereferral_percent", "no_further_action_count",
                           "no_further_action_percent", "not_in_need_count", "not_in_need_percent",
                           "referral_child_count", "rereferral_child_count", "rereferral_child_percent"),
           required=(*EES_GEOGRAPHY, *_cols("referral_count", "rereferral_count", "rereferral_percent",
                                            "no_further_action_count", "no_further_action_percent")),
           rounds_aggregates=True),
    Format("cin_d3", "Child protection plans: second or subsequent plans (d3)", "ees", "second_plans",
           signature=_cols("cpp_start", "cpp_subsequent", "cpp_subsequent_percent"),
           required=(*EES_GEOGRAPHY, *_cols("cpp_start", "cpp_subsequent", "cpp_subsequent_percent")),
           rounds_aggregates=True),
    Format("cin_d5", "Child protection plans at 31 March by duration (d5)", "ees", "plans_at_31_march",
           signature=_cols("cpp_at31", "3_months_or_less", "more_than_3_months_6_months",
                           "more_than_6_months_less_than_1_year", "1_year_less_than_2_years", "2_years_or_more"),
           required=(*EES_GEOGRAPHY, *_cols("cpp_at31")), rounds_aggregates=True),
    Format("cla_rates", "Children looked after: numbers and rates per 10,000 children", "ees", "looked_after",
           signature=(("population_type", "population_count"), ("population_estimate",),
                      ("children_count", "number"), ("rate_per_10000",)),
           required=(*EES_GEOGRAPHY, ("population_type", "population_count"), ("population_estimate",),
                     ("children_count", "number"), ("rate_per_10000",)),
           category=("population_type", "population_count"), rounds_aggregates=True),
    Format("ons_population", "ONS mid-year population estimates (prepared by DfE)", "ees", "population",
           signature=_cols("age_group", "population_estimate"),
           required=(*EES_GEOGRAPHY, *_cols("age_group", "population_estimate")),
           keep_rows=("age_group", "children aged 0 to 17 years")),
    Format("workforce", "Children's social work workforce indicators", "ees", "workforce",
           signature=_cols("inpost_fte", "inpost_headcount", "turnover_rate_fte", "agency_rate_fte",
                           "vacancy_rate_fte", "case_holders_fte", "cases", "caseload_fte", "absence_rate_fte"),
           required=(*EES_GEOGRAPHY, *_cols("case_holders_fte", "cases", "caseload_fte", "turnover_rate_fte",
                                            "agency_rate_fte", "vacancy_rate_fte"))),
    Format("s251_ees", "Section 251 outturn: LA and school expenditure", "ees", "spend",
           signature=_cols("category_of_expenditure", "description_of_expenditure", "total_expenditure"),
           required=(*EES_GEOGRAPHY, *_cols("category_of_expenditure", "description_of_expenditure",
                                            "total_expenditure"))),
    Format("s251_legacy", "Section 251 outturn, legacy numbered lines (2013-14 and earlier)", "s251_legacy",
           "spend",
           signature=_cols("la", "la name", "linenumber", "cypservicedescription", "reportgroup", "ownprovision",
                           "privateprovision", "otherpublic", "voluntary", "totalexpenditure", "income",
                           "netcurrentexpenditure"),
           required=_cols("la", "la name", "linenumber", "totalexpenditure")),
    Format("sn_2025", "Statistical neighbours, 2025 model", "neighbours_2025", None,
           signature=tuple((f"sn_{k}",) for k in NEIGHBOURS) + tuple((f"sn_{k}p",) for k in NEIGHBOURS),
           required=(("old_la_code",), *((f"sn_{k}",) for k in NEIGHBOURS), *((f"sn_{k}p",) for k in NEIGHBOURS))),
    Format("sn_2021", "Statistical neighbours, April 2021 groupings", "neighbours_2021", None,
           signature=(*((f"sn{k}",) for k in NEIGHBOURS), ("snp",)),
           required=(SN2021_CODE, *((f"sn{k}",) for k in NEIGHBOURS), ("snp",))),
    Format("la_lookup", "Local authority codes and dates of operation", "la_lookup", None,
           signature=_cols("new_la_code", "old_la_code", "date_of_operation", "date_of_termination",
                           "parent_geography_code", "entity_code"),
           required=_cols("new_la_code", "old_la_code", "la_name", "parent_geography_code")),
    Format("ees_meta", "Explore Education Statistics metadata sidecar (.meta.csv)", "ees_meta", None,
           signature=_cols("col_name", "col_type", "label", "indicator_unit", "indicator_dp"),
           required=_cols("col_name", "col_type", "indicator_unit")),
)
FORMATS_BY_ID = {fmt.id: fmt for fmt in FORMATS}
# The neighbour models, as named on screen and in the `benchmarks` table.
NEIGHBOUR_MODELS = {"sn_2025": "DfE statistical neighbour model 2025",
                    "sn_2021": "DfE statistical neighbours, April 2021 groupings"}


def describe_column(column: Column) -> str:
    """'children_count' or 'children_count (or number)' for messages."""
    return column[0] if len(column) == 1 else f"{column[0]} (or {', '.join(column[1:])})"
