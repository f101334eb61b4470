"""Dagster resources: where the partnership's extracts arrive and where the toolkit keeps its state."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from oba_pipeline.config import Home


class OBASettings(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The OBA_HOME folder and the folder the night's extracts land in."""

    home: str
    input_dir: str
    # The authority benchmarked as home (3-digit old_la_code, from OBA_HOME_LA); empty: the local one.
    home_la: str = ""

    @property
    def layout(self) -> Home:
        return Home(Path(self.home)).ensure()

    @property
    def inputs(self) -> Path:
        return Path(self.input_dir)
