"""Words for the codes that breakdowns are published under (codes.yaml): referral sources, categories of
need and of plan, sex, ethnicity and Section 251 lines. Published tables keep the codes; people read both."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

CODES_FILE = Path(__file__).resolve().parent / "codes.yaml"


@cache
def _codes() -> dict[str, dict[str, str]]:
    raw = yaml.safe_load(CODES_FILE.read_text(encoding="utf-8"))
    return {str(dimension): {str(code): str(words) for code, words in table.items()}
            for dimension, table in raw.items()}


def code_label(dimension: str, value: str) -> str:
    """`value` as a person reads it: "Schools (2A)" for a known code, snake_case words as plain words, and
    anything else (locality and team names, "other groups") unchanged."""
    codes = _codes()
    if dimension == "s251_line":
        prefix = ".".join(value.split(".")[:2])
        words = codes["s251_line_prefix"].get(prefix)
        return f"{value} {words}" if words else value
    words = codes.get(dimension, {}).get(value)
    if words:
        return f"{words} ({value})"
    if "_" in value and value.islower():
        return value.replace("_", " ").capitalize()
    return value
