"""Published snapshots: the tables commissioners see, switched into place in one atomic step.

A snapshot is a folder `published/<id>/` holding `oba.duckdb` (every published table) and
`manifest.json`. The file `published/CURRENT` names the live snapshot; it is replaced with
`os.replace`, so a reader sees either the old snapshot or the new one, never a half-written one.

Every writer (a refresh, a publish, a rollback) holds one file lock, `locks/writer.lock`, so they run
one at a time. The lock is an operating-system lock (flock): it dies with its process, so a refresh
killed with `kill -9` leaves no stale lock behind, and `recover` clears its half-written folders.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from filelock import FileLock, Timeout

from oba_pipeline.arrow import arrow_of
from oba_pipeline.config import Home

log = logging.getLogger(__name__)

SNAPSHOT_DB = "oba.duckdb"
# The public subset, under the stricter public disclosure profile, with the same table names.
PUBLIC_DB = "public.duckdb"
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
KEEP_SNAPSHOTS = 5
LOCK_FILE = "writer.lock"
OWNER_FILE = "writer.owner.json"
# A published table: a frame, a function that makes it when it is written, or the name of a table of the
# `source` connection given to publish_tables, copied by DuckDB without passing through Python.
Table = pl.DataFrame | Callable[[], pl.DataFrame] | str
# DuckDB's memory for writing a snapshot without a source connection; sorting larger tables spills to disk.
WRITE_MEMORY = "1GB"
# The schema under which a snapshot database is attached to the source connection while it is written.
SNAPSHOT_ALIAS = "snapshot_being_written"
# How long a writer waits for another to finish before giving up with a clear message.
LOCK_TIMEOUT_SECONDS = float(os.environ.get("OBA_LOCK_TIMEOUT", "600"))


class WriterBusyError(RuntimeError):
    """Another refresh, publish or rollback holds the writer lock."""


class RollbackError(RuntimeError):
    """There is no earlier snapshot to go back to, or the one asked for does not exist."""


def _lock(home: Home) -> FileLock:
    folder = home.root / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    # One lock object per path in this process, re-entrant: a refresh holds it and its publish step
    # takes it again. Not thread-local, so the Dagster step and the caller share it.
    return FileLock(str(folder / LOCK_FILE), thread_local=False, is_singleton=True)


@contextmanager
def writer_lock(home: Home, *, timeout: float | None = None, purpose: str = "refresh") -> Iterator[None]:
    """Hold the single-writer lock of this home; wait up to `timeout` seconds for another writer."""
    lock = _lock(home)
    wait = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    outermost = not lock.is_locked
    try:
        lock.acquire(timeout=wait)
    except Timeout as error:
        owner = lock_owner(home)
        who = f" ({owner.get('purpose')} by process {owner.get('pid')} since {owner.get('since')})" if owner else ""
        raise WriterBusyError(
            f"Another writer holds {home.root / 'locks' / LOCK_FILE}{who}; waited {wait:.0f} s. "
            "Wait for it to finish, or check `oba status`.") from error
    owner_file = home.root / "locks" / OWNER_FILE
    try:
        if outermost:
            owner_file.write_text(json.dumps({"pid": os.getpid(), "purpose": purpose,
                                              "since": datetime.now(UTC).isoformat(timespec="seconds")}),
                                  encoding="utf-8")
        yield
    finally:
        if outermost:
            owner_file.unlink(missing_ok=True)
        lock.release()


def lock_owner(home: Home) -> dict[str, Any] | None:
    """Who holds the writer lock right now, or None when nobody does (a dead holder's note is ignored)."""
    lock_path = home.root / "locks" / LOCK_FILE
    if not lock_path.exists():
        return None
    probe = FileLock(str(lock_path), thread_local=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        owner_file = home.root / "locks" / OWNER_FILE
        try:
            return dict(json.loads(owner_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {"pid": None, "purpose": "unknown", "since": None}
    probe.release()
    return None


def recover(home: Home) -> list[str]:
    """Clear what a killed writer left behind: half-written snapshot folders and pointer files.

    Safe to call at any time under the writer lock; the live snapshot and CURRENT are never touched.
    """
    cleaned: list[str] = []
    if not home.published.exists():
        return cleaned
    for partial in home.published.glob(".*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
        cleaned.append(partial.name)
    for tmp in home.published.glob(f".{CURRENT}*.tmp"):
        tmp.unlink(missing_ok=True)
        cleaned.append(tmp.name)
    if cleaned:
        log.warning("cleared what an interrupted writer left: %s", ", ".join(cleaned))
    return cleaned


def snapshots(home: Home) -> list[Path]:
    """Every complete snapshot (database and manifest present), oldest first."""
    if not home.published.exists():
        return []
    return sorted(p for p in home.published.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / SNAPSHOT_DB).exists()
                  and (p / MANIFEST).exists())


def current_snapshot(home: Home) -> Path | None:
    """The folder of the live snapshot, or None when nothing has been published yet."""
    pointer = home.published / CURRENT
    if not pointer.exists():
        return None
    snapshot = home.published / pointer.read_text(encoding="utf-8").strip()
    return snapshot if (snapshot / SNAPSHOT_DB).exists() else None


def read_manifest(snapshot: Path) -> dict[str, Any]:
    return json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))


def publish_tables(home: Home, tables: Mapping[str, Table], manifest: Mapping[str, Any],
                   public: Mapping[str, Table] | None = None, *,
                   source: duckdb.DuckDBPyConnection | None = None) -> Path:
    """Write `tables` as a new snapshot beside the live one, then make it live atomically.

    Each table is a frame, or a function returning one that is called when that table is written (then only
    one table is held in memory at a time, however many there are), or the name of a table of `source`, the
    warehouse's connection, which DuckDB copies within its own memory limit: a national table of several
    million rows is then never held in Python at all, and keeps its exact column types.

    `public`, when given, is the public subset (same table names), written to its own database file so
    that a public reader's connection cannot reach the fuller figures at all. Rows are written in a fixed
    order (every column, ascending), so the same figures always give the same published tables, whatever
    order the pipeline produced them in.
    """
    home.ensure()
    with writer_lock(home, purpose="publish"):
        recover(home)
        return _publish(home, tables, manifest, public, source)


def _publish(home: Home, tables: Mapping[str, Table], manifest: Mapping[str, Any],
             public: Mapping[str, Table] | None, source: duckdb.DuckDBPyConnection | None) -> Path:
    snapshot_id = _new_snapshot_id(home)
    staging = home.published / f".{snapshot_id}.partial"
    staging.mkdir(parents=True)
    heights = _write_database(staging / SNAPSHOT_DB, tables, source)
    public_heights = None if public is None else _write_database(staging / PUBLIC_DB, public, source)
    body = {"snapshot_id": snapshot_id, "published_at": datetime.now(UTC).isoformat(),
            "tables": heights, **({} if public_heights is None else {"public_tables": public_heights}), **manifest}
    (staging / MANIFEST).write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")
    # On disk before the folder gets its final name, so a power cut cannot leave a named but empty snapshot.
    for path in staging.iterdir():
        _fsync_file(path)
    _fsync_dir(staging)
    final = home.published / snapshot_id
    staging.rename(final)
    _fsync_dir(home.published)
    _switch_current(home, snapshot_id)
    log.info("published snapshot %s with %d tables", snapshot_id, len(tables))
    _prune(home, keep=KEEP_SNAPSHOTS)
    return final


def _write_database(path: Path, tables: Mapping[str, Table],
                    source: duckdb.DuckDBPyConnection | None) -> dict[str, int]:
    """Write each table (sorted on every column) into a new database at `path`; the rows of each.

    With `source`, the new database is attached to that connection and written through it; otherwise it is
    written through a connection of its own, held to WRITE_MEMORY (a national sort spills to disk beside
    the file rather than taking most of the machine's memory)."""
    heights = {}
    if source is None:
        con, target = duckdb.connect(str(path), config={"memory_limit": WRITE_MEMORY}), ""
    else:
        con, target = source, f"{SNAPSHOT_ALIAS}."
        # The path is the home's own snapshot folder, not user input; quotes are doubled all the same.
        con.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {SNAPSHOT_ALIAS}")
    try:
        for name, table in tables.items():
            # Table names come from code constants, never from user input.
            if isinstance(table, str):
                if source is None:
                    raise ValueError(f"table {name!r} names the warehouse table {table!r}, but no source "
                                     "connection was given to publish it from")
                con.execute(f'create table {target}"{name}" as select * from "{table}" order by all')
            else:
                frame = table() if callable(table) else table
                con.register("frame_to_publish", arrow_of(frame))
                con.execute(f'create table {target}"{name}" as select * from frame_to_publish order by all')
                con.unregister("frame_to_publish")
                del frame  # before the next table is made, not after
            counted = con.execute(f'select count(*) from {target}"{name}"').fetchone()
            heights[name] = int(counted[0]) if counted else 0
        con.execute(f"checkpoint {SNAPSHOT_ALIAS}" if source is not None else "checkpoint")
    finally:
        if source is None:
            con.close()
        else:
            con.execute(f"detach {SNAPSHOT_ALIAS}")
    return heights


def rollback(home: Home, to: str | None = None) -> tuple[Path | None, Path]:
    """Make an earlier snapshot live again: `to` by id, else the newest one older than the live one.

    Returns (the snapshot that was live, the snapshot now live). The snapshot rolled back from is kept
    (until pruned), so a rollback can itself be undone with `rollback(home, to=<its id>)`.
    """
    with writer_lock(home, purpose="rollback"):
        recover(home)
        live = current_snapshot(home)
        complete = snapshots(home)
        if to is not None:
            matches = [p for p in complete if p.name == to]
            if not matches:
                known = ", ".join(p.name for p in complete) or "none"
                raise RollbackError(f"There is no complete snapshot {to!r} under {home.published}. Kept: {known}.")
            target = matches[0]
        else:
            older = [p for p in complete if live is None or p.name < live.name]
            if not older:
                raise RollbackError(f"There is no snapshot older than {live.name if live else 'nothing'} to go "
                                    f"back to under {home.published}.")
            target = older[-1]
        _switch_current(home, target.name)
        log.warning("rolled back from %s to %s", live.name if live else "nothing", target.name)
        return live, target


def _new_snapshot_id(home: Home) -> str:
    # Ids sort in publishing order; never reuse one (two publishes in the same microsecond).
    snapshot_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    while (home.published / snapshot_id).exists():
        snapshot_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return snapshot_id


def _switch_current(home: Home, snapshot_id: str) -> None:
    pointer_tmp = home.published / f".{CURRENT}.{os.getpid()}.tmp"
    with open(pointer_tmp, "w", encoding="utf-8") as handle:
        handle.write(snapshot_id)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer_tmp, home.published / CURRENT)
    _fsync_dir(home.published)


def _prune(home: Home, keep: int) -> None:
    live = current_snapshot(home)
    folders = sorted(p for p in home.published.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in folders[:-keep]:
        if old != live:
            shutil.rmtree(old, ignore_errors=True)
    recover(home)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
