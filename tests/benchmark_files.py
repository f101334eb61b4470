"""Small hand-made published files for the benchmark tests, in each shape real downloads take."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

GEOGRAPHY = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
             "region_name", "old_la_code", "new_la_code", "la_name"]
NATIONAL = ["National", "E92000001", "England", "", "", "", "", ""]


def la(region_code: str, region_name: str, old: str, new: str, name: str) -> list[str]:
    return ["Local authority", "E92000001", "England", region_code, region_name, old, new, name]


def region(code: str, name: str) -> list[str]:
    return ["Regional", "E92000001", "England", code, name, "", "", ""]


# Four authorities in two regions (two boroughs in Inner and Outer London), England and the regions.
NE = ("E12000001", "North East")
INNER, OUTER, LONDON = ("E13000001", "Inner London"), ("E13000002", "Outer London"), ("E12000007", "London")
AREAS = {
    "england": NATIONAL,
    "ne": region(*NE), "london": region(*LONDON), "inner": region(*INNER), "outer": region(*OUTER),
    "805": la(*NE, "805", "E06000001", "Hartlepool"),
    "806": la(*NE, "806", "E06000002", "Middlesbrough"),
    "206": la(*INNER, "206", "E09000019", "Islington"),
    "302": la(*OUTER, "302", "E09000003", "Barnet"),
}


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]], newline: str = "\n") -> str:
    def cell(value: object) -> str:
        text = str(value)
        return f'"{text}"' if "," in text else text
    return newline.join([",".join(header), *(",".join(cell(v) for v in row) for row in rows)]) + newline


def write(folder: Path, name: str, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


C1_VALUES = ["referral_count", "rereferral_count", "rereferral_percent", "no_further_action_count",
             "no_further_action_percent", "not_in_need_count", "not_in_need_percent", "referral_child_count",
             "rereferral_child_count", "rereferral_child_percent"]


def c1_row(year: int, area: str, referrals: object, rereferrals: object, percent: object) -> list[object]:
    # No further action and not in need are 1% and 2% of referrals, published consistently.
    share = (lambda part: round(part / referrals * 100, 1)) if isinstance(referrals, int) and referrals else None
    nfa, not_in_need = (round(referrals * 0.01), round(referrals * 0.02)) if share else (1, 2)
    return [year, "Reporting year", *AREAS[area], "Referrals and Re-referrals", referrals, rereferrals, percent,
            nfa, share(nfa) if share else 1.0, not_in_need, share(not_in_need) if share else 2.0, referrals,
            rereferrals, percent]


def c1_file(rows: Sequence[Sequence[object]], newline: str = "\n") -> str:
    return csv_text([*GEOGRAPHY, "category", *C1_VALUES], rows, newline)


def population_file(rows: Sequence[tuple[int, str, object]]) -> str:
    return csv_text([*GEOGRAPHY, "age_group", "population_estimate"],
                    [[year, "Calendar year", *AREAS[area], "Children aged 0 to 17 years", value]
                     for year, area, value in rows]
                    + [[2024, "Calendar year", *AREAS["805"], "Children aged 0 to 4 years", 999]])


def sn_2025_file(pairs: dict[str, Sequence[str]]) -> str:
    header = ["old_la_code", "la_name", "region_ind", "region_name"]
    for k in range(1, 11):
        header += [f"SN_{k}", f"SN_{k}P"]
    rows = []
    for code, neighbours in pairs.items():
        row: list[object] = [code, f"Authority {code}", 1, "Somewhere"]
        for neighbour in neighbours:
            row += [neighbour, "Close "]
        rows.append(row)
    return csv_text(header, rows)
