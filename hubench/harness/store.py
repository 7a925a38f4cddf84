"""The results store: one SQLite row per cell, written the moment the cell ends.

Layout (``SCHEMA_VERSION`` 4): table ``meta(key, value)`` holding ``schema_version``;
table ``results`` with one row per cell, ``key`` its PRIMARY KEY (so a cell is stored
at most once; ``--force`` replaces it); table ``claims`` with the cells being run right
now (``key``, the host, pid and start time of the claiming process), so that two runs
on one store never compute the same cell twice. Each row is written in its own
transaction from the driver process only, and the database runs in WAL mode, so a run
killed with SIGKILL loses at most the cells that were running. Estimates
(``--save-estimates``) go to ``estimates/<key>.npz`` beside the database (``A``, ``E``
when blind, ``alignment``), written to a temporary name and renamed.

Column ``training`` (schema 3) holds what a deep method reports about its training,
as JSON: ``epochs``, ``training_converged`` (the stopping rule ended it; false = the
epochs cap), ``loss_history`` and ``learning_curve`` (a list of checkpoints ``{epoch,
seconds, loss, armse, msad, weak_ap, ...}``); NULL for methods that do not train.

Every JSON column is strict JSON: in ``metrics`` a NaN or infinite value is ``null``;
in the parameter columns a non-finite float is the string ``"inf"``, ``"-inf"`` or
``"nan"`` (see :func:`hubench.harness.grid.canonical`).

Schema 3 added ``ensemble`` (K of ``--ensemble K``; 1 or NULL: one fit),
``cpu_seconds`` (CPU time of the fit, all threads) and ``info`` (strict JSON: what the
estimate said about its fit that reports use, e.g. the ensemble's members and cost)
and ``training`` (above).

A store written by schema 1 (hubench before the cell-identity change) or 2 is migrated
in place, in one transaction, when a run opens it for writing: the new columns are
added (from schema 1: ``task`` from the registry where the method is still registered,
``threads`` and the scene's version and digest unknown: NULL, NaN/Infinity in
``metrics`` become ``null`` and the ``claims`` table is created; from either: the
schema-3 columns NULL, which reads as one fit with no CPU time known). Schema-1 cells
keep their rows but are never reused, since their keys did not cover the threads.
Schema 4 added ``scheduler`` (the Dask scheduler's address a cell ran through; NULL on
the local pool, whose cells also have the driver's ``host``); a schema-3 store gains it
(NULL) and its rows are reused as they are.
Readers (``leaderboard``, ``plot``, ``report``) open a store read-only and read every
schema without changing it.

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
import math
import os
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from hubench.errors import StoreError
from hubench.harness.grid import Cell, to_json
from hubench.harness.outcome import Outcome
from hubench.harness.processes import process_start

SCHEMA_VERSION = 4
READABLE_SCHEMAS = (1, 2, 3, 4)
DEFAULT_STORE = os.path.join("hubench-results", "results.sqlite")
STATUSES = ("ok", "degenerate", "error", "invalid", "timeout", "crashed", "oom")
# sqlite waits this long for another process's lock before a write attempt fails...
BUSY_TIMEOUT_S = 60.0
# ...and a failed write is tried again after each of these pauses (seconds).
WRITE_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
MAX_NAME_BYTES = 255

_COLUMNS = [
    ("key", "TEXT PRIMARY KEY"), ("method", "TEXT NOT NULL"), ("method_version", "TEXT"),
    ("method_params", "TEXT"), ("profile", "TEXT"), ("scenario", "TEXT NOT NULL"),
    ("scenario_kind", "TEXT"), ("scenario_params", "TEXT"), ("snr_db", "REAL"),
    ("seed", "INTEGER"), ("status", "TEXT NOT NULL"), ("reason", "TEXT"), ("metrics", "TEXT"),
    ("alignment", "TEXT"), ("fit_seconds", "REAL"), ("peak_mem_mb", "REAL"), ("device", "TEXT"),
    ("hubench_version", "TEXT"), ("git_commit", "TEXT"), ("python_version", "TEXT"),
    ("numpy_version", "TEXT"), ("torch_version", "TEXT"), ("host", "TEXT"),
    ("started_at", "TEXT"), ("finished_at", "TEXT"),
    # schema 2
    ("task", "TEXT"), ("threads", "INTEGER"), ("scenario_version", "TEXT"), ("scene_sha256", "TEXT"),
    # schema 3
    ("ensemble", "INTEGER"), ("cpu_seconds", "REAL"), ("info", "TEXT"), ("training", "TEXT"),
    # schema 4
    ("scheduler", "TEXT"),
]
COLUMNS = [name for name, _ in _COLUMNS]
V1_COLUMNS = COLUMNS[: COLUMNS.index("task")]
V2_COLUMNS = COLUMNS[: COLUMNS.index("ensemble")]
V3_COLUMNS = COLUMNS[: COLUMNS.index("scheduler")]
#: The columns each readable schema has.
SCHEMA_COLUMNS = {1: V1_COLUMNS, 2: V2_COLUMNS, 3: V3_COLUMNS, 4: COLUMNS}
#: Read from ``training`` into the frame: epochs run and whether the stopping rule
#: (not the cap) ended training (1.0 / 0.0; NaN for methods that do not train).
TRAINING_FRAME_COLUMNS = ["epochs", "training_converged"]
FRAME_COLUMNS = [c for c in COLUMNS if c not in ("metrics", "training")] + TRAINING_FRAME_COLUMNS
_JSON_COLUMNS = ("method_params", "scenario_params", "metrics", "alignment", "info", "training")
_CLAIMS = ("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, host TEXT, pid INTEGER, "
           "proc_start TEXT, run_id TEXT, claimed_at TEXT)")

T = TypeVar("T")


class StoreWriteError(RuntimeError):
    """A write to the store failed after every retry (a lock held too long, a disk error).

    Not a :class:`~hubench.errors.HubenchError`: it is no mistake of the user's input,
    so the command line does not answer it with exit code 2.
    """


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def strict_metrics(metrics: dict[str, Any] | None) -> str:
    """``metrics`` as strict JSON: NaN and infinities become ``null``."""
    clean = {str(k): (float(v) if v is not None and math.isfinite(float(v)) else None)
             for k, v in (metrics or {}).items()}
    return json.dumps(clean, sort_keys=True, allow_nan=False)


def strict_json(value: Any) -> str:
    """``value`` as strict JSON (sorted keys): non-finite floats anywhere become ``null``."""
    def clean(v: Any) -> Any:
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 1) == 0:
            return clean(v.item())  # numpy scalars
        if isinstance(v, (str, int, bool)) or v is None:
            return v
        return str(v)
    return json.dumps(clean(value), sort_keys=True, allow_nan=False)


def _damaged(path: Path, exc: BaseException) -> StoreError:
    return StoreError(f"--store: {path} is damaged or not a hubench results store ({exc}); "
                      "restore it from a copy or choose another --store path (the file was left untouched)")


def check_store_path(path: str | os.PathLike[str]) -> None:
    """Raise :class:`StoreError` unless ``path`` can hold a compatible store; create nothing."""
    target = Path(path)
    too_long = [part for part in target.parts if len(os.fsencode(part)) > MAX_NAME_BYTES]
    if too_long:
        raise StoreError(f"--store: the name {too_long[0][:40]}... is longer than {MAX_NAME_BYTES} bytes; "
                         "choose a shorter --store path")
    try:
        exists = target.exists()
    except OSError as exc:
        raise StoreError(f"--store: cannot use {target}: {exc.strerror}; choose another --store path") from None
    if exists:
        if not target.is_file():
            raise StoreError(f"--store: {target} is not a file; give the path of a .sqlite file")
        if not os.access(target, os.R_OK | os.W_OK) or not os.access(target.parent, os.W_OK):
            raise StoreError(f"--store: {target} is not writable; choose another --store path")
        if target.stat().st_size:
            inspect_store(target)
        return
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise StoreError(f"--store: {parent} is a file, so {target} cannot be created under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"--store: cannot create {target}: {parent} is not writable; choose another --store path")


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection that changes nothing (not even the WAL files), if it can."""
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        # A WAL store in a read-only folder: sqlite cannot create the -shm file; read it
        # as an immutable file instead (nothing else may write it meanwhile).
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)


def inspect_store(path: Path) -> int:
    """Check, without writing, that ``path`` is an intact hubench store; return its schema.

    Refuses (:class:`StoreError`, the file untouched): a file that is not SQLite, a
    damaged one (``PRAGMA quick_check``), a schema version this hubench cannot read, and
    a ``results`` table whose columns are not the ones of its schema. An SQLite file
    with no tables at all is accepted as a new store (schema 0).
    """
    try:
        conn = _connect_readonly(path)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                return 0
            if "meta" not in tables:
                raise StoreError(f"--store: {path} is an SQLite file but not a hubench results store "
                                 f"(tables: {', '.join(sorted(tables))}); choose another --store path")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            found = None if row is None else str(row[0])
            if found not in {str(v) for v in READABLE_SCHEMAS}:
                raise StoreError(
                    f"--store: {path} has results schema version {found or 'none'}, this hubench reads "
                    f"{', '.join(map(str, READABLE_SCHEMAS))}; use a new --store path (the old file is left untouched)"
                )
            version = int(str(found))
            if "results" in tables:
                have = {r[1] for r in conn.execute("PRAGMA table_info(results)")}
                need = set(SCHEMA_COLUMNS[version])
                if not need <= have:
                    missing = ", ".join(sorted(need - have))
                    raise StoreError(f"--store: {path} has a 'results' table without the columns of schema "
                                     f"{version} (missing: {missing}); choose another --store path "
                                     "(the file was left untouched)")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise StoreError(f"--store: {path} is damaged (sqlite quick_check: {check[0] if check else '?'}); "
                                 "restore it from a copy or choose another --store path (the file was left untouched)")
            return version
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from None


def _owner_alive(host: str, pid: int, proc_start: str | None) -> bool:
    """Whether the process that made a claim still runs (assumed so on another host)."""
    if host != socket.gethostname():
        return True
    now = process_start(int(pid))
    if now is None:
        return False
    return proc_start is None or now == proc_start


class ResultStore:
    """An open results store (created on first open). Use as a context manager.

    ``ResultStore(path)`` opens for writing: it creates a missing store and migrates a
    schema-1 store. ``create=False`` refuses a missing file. ``readonly=True`` (the
    reports) opens an existing store without writing anything to it, also when the file
    or its folder is read-only.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STORE, *, create: bool = True,
                 readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.run_id = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
        if (readonly or not create) and not self.path.is_file():
            raise StoreError(f"--store: no results store at {self.path}; run 'hubench run' first or fix the path")
        if readonly:
            if len(os.fsencode(self.path.name)) > MAX_NAME_BYTES:
                raise StoreError(f"--store: the name is longer than {MAX_NAME_BYTES} bytes")
            self.schema = inspect_store(self.path) if self.path.stat().st_size else 0
            try:
                self._conn = _connect_readonly(self.path)
            except sqlite3.DatabaseError as exc:
                raise _damaged(self.path, exc) from None
            return
        check_store_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"--store: cannot open {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"--store: cannot open {self.path}: {exc.strerror or exc}") from None
        try:
            self._write(lambda conn: self._create_or_migrate(), "set up the tables")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"--store: cannot open {self.path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"--store: cannot open {self.path}: {exc.strerror or exc}") from None
        self.schema = SCHEMA_VERSION

    def _create_or_migrate(self) -> None:
        conn = self._conn
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        version = int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "results" not in tables:
            cols = ", ".join(f"{n} {t}" for n, t in _COLUMNS)
            conn.execute(f"CREATE TABLE results ({cols})")
        elif version < SCHEMA_VERSION:
            self._migrate(version)
        conn.execute(_CLAIMS)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def _migrate(self, version: int) -> None:
        """Schema ``version`` -> the current one, inside the caller's transaction (see
        the module docstring)."""
        conn = self._conn
        for name, kind in _COLUMNS[len(SCHEMA_COLUMNS[version]):]:
            conn.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
        if version >= 2:
            return
        try:
            from hubench.methods import METHODS

            tasks = {name: METHODS.get(name).task for name in METHODS}
        except ImportError:  # pragma: no cover - the registry is always importable
            tasks = {}
        rows = conn.execute("SELECT key, method, metrics FROM results").fetchall()
        for key, method, metrics in rows:
            try:
                decoded = json.loads(metrics) if metrics else {}
            except ValueError:
                decoded = {}
            conn.execute("UPDATE results SET metrics = ?, task = ? WHERE key = ?",
                         (strict_metrics(decoded), tasks.get(method), key))

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
    def _write(self, action: Callable[[sqlite3.Connection], T], what: str) -> T:
        """Run ``action`` in one IMMEDIATE transaction, retried with back-off.

        Each attempt waits up to :data:`BUSY_TIMEOUT_S` for a lock; after the last of
        :data:`WRITE_RETRY_DELAYS` a :class:`StoreWriteError` says what to do.
        """
        if self.readonly:
            raise StoreError(f"--store: {self.path} was opened read-only")
        delays = (*WRITE_RETRY_DELAYS, None)
        for delay in delays:
            try:
                with self._conn:
                    self._conn.execute("BEGIN IMMEDIATE")
                    return action(self._conn)
            except sqlite3.Error as exc:
                if delay is None:
                    raise StoreWriteError(
                        f"cannot {what} in {self.path} after {len(delays)} tries ({exc}); another process "
                        "may hold a lock on it, or the disk is full or failing"
                    ) from None
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def put(self, cell: Cell, outcome: Outcome, provenance: dict[str, Any]) -> None:
        """Store (or replace) the row of ``cell`` and drop its claim, in one transaction."""
        row = {
            "key": cell.key, "method": cell.method, "method_version": cell.method_version,
            "method_params": to_json(cell.method_params), "profile": cell.profile,
            "scenario": cell.scenario, "scenario_kind": cell.scenario_kind,
            "scenario_params": to_json(cell.scenario_params), "snr_db": cell.snr_db,
            "seed": cell.seed, "status": outcome.status, "reason": outcome.reason,
            "metrics": strict_metrics(outcome.metrics),
            "alignment": to_json(outcome.alignment),
            "fit_seconds": outcome.fit_seconds, "peak_mem_mb": outcome.peak_mem_mb,
            "device": outcome.device, "started_at": outcome.started_at,
            "finished_at": outcome.finished_at, "task": cell.task, "threads": cell.threads,
            "scenario_version": cell.scenario_version, "scene_sha256": cell.scene_sha256,
            "ensemble": cell.ensemble, "cpu_seconds": outcome.cpu_seconds,
            "info": strict_json(outcome.info) if outcome.info else None,
            "training": None if outcome.training is None else strict_json(outcome.training),
        }
        if outcome.host:  # the Dask worker's host; the driver's otherwise
            row["host"] = outcome.host
        row.update({k: provenance.get(k) for k in COLUMNS if k not in row})
        marks = ", ".join("?" for _ in COLUMNS)
        values = [row[c] for c in COLUMNS]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(f"INSERT OR REPLACE INTO results ({', '.join(COLUMNS)}) VALUES ({marks})", values)
            conn.execute("DELETE FROM claims WHERE key = ?", (cell.key,))

        self._write(write, "store a result")

    def claim(self, key: str, reuse: Callable[[str], bool]) -> str:
        """Claim cell ``key`` for this process before it runs; one transaction.

        Returns ``"stored"`` when a row exists that ``reuse(status)`` accepts (another
        run stored it meanwhile), ``"busy"`` when a live process holds a claim on it,
        else ``"run"`` (the claim is ours; a claim of a process that no longer exists is
        taken over).
        """
        host, pid = socket.gethostname(), os.getpid()

        def attempt(conn: sqlite3.Connection) -> str:
            row = conn.execute("SELECT status FROM results WHERE key = ?", (key,)).fetchone()
            if row is not None and reuse(str(row[0])):
                return "stored"
            held = conn.execute("SELECT host, pid, proc_start, run_id FROM claims WHERE key = ?",
                                (key,)).fetchone()
            if held is not None and held[3] != self.run_id and _owner_alive(held[0], held[1], held[2]):
                return "busy"
            conn.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?)",
                         (key, host, pid, process_start(pid), self.run_id, time.strftime("%Y-%m-%dT%H:%M:%S")))
            return "run"

        return self._write(attempt, "claim a cell")

    def release_claims(self) -> None:
        """Drop every claim this store object made (the end of a run, also a failed one)."""
        with_claims = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "claims" in with_claims:
            self._write(lambda c: c.execute("DELETE FROM claims WHERE run_id = ?", (self.run_id,)),
                        "release claims")

    # ---- reading ------------------------------------------------------------------
    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, exc) from None

    def _columns(self) -> list[str]:
        """The columns this store has (a schema-1 store read-only lacks the new ones)."""
        have = {r[1] for r in self._query("PRAGMA table_info(results)")}
        return [c for c in COLUMNS if c in have]

    def statuses(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """``{key: status}`` of the stored cells (all, or those among ``keys``)."""
        return {k: s for k, (s, _) in self.outcomes(keys).items()}

    def outcomes(self, keys: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """``{key: (status, reason)}`` of the stored cells (all, or those among ``keys``)."""
        rows = self._query("SELECT key, status, reason FROM results")
        wanted = None if keys is None else set(keys)
        return {k: (s, r or "") for k, s, r in rows if wanted is None or k in wanted}

    def provenance_of(self, keys: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """``{key: (hubench_version, git_commit)}`` of the stored cells among ``keys``."""
        wanted = set(keys)
        rows = self._query("SELECT key, hubench_version, git_commit FROM results")
        return {k: (v, g) for k, v, g in rows if k in wanted}

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM results")[0][0])

    def _records(self) -> list[dict[str, Any]]:
        """Every row as a dict over :data:`COLUMNS` (missing columns None), JSON decoded."""
        have = self._columns() if self._table_exists() else []
        if not have:
            return []
        out = []
        for values in self._query(f"SELECT {', '.join(have)} FROM results ORDER BY rowid"):
            row = dict.fromkeys(COLUMNS)
            row.update(zip(have, values, strict=True))
            for name in _JSON_COLUMNS:
                if row[name] is None:
                    continue
                try:
                    row[name] = json.loads(str(row[name]))
                except ValueError as exc:
                    raise StoreError(
                        f"--store: {self.path}: row {row['key']} has malformed JSON in column {name!r} "
                        f"({exc}); delete that row or re-run the cell with --force"
                    ) from None
            out.append(row)
        return out

    def _table_exists(self) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE type='table' AND name='results'"))

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row as a dict (JSON columns decoded)."""
        return self._records()

    def training(self, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``{key: training record}`` (the ``training`` column, JSON decoded) of the cells
        that have one, all or those among ``keys``; empty for a store before schema 3."""
        if "training" not in self._columns():
            return {}
        wanted = None if keys is None else set(keys)
        out = {}
        for key, text in self._query("SELECT key, training FROM results WHERE training IS NOT NULL"):
            if wanted is not None and key not in wanted:
                continue
            try:
                record = json.loads(str(text))
            except ValueError:
                continue  # a damaged record draws no curve; the row itself stays readable
            if isinstance(record, dict):
                out[str(key)] = record
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

        records, names = [], set()
        for row in self._records():
            training = row.pop("training") or {}
            if isinstance(training, dict):
                epochs, converged = training.get("epochs"), training.get("training_converged")
                row["epochs"] = np.nan if epochs is None else float(epochs)
                row["training_converged"] = np.nan if converged is None else float(bool(converged))
            metrics = row.pop("metrics") or {}
            if not isinstance(metrics, dict):
                raise StoreError(f"--store: {self.path}: row {row['key']} has metrics that are not an object; "
                                 "delete that row or re-run the cell with --force")
            for name in ("method_params", "scenario_params", "alignment", "info"):
                row[name] = to_json(row[name])
            for name, value in metrics.items():
                column = f"metric_{name}" if name in COLUMNS or name in TRAINING_FRAME_COLUMNS else name
                try:
                    row[column] = np.nan if value is None else float(value)
                except (TypeError, ValueError):
                    row[column] = np.nan
                names.add(column)
            records.append(row)
        metric_columns = sorted(names, key=_natural)
        frame = pd.DataFrame.from_records(records, columns=FRAME_COLUMNS + metric_columns)
        for column in ["snr_db", "fit_seconds", "peak_mem_mb", "cpu_seconds", *TRAINING_FRAME_COLUMNS,
                       *metric_columns]:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce").fillna(-1).astype("int64")
        frame["threads"] = pd.to_numeric(frame["threads"], errors="coerce").astype("Int64")
        frame["ensemble"] = pd.to_numeric(frame["ensemble"], errors="coerce").fillna(1).astype("int64")
        return _drop_superseded(frame)


def _drop_superseded(frame: Any) -> Any:
    """Drop rows migrated from schema 1 (``threads`` unknown) that a current row of the
    same method, scenario, SNR, seed and profile replaces, so nothing is counted twice."""
    legacy = frame["threads"].isna().to_numpy()
    if not legacy.any() or legacy.all():
        return frame
    ident = ["method", "scenario", "snr_db", "seed", "profile"]
    current = frame.loc[~legacy, ident].fillna({"snr_db": -1.0}).apply(tuple, axis=1)
    old = frame.loc[legacy, ident].fillna({"snr_db": -1.0}).apply(tuple, axis=1)
    drop = old[old.isin(set(current))].index
    return frame.drop(index=drop).reset_index(drop=True)
