"""The results store: one SQLite row per cell, written the moment the cell ends.

Layout (``SCHEMA_VERSION`` 1): table ``meta(key, value)`` holding ``schema_version``;
table ``results`` with one row per cell, ``key`` its PRIMARY KEY (so a cell is stored
at most once; ``--force`` replaces it). Each row is written in its own transaction from
the driver process only, and the database runs in WAL mode, so a run killed with
SIGKILL loses at most the cells that were running. Estimates (``--save-estimates``) go
to ``estimates/<key>.npz`` beside the database (``A``, ``E`` when blind, ``alignment``),
written to a temporary name and renamed.

:meth:`ResultStore.to_frame` is the interface for reports (leaderboards, ``check``):
one row per cell with the fixed columns :data:`FRAME_COLUMNS` and one float column per
scalar metric (named as the metric, e.g. ``armse``, ``sad_em0``; ``metric_<name>`` if a
name collided with a fixed column). ``snr_db`` is float: the SNR of a synthetic cell,
``inf`` for noiseless ones, NaN for real scenes (their noise is not controlled; group
with ``dropna=False``). ``method_params``, ``scenario_params`` and ``alignment`` are
canonical JSON text (sorted keys), so they can be compared and grouped on.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hubench.errors import StoreError
from hubench.harness.grid import Cell, to_json

SCHEMA_VERSION = 1
DEFAULT_STORE = os.path.join("hubench-results", "results.sqlite")
STATUSES = ("ok", "error", "invalid", "timeout", "crashed")
_COLUMNS = [
    ("key", "TEXT PRIMARY KEY"), ("method", "TEXT NOT NULL"), ("method_version", "TEXT"),
    ("method_params", "TEXT"), ("profile", "TEXT"), ("scenario", "TEXT NOT NULL"),
    ("scenario_kind", "TEXT"), ("scenario_params", "TEXT"), ("snr_db", "REAL"),
    ("seed", "INTEGER"), ("status", "TEXT NOT NULL"), ("reason", "TEXT"), ("metrics", "TEXT"),
    ("alignment", "TEXT"), ("fit_seconds", "REAL"), ("peak_mem_mb", "REAL"), ("device", "TEXT"),
    ("hubench_version", "TEXT"), ("git_commit", "TEXT"), ("python_version", "TEXT"),
    ("numpy_version", "TEXT"), ("torch_version", "TEXT"), ("host", "TEXT"),
    ("started_at", "TEXT"), ("finished_at", "TEXT"),
]
COLUMNS = [name for name, _ in _COLUMNS]
FRAME_COLUMNS = [c for c in COLUMNS if c != "metrics"]


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def check_store_path(path: str | os.PathLike[str]) -> None:
    """Raise :class:`StoreError` unless ``path`` can hold a compatible store; create nothing."""
    target = Path(path)
    if target.exists():
        if not target.is_file():
            raise StoreError(f"--store: {target} is not a file; give the path of a .sqlite file")
        if not os.access(target, os.R_OK | os.W_OK) or not os.access(target.parent, os.W_OK):
            raise StoreError(f"--store: {target} is not writable; choose another --store path")
        if target.stat().st_size:
            _check_schema(target)
        return
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise StoreError(f"--store: {parent} is a file, so {target} cannot be created under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"--store: cannot create {target}: {parent} is not writable; choose another --store path")


def _check_schema(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"--store: {path} is not a hubench results store ({exc}); choose another path") from None
    if row is None or str(row[0]) != str(SCHEMA_VERSION):
        found = "none" if row is None else row[0]
        raise StoreError(
            f"--store: {path} has results schema version {found}, this hubench uses "
            f"{SCHEMA_VERSION}; use a new --store path (the old file is left untouched)"
        )


class ResultStore:
    """An open results store (created on first open). Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STORE, *, create: bool = True) -> None:
        """Open the store at ``path``; ``create=False`` refuses a missing file (for readers)."""
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise StoreError(f"--store: no results store at {self.path}; run 'hubench run' first or fix the path")
        check_store_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                cols = ", ".join(f"{n} {t}" for n, t in _COLUMNS)
                self._conn.execute(f"CREATE TABLE IF NOT EXISTS results ({cols})")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"--store: cannot open {self.path}: {exc}") from None
        _check_schema(self.path)

    @property
    def estimates_dir(self) -> Path:
        return self.path.parent / "estimates"

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing ------------------------------------------------------------------
    def put(self, cell: Cell, outcome: dict[str, Any], provenance: dict[str, Any]) -> None:
        """Store (or replace) the row of ``cell`` in one transaction."""
        row = {
            "key": cell.key, "method": cell.method, "method_version": cell.method_version,
            "method_params": to_json(cell.method_params), "profile": cell.profile,
            "scenario": cell.scenario, "scenario_kind": cell.scenario_kind,
            "scenario_params": to_json(cell.scenario_params), "snr_db": cell.snr_db,
            "seed": cell.seed, "status": outcome["status"], "reason": outcome.get("reason", ""),
            "metrics": json.dumps(outcome.get("metrics") or {}, sort_keys=True),
            "alignment": to_json(outcome.get("alignment")),
            "fit_seconds": outcome.get("fit_seconds"), "peak_mem_mb": outcome.get("peak_mem_mb"),
            "device": outcome.get("device", ""), "started_at": outcome.get("started_at"),
            "finished_at": outcome.get("finished_at"),
        }
        row.update({k: provenance.get(k) for k in COLUMNS if k not in row})
        marks = ", ".join("?" for _ in COLUMNS)
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(f"INSERT OR REPLACE INTO results ({', '.join(COLUMNS)}) VALUES ({marks})",
                                   [row[c] for c in COLUMNS])
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to {self.path}: {exc}") from None

    # ---- reading ------------------------------------------------------------------
    def statuses(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """``{key: status}`` of the stored cells (all, or those among ``keys``)."""
        rows = self._conn.execute("SELECT key, status FROM results").fetchall()
        wanted = None if keys is None else set(keys)
        return {k: s for k, s in rows if wanted is None or k in wanted}

    def outcomes(self, keys: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """``{key: (status, reason)}`` of the stored cells (all, or those among ``keys``)."""
        rows = self._conn.execute("SELECT key, status, reason FROM results").fetchall()
        wanted = None if keys is None else set(keys)
        return {k: (s, r or "") for k, s, r in rows if wanted is None or k in wanted}

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row as a dict (JSON columns decoded)."""
        cur = self._conn.execute(f"SELECT {', '.join(COLUMNS)} FROM results ORDER BY rowid")
        out = []
        for values in cur.fetchall():
            row = dict(zip(COLUMNS, values, strict=True))
            for name in ("method_params", "scenario_params", "metrics", "alignment"):
                row[name] = json.loads(row[name]) if row[name] is not None else None
            out.append(row)
        return out

    def load_estimate(self, key: str) -> dict[str, Any]:
        """The saved arrays of cell ``key`` (``A``, ``alignment`` and ``E`` if blind)."""
        import numpy as np

        path = self.estimates_dir / f"{key}.npz"
        if not path.exists():
            raise StoreError(f"no saved estimate for cell {key}; run with --save-estimates")
        with np.load(path) as data:
            return {name: data[name] for name in data.files}

    def to_frame(self) -> Any:
        """A ``pandas.DataFrame``: :data:`FRAME_COLUMNS` then one column per metric."""
        import numpy as np
        import pandas as pd

        cur = self._conn.execute(f"SELECT {', '.join(COLUMNS)} FROM results ORDER BY rowid")
        records, names = [], set()
        for values in cur.fetchall():
            row = dict(zip(COLUMNS, values, strict=True))
            metrics = json.loads(row.pop("metrics") or "{}")
            for name, value in metrics.items():
                column = f"metric_{name}" if name in COLUMNS else name
                row[column] = np.nan if value is None else float(value)
                names.add(column)
            records.append(row)
        metric_columns = sorted(names, key=_natural)
        frame = pd.DataFrame.from_records(records, columns=FRAME_COLUMNS + metric_columns)
        for column in ["snr_db", "fit_seconds", "peak_mem_mb", *metric_columns]:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        frame["seed"] = frame["seed"].astype("int64")
        return frame
