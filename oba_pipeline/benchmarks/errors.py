"""The error a user sees for a published file the toolkit cannot use: names the file, what was expected."""

from __future__ import annotations

from oba_pipeline.errors import OBAInputError

# Every message ends the same way, so the consequence is never left to guesswork.
NOTHING_LOADED = ("Nothing from this file was loaded; the local indicators are still published and "
                  "the previous benchmarks from this kind of file are kept.")


class PublishedFileError(OBAInputError):
    """A published file is unrecognised, incomplete or malformed; `rule` is a short code for why."""

    def __init__(self, file: str, rule: str, message: str, format_id: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.rule = rule
        self.message = message
        self.format_id = format_id  # the format the file was taken for, when it got that far

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[PublishedFileError], tuple[str, str, str, str | None]]:
        return (type(self), (self.file, self.rule, self.message, self.format_id))
