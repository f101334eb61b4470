"""A small hand-made published snapshot for the dashboard tests: four measures, three areas, a few periods.

The figures are chosen so each trend is easy to work out by hand (see the comments beside them).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from oba_pipeline.config import Home
from oba_pipeline.publish import publish_tables

AUTHORITY = ("E09000999", "Northtown")
# The scorecard callback's filter inputs at "All", for requests made by hand (as a script would send them).
SCORECARD_FILTER_INPUTS = [{"id": f"scorecard-{name}", "property": "value", "value": "all"}
                           for name in ("result", "service", "quadrant")]
LOCALITIES = [("NT-N", "Northtown North"), ("NT-S", "Northtown South")]
MONTHS = [(date(2025, 1, 1), date(2025, 1, 31), "Jan 2025"),
          (date(2025, 2, 1), date(2025, 2, 28), "Feb 2025"),
          (date(2025, 3, 1), date(2025, 3, 31), "Mar 2025"),
          (date(2025, 4, 1), date(2025, 4, 30), "Apr 2025")]
YEARS = [(date(2023, 4, 1), date(2024, 3, 31), "2023-24"), (date(2024, 4, 1), date(2025, 3, 31), "2024-25")]

INDICATORS: list[dict[str, Any]] = [
    {"indicator_id": "referral_rate", "name": "Referrals per 10,000 children",
     "definition": "Referrals to children's social care in the period per 10,000 children aged 0 to 17.",
     "oba_kind": "population_indicator", "quadrant": None, "result": "Children are safe at home",
     "service": None, "polarity": "lower_is_better", "unit": "rate_per_10000",
     "unit_label": "per 10,000 children aged 0-17", "decimals": 1, "periods": "month, reporting_year",
     "numerator": "Referrals received", "denominator": "Children aged 0 to 17", "source": "referrals",
     "disaggregations": "locality, age band", "display_order": 1},
    {"indicator_id": "referrals_received", "name": "Referrals received",
     "definition": "Referrals received by the front door in the period.",
     "oba_kind": "performance_measure", "quadrant": "how_much", "result": None,
     "service": "Front door", "polarity": "neutral", "unit": "count", "unit_label": "number",
     "decimals": 0, "periods": "month, reporting_year", "numerator": "Referrals received",
     "denominator": None, "source": "referrals", "disaggregations": "locality", "display_order": 2},
    {"indicator_id": "assessments_on_time", "name": "Assessments completed within 45 working days",
     "definition": "Share of assessments completed in the period that took 45 working days or fewer.",
     "oba_kind": "performance_measure", "quadrant": "how_well", "result": None,
     "service": "Front door", "polarity": "higher_is_better", "unit": "percent", "unit_label": "%",
     "decimals": 1, "periods": "month, reporting_year", "numerator": "Assessments within 45 working days",
     "denominator": "Assessments completed", "source": "referrals", "disaggregations": "locality",
     "display_order": 3},
    {"indicator_id": "early_help_spend", "name": "Spend on early help",
     "definition": "Gross spend on early help and family support in the reporting year.",
     "oba_kind": "performance_measure", "quadrant": "how_much", "result": None,
     "service": "Early help", "polarity": "neutral", "unit": "gbp", "unit_label": "£",
     "decimals": 0, "periods": "reporting_year", "numerator": "Gross spend", "denominator": None,
     "source": "spend", "disaggregations": "", "display_order": 4},
]

# (indicator, area) -> monthly figures, oldest first; None with a status marks a missing figure.
MONTHLY: dict[tuple[str, str], list[tuple[float | None, str]]] = {
    # 40.0 -> 42.5 -> 41.0 -> 38.2: down twice in a row, lower is better -> "better, 2 months in a row".
    ("referral_rate", "E09000999"): [(40.0, "ok"), (42.5, "ok"), (41.0, "ok"), (38.2, "ok")],
    # 50.1 -> 48.0 -> 47.5 -> 49.9: up once -> "worse, 1 month".
    ("referral_rate", "NT-N"): [(50.1, "ok"), (48.0, "ok"), (47.5, "ok"), (49.9, "ok")],
    ("referral_rate", "NT-S"): [(30.0, "ok"), (31.0, "ok"), (None, "x"), (29.0, "ok")],
    # 120 -> 130 -> 125 -> 125: level -> "no change, 1 month".
    ("referrals_received", "E09000999"): [(120.0, "ok"), (130.0, "ok"), (125.0, "ok"), (125.0, "ok")],
    # 60 -> 70 -> 80 -> 90: up three times, neutral polarity -> "not judged, 3 months in a row".
    ("referrals_received", "NT-N"): [(60.0, "ok"), (70.0, "ok"), (80.0, "ok"), (90.0, "ok")],
    ("referrals_received", "NT-S"): [(60.0, "ok"), (60.0, "ok"), (45.0, "ok"), (35.0, "ok")],
    # 80.0 -> 82.5 -> 82.5 -> 85.0: up once after a level month -> "better, 1 month".
    ("assessments_on_time", "E09000999"): [(80.0, "ok"), (82.5, "ok"), (82.5, "ok"), (85.0, "ok")],
    # The latest figure is suppressed: shown as 'c', with no trend.
    ("assessments_on_time", "NT-N"): [(70.0, "ok"), (72.0, "ok"), (75.0, "ok"), (None, "c")],
    ("assessments_on_time", "NT-S"): [(90.0, "ok"), (None, "c"), (88.0, "ok"), (91.0, "ok")],
}
YEARLY: dict[tuple[str, str], list[tuple[float | None, str]]] = {
    ("referral_rate", "E09000999"): [(480.5, "ok"), (512.3, "ok")],
    ("referral_rate", "NT-N"): [(600.0, "ok"), (590.0, "ok")],
    ("referral_rate", "NT-S"): [(350.0, "ok"), (340.0, "ok")],
    ("referrals_received", "E09000999"): [(1500.0, "ok"), (1520.0, "ok")],
    ("assessments_on_time", "E09000999"): [(79.0, "ok"), (83.4, "ok")],
    ("early_help_spend", "E09000999"): [(1_200_000.0, "ok"), (1_350_000.0, "ok")],
}
DENOMINATORS = {"E09000999": 50_000.0, "NT-N": 20_000.0, "NT-S": 30_000.0}


def _value_rows(figures: dict[tuple[str, str], list[tuple[float | None, str]]], period_type: str,
                periods: list[tuple[date, date, str]]) -> list[dict[str, Any]]:
    names = dict([AUTHORITY, *LOCALITIES])
    rows = []
    for (indicator_id, area_code), series in figures.items():
        for (start, end, label), (value, status) in zip(periods, series, strict=True):
            denominator = DENOMINATORS[area_code] if indicator_id == "referral_rate" else None
            numerator = (value * denominator / 10_000 if value is not None and denominator else value)
            rows.append({
                "indicator_id": indicator_id, "area_code": area_code, "area_name": names[area_code],
                "area_type": "authority" if area_code == AUTHORITY[0] else "locality",
                "period_type": period_type, "period_start": start, "period_end": end, "period_label": label,
                "value": value if status == "ok" else None,
                "numerator": numerator if status == "ok" else None,
                "denominator": denominator if status == "ok" else None, "status": status,
            })
    return rows


def sample_tables() -> dict[str, pl.DataFrame]:
    """The published tables, in the schema the pipeline publishes."""
    rows = _value_rows(MONTHLY, "month", MONTHS) + _value_rows(YEARLY, "reporting_year", YEARS)
    values = pl.DataFrame(rows,
                          schema={"indicator_id": pl.String, "area_code": pl.String, "area_name": pl.String,
                                  "area_type": pl.String, "period_type": pl.String, "period_start": pl.Date,
                                  "period_end": pl.Date, "period_label": pl.String, "value": pl.Float64,
                                  "numerator": pl.Float64, "denominator": pl.Float64, "status": pl.String})
    areas = pl.DataFrame({
        "area_code": [AUTHORITY[0], *(code for code, _ in LOCALITIES)],
        "area_name": [AUTHORITY[1], *(name for _, name in LOCALITIES)],
        "area_type": ["authority", "locality", "locality"],
        "parent_code": [None, AUTHORITY[0], AUTHORITY[0]],
        "display_order": [0, 1, 2],
    }, schema_overrides={"parent_code": pl.String})
    sources = pl.DataFrame({
        "source": ["referrals", "spend"], "title": ["Referrals and episodes of need", "Spend"],
        "files": ["referrals_2025-04.csv", "spend.xlsx"], "rows_read": [5000, 40], "rows_loaded": [4990, 40],
        "rows_rejected": [10, 0], "first_date": [date(2023, 4, 1), date(2023, 4, 1)],
        "last_date": [date(2025, 4, 30), date(2025, 3, 31)],
        "loaded_at": [datetime(2025, 5, 2, 7, 30), datetime(2025, 5, 2, 7, 31)],
    })
    return {"indicators": pl.DataFrame(INDICATORS), "indicator_values": values, "areas": areas,
            "sources": sources}


def publish_sample(root: Path) -> Home:
    """Publish the sample snapshot into a new OBA home at `root` and return the home."""
    home = Home(root)
    publish_tables(home, sample_tables(), {
        "extract_date": "2025-04-30",
        "authority": {"code": AUTHORITY[0], "name": AUTHORITY[1]},
        "generated_at": datetime.now(UTC).isoformat(),
    })
    return home


TEST_PASSWORD = "test-only-password-4d7f"
# One account per role; the partnership member sees Northtown North only.
TEST_ACCOUNTS = {
    "data-team": ("data_team", ()),
    "commissioner": ("commissioner", ()),
    "member-north": ("partnership_member", ("NT-N",)),
    "public": ("public", ()),
}


def create_accounts(home: Home) -> None:
    """The test accounts in the home's application database (existing ones are left as they are)."""
    from oba_pipeline.appdb import create_schema, make_engine, session_scope
    from oba_pipeline.appdb.accounts import AccountError, add_account

    engine = make_engine(home=home)
    try:
        create_schema(engine)
        for username, (role, areas) in TEST_ACCOUNTS.items():
            try:
                with session_scope(engine) as session:
                    add_account(session, username, role, TEST_PASSWORD, areas)
            except AccountError:
                pass
    finally:
        engine.dispose()


def csrf_token_of(page_html: str) -> str:
    """The CSRF token of the sign-in form in a page."""
    marker = 'name="csrf_token" value="'
    start = page_html.index(marker) + len(marker)
    return page_html[start:page_html.index('"', start)]


def signed_in_client(app: Any, home: Home, username: str = "data-team") -> Any:
    """A Flask test client signed in as one of the test accounts, as a browser would sign in."""
    create_accounts(home)
    client = app.server.test_client()
    token = csrf_token_of(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", data={"username": username, "password": TEST_PASSWORD,
                                             "csrf_token": token, "next": "/"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def csrf_header(client: Any) -> dict[str, str]:
    """The X-CSRFToken header Dash's renderer sends, read from the cookie the server set."""
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None, "the server set no _csrf_token cookie"
    return {"X-CSRFToken": cookie.value}
