"""Shared loop of the comparison scripts (`wsnet_compare.py`, `smile_compare.py`)."""

from __future__ import annotations

import math
import time
from typing import Any

import hubench


def fit_over_seeds(
    scenario: str, seeds: list[int], name: str, params: dict[str, Any], metrics: tuple[str, ...],
    **scene_params: Any,
) -> list[str]:
    """Fit method ``name`` (``params`` may hold a ``profile``) on ``scenario`` for each
    seed (scene seed = ``random_state``); return the mean of each metric and of the fit
    seconds, formatted, NaN-skipping ("-" when no seed has a value)."""
    rows: dict[str, list[float]] = {m: [] for m in (*metrics, "seconds")}
    for seed in seeds:
        scene = hubench.make_scene(scenario, seed=seed, **scene_params)
        overrides = dict(params)  # a copy per seed: the profile must reach every seed
        profile = overrides.pop("profile", None)
        method = hubench.get_method(name, profile=profile, random_state=seed, **overrides)
        start = time.perf_counter()
        estimate = method.fit(scene.observation())
        rows["seconds"].append(time.perf_counter() - start)
        scores = hubench.score(scene, estimate)
        for metric in metrics:
            rows[metric].append(float(scores[metric]))
    cells = []
    for values in rows.values():
        finite = [v for v in values if math.isfinite(v)]
        cells.append(f"{sum(finite) / len(finite):.3f}" if finite else "-")
    return cells
