"""Dagster resources: where the partnership's extracts arrive and where the toolkit keeps its state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from oba_pipeline.config import Home
from oba_pipeline.publish import recover, writer_lock


class OBASettings(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The OBA_HOME folder and the folder the night's extracts land in."""

    home: str
    input_dir: str
    # The authority benchmarked as home (3-digit old_la_code, from OBA_HOME_LA); empty: the local one.
    home_la: str = ""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[OBASettings]:
        """Hold the single-writer lock for the whole run: DuckDB takes one writer at a time, and two
        refreshes interleaving their steps would mix two nights' data."""
        home = Home(Path(self.home)).ensure()
        with writer_lock(home, purpose=f"Dagster run {context.run_id}" if context.run_id else "Dagster run"):
            recover(home)
            yield self

    @property
    def layout(self) -> Home:
        return Home(Path(self.home)).ensure()

    @property
    def inputs(self) -> Path:
        return Path(self.input_dir)
