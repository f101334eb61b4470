"""Published snapshots: the tables commissioners see, switched into place in one atomic step.

A snapshot is a folder `published/<id>/` holding `oba.duckdb` (every published table) and
`manifest.json`. The file `published/CURRENT` names the live snapshot; it is replaced with
`os.replace`, so a reader sees either the old snapshot or the new one, never a half-written one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from oba_pipeline.config import Home

log = logging.getLogger(__name__)

SNAPSHOT_DB = "oba.duckdb"
# The public subset, under the stricter public disclosure profile, with the same table names.
PUBLIC_DB = "public.duckdb"
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
KEEP_SNAPSHOTS = 5


def current_snapshot(home: Home) -> Path | None:
    """The folder of the live snapshot, or None when nothing has been published yet."""
    pointer = home.published / CURRENT
    if not pointer.exists():
        return None
    snapshot = home.published / pointer.read_text(encoding="utf-8").strip()
    return snapshot if (snapshot / SNAPSHOT_DB).exists() else None


def read_manifest(snapshot: Path) -> dict[str, Any]:
    return json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))


def publish_tables(home: Home, tables: Mapping[str, pl.DataFrame], manifest: Mapping[str, Any],
                   public: Mapping[str, pl.DataFrame] | None = None) -> Path:
    """Write `tables` as a new snapshot beside the live one, then make it live atomically.

    `public`, when given, is the public subset (same table names), written to its own database file so
    that a public reader's connection cannot reach the fuller figures at all.
    """
    home.ensure()
    snapshot_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = home.published / f".{snapshot_id}.partial"
    staging.mkdir(parents=True)
    _write_database(staging / SNAPSHOT_DB, tables)
    if public is not None:
        _write_database(staging / PUBLIC_DB, public)
    body = {"snapshot_id": snapshot_id, "published_at": datetime.now(UTC).isoformat(),
            "tables": {name: frame.height for name, frame in tables.items()}, **manifest}
    (staging / MANIFEST).write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")
    final = home.published / snapshot_id
    staging.rename(final)
    _fsync_dir(home.published)
    pointer_tmp = home.published / f".{CURRENT}.tmp"
    pointer_tmp.write_text(snapshot_id, encoding="utf-8")
    os.replace(pointer_tmp, home.published / CURRENT)
    _fsync_dir(home.published)
    log.info("published snapshot %s with %d tables", snapshot_id, len(tables))
    _prune(home, keep=KEEP_SNAPSHOTS)
    return final


def _write_database(path: Path, tables: Mapping[str, pl.DataFrame]) -> None:
    con = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            con.register("frame_to_publish", frame.to_arrow())
            # Table names come from code constants, never from user input.
            con.execute(f'create table "{name}" as select * from frame_to_publish')
            con.unregister("frame_to_publish")
        con.execute("checkpoint")
    finally:
        con.close()


def _prune(home: Home, keep: int) -> None:
    live = current_snapshot(home)
    snapshots = sorted(p for p in home.published.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in snapshots[:-keep]:
        if old != live:
            shutil.rmtree(old, ignore_errors=True)
    for partial in home.published.glob(".*.partial"):
        shutil.rmtree(partial, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
