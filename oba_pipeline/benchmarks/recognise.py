"""Recognising a published file by its columns, and saying plainly what is wrong when it cannot be used."""

from __future__ import annotations

from collections.abc import Sequence

from oba_pipeline.benchmarks.errors import NOTHING_LOADED, PublishedFileError
from oba_pipeline.benchmarks.formats import FORMATS, Column, Format, describe_column

# A file is taken for a format when it has at least this share of the format's identifying columns;
# below it, the file is unrecognised rather than "that format with columns missing".
RECOGNISED_SHARE = 0.5
SHOWN_COLUMNS = 12


def present(column: Column, header: Sequence[str]) -> str | None:
    """The name under which `column` appears in `header`, or None."""
    return next((name for name in column if name in header), None)


def recognise(file: str, header: Sequence[str]) -> Format:
    """The format whose columns the file has; PublishedFileError naming the file and the expectation if none."""
    scored = []
    for fmt in FORMATS:
        matched = sum(1 for column in fmt.signature if present(column, header))
        scored.append((matched / len(fmt.signature), matched, fmt))
    share, matched, best = max(scored, key=lambda item: (item[0], item[1]))
    if share < RECOGNISED_SHARE:
        shown = ", ".join(name or "(blank)" for name in header[:SHOWN_COLUMNS])
        more = f" and {len(header) - SHOWN_COLUMNS} more" if len(header) > SHOWN_COLUMNS else ""
        known = "; ".join(f"{fmt.title} ({', '.join(describe_column(c) for c in fmt.signature[:3])}, ...)"
                          for fmt in FORMATS)
        raise PublishedFileError(
            file, "recognised",
            f"{file}: not a published file the toolkit recognises. Its columns are {shown}{more}. "
            f"The toolkit reads files (as downloaded, with any name) with the columns of one of: {known}. "
            f"Remove the file from the published folder or replace it with the file as published. {NOTHING_LOADED}")
    missing = [column for column in best.required if not present(column, header)]
    if missing:
        raise PublishedFileError(
            file, "required_columns",
            f"{file}: looks like {best.title} (it has {matched} of its {len(best.signature)} identifying "
            f"columns) but has no column {', '.join(describe_column(c) for c in missing)}. The toolkit needs "
            f"{', '.join(describe_column(c) for c in best.required)}. Download the complete file again "
            f"rather than a filtered or edited copy. {NOTHING_LOADED}", format_id=best.id)
    return best
