"""The outcome of one cell: what a worker (or the pool, for a cell it had to end) reports.

One typed record, from the worker through the pool and the runner to the store.
``scene_seconds`` and ``score_seconds`` (scene generation or cache lookup, and scoring)
are for overhead accounting and are not stored. ``training`` is what a deep method
reports about its training (:data:`TRAINING_KEYS` of its ``Estimate.info``), stored as
JSON; None for methods that do not train.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

#: The keys of a deep method's ``Estimate.info`` kept in the store's ``training`` column.
TRAINING_KEYS = ("epochs", "training_converged", "loss_history", "learning_curve", "checkpoint_seconds", "init")


def training_record(info: dict[str, Any]) -> dict[str, Any] | None:
    """The training part of ``info`` (:data:`TRAINING_KEYS` present), or None if none is."""
    if "training_converged" not in info:
        return None
    return {key: info[key] for key in TRAINING_KEYS if key in info}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Outcome:
    """Status (one of :data:`hubench.harness.store.STATUSES`), why, and what was measured."""

    status: str = "ok"
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    alignment: Any = None
    fit_seconds: float = math.nan
    cpu_seconds: float = math.nan
    peak_mem_mb: float = math.nan
    info: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    scene_seconds: float | None = None
    score_seconds: float | None = None
    training: dict[str, Any] | None = None
    host: str | None = None  # where the cell ran, when not the driver's host (a Dask worker)

    def end(self, status: str | None = None, reason: str | None = None) -> Outcome:
        """Set the status and reason (when given) and the finishing time; return self."""
        if status is not None:
            self.status = status
        if reason is not None:
            self.reason = reason
        self.finished_at = now_iso()
        return self

    @classmethod
    def failed(cls, status: str, reason: str, started_at: str | None = None) -> Outcome:
        """A cell that ended without a result (timeout, oom, crashed)."""
        return cls(status=status, reason=reason, started_at=started_at or now_iso()).end()
