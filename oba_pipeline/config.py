"""Where the toolkit keeps its state: everything lives under one folder, OBA_HOME."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = REPO_ROOT / "data_contracts"
SAMPLE_DATA_DIR = REPO_ROOT / "sample_data"
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

DEFAULT_HOME = ".oba-home"


@dataclass(frozen=True)
class Home:
    """The layout of an OBA_HOME folder. Create it with `Home.from_env()` or `Home(Path(...))`."""

    root: Path

    @classmethod
    def from_env(cls, override: str | os.PathLike[str] | None = None) -> Home:
        raw = override or os.environ.get("OBA_HOME") or DEFAULT_HOME
        return cls(Path(raw).expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        """The DuckDB file the pipeline writes (never read by the dashboard)."""
        return self.root / "warehouse" / "warehouse.duckdb"

    @property
    def landing(self) -> Path:
        """Raw files kept exactly as they arrived, one folder per refresh."""
        return self.root / "landing"

    @property
    def published(self) -> Path:
        """Published snapshots, and the CURRENT pointer the dashboard follows."""
        return self.root / "published"

    @property
    def reports(self) -> Path:
        """Human-readable validation reports (HTML) and rejected-row files."""
        return self.root / "reports"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def dagster_home(self) -> Path:
        """DAGSTER_HOME for runs started by `oba refresh` and shown in the Dagster UI."""
        return self.root / "dagster"

    def ensure(self) -> Home:
        for folder in (self.warehouse.parent, self.landing, self.published, self.reports, self.logs,
                       self.dagster_home):
            folder.mkdir(parents=True, exist_ok=True)
        return self
