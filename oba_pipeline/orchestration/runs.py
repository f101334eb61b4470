"""What a refresh run did, read from its Dagster events: which source failed, which check, and what to do.

The same account serves `oba refresh`, the run-failure notification and `oba status`, whether the run
was started from the command line, the nightly schedule, the new-extracts sensor or the Dagster UI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from oba_pipeline.config import Home

SOURCE_SUFFIXES = ("_extract", "_contract", "_freshness")


@dataclass(frozen=True)
class Problem:
    """One thing that went wrong in a run, in words a data team can act on."""

    source: str
    check: str
    message: str
    action: str
    severity: str = "error"  # "error" stops publishing; "warning" is reported but publishing goes on

    def line(self) -> str:
        return f"{self.source} / {self.check}: {self.message} What to do: {self.action}"


def source_of(name: str) -> str:
    """`referrals_extract`, `referrals_contract` and `referrals` all belong to the source `referrals`."""
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def problems_from_events(events: Iterable[dg.DagsterEvent], home: Home) -> list[Problem]:
    """The failed steps and failed checks of one run."""
    problems = []
    for event in events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            problems.append(_step_problem(event, home))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
                problems.append(_check_problem(evaluation, home))
    return problems


def _step_problem(event: dg.DagsterEvent, home: Home) -> Problem:
    data = event.step_failure_data
    error = data.error if data else None
    message = error.message.strip() if error else "unknown error"
    # A dagster Failure carries the user-facing description as its message.
    message = message.removeprefix("dagster._core.definitions.events.Failure: ")
    metadata = data.user_failure_data.metadata if data and data.user_failure_data else {}
    step = event.step_key or "run"
    source = source_of(step)
    rule = metadata.get("rule")
    check = f"file rule {rule.value}" if rule is not None else f"step {step}"  # type: ignore[attr-defined]
    if rule is not None:
        action = ("Correct or replace the file named above and run the refresh again (`oba refresh`); "
                  "the dashboard keeps serving the last published snapshot until then.")
    else:
        action = (f"Read the run's log in the Dagster UI or {home.logs}; if the cause was passing (a network "
                  "share, a full disk) run the refresh again, otherwise ask the toolkit's maintainers.")
    return Problem(source=source, check=check, message=message, action=action)


def _check_problem(evaluation: dg.AssetCheckEvaluation, home: Home) -> Problem:
    source = source_of(evaluation.asset_key.to_user_string())
    severity = "warning" if evaluation.severity == dg.AssetCheckSeverity.WARN else "error"
    if evaluation.check_name.endswith("_freshness"):
        action = ("Check that the night's export from the source system ran and was copied into the input "
                  "folder; the figures from this source are as old as its last extract.")
    else:
        action = (f"Open the validation report {home.reports / 'validation' / (source + '.html')}, correct the "
                  "rows in the source system and re-export; nothing was published, so the dashboard keeps "
                  "serving the last published snapshot.")
    return Problem(source=source, check=evaluation.check_name,
                   message=(evaluation.description or "failed").rstrip(".") + ".", action=action, severity=severity)


def run_problems(instance: dg.DagsterInstance, run_id: str, home: Home) -> list[Problem]:
    """The problems of a stored run, read back from the instance's event log."""
    events = [entry.dagster_event for entry in instance.all_logs(run_id) if entry.dagster_event is not None]
    return problems_from_events(events, home)
