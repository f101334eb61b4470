"""Errors a user can act on: bad input files, named with the file, the rule and what to do next."""

from __future__ import annotations


class OBAInputError(Exception):
    """Bad input a user can fix; str() is the full human message."""


class FileRuleError(OBAInputError):
    """A file-level rule broke (unreadable file, missing required column, no file found): the source stops.

    `source` is the contract's source name, `file` the file (or folder) concerned, `rule` a short code for
    the rule that broke (for example `required_columns`, `readable`, `file_found`) and `message` the
    complete sentence shown to the user, which is also what str() returns.
    """

    def __init__(self, source: str, file: str | None, rule: str, message: str) -> None:
        super().__init__(message)
        self.source = source
        self.file = file
        self.rule = rule
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[FileRuleError], tuple[str, str | None, str, str]]:
        # Dagster and multiprocessing pickle exceptions; keep the keyword-free constructor round-trippable.
        return (type(self), (self.source, self.file, self.rule, self.message))
