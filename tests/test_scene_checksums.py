"""Generated scenes are what their scenario's version promises.

Every synthetic scenario declares a version (part of each cell's key). This test
regenerates a fixed set of scenes and compares their fingerprints with the committed
table ``tests/data/scene_checksums.json``: when the generator's output changes while
the version stays, stored cells of the old scenes would be reused for new ones, so the
test fails and says to bump the version (and rewrite the table with
``python tests/test_scene_checksums.py``).

A fingerprint is exact for what is discrete (shapes, weak flags, endmember names, the
library spectra chosen) and, for the arrays, a set of sums compared to 1e-9 relative:
the last bits of floating-point results may differ between CPUs (vectorised exp/log,
BLAS kernels), so a hash of raw bytes would fail on another machine while any real
change to a scene moves these sums by far more.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hubench.datasets import SCENARIOS, make_scene

TABLE = Path(__file__).parent / "data" / "scene_checksums.json"
CASES = (("ci", 0), ("ci", 1), ("quick", 0))
RTOL = 1e-9


def _weights(n: int) -> np.ndarray:
    return np.random.default_rng(12345).uniform(-1.0, 1.0, n)


def fingerprint(name: str, profile: str, seed: int) -> dict[str, Any]:
    scene = make_scene(name, seed=seed, profile=profile)
    sums: dict[str, float] = {}
    for label, array in (("Y", scene.Y), ("A", scene.A), ("E", scene.E)):
        flat = np.asarray(array, dtype=np.float64).ravel()
        sums[f"{label}_sum"] = float(flat.sum())
        sums[f"{label}_sq"] = float(flat @ flat)
        sums[f"{label}_w"] = float(flat @ _weights(flat.size))
    facts: dict[str, Any] = {"shape": [*scene.image_shape, *scene.E.shape], "weak": scene.weak.tolist(),
                             "names": list(scene.endmember_names or [])}
    if scene.library is not None:  # library scenes: the atoms, their order and the truth's atoms
        flat = scene.library.ravel()
        sums.update({"library_sum": float(flat.sum()), "library_w": float(flat @ _weights(flat.size))})
        facts.update({"library_names": list(scene.library_names or []),
                      "library_index": [int(i) for i in scene.library_index]})  # type: ignore[union-attr]
    discrete = json.dumps(facts, sort_keys=True)
    return {"discrete_sha256": hashlib.sha256(discrete.encode()).hexdigest(), "sums": sums}


def synthetic_scenarios() -> list[str]:
    return [n for n in SCENARIOS.names() if SCENARIOS.get(n).kind == "synthetic"]


def current_table() -> dict[str, Any]:
    return {name: {"version": SCENARIOS.get(name).version,
                   "scenes": {f"{p}/{s}": fingerprint(name, p, s) for p, s in CASES}}
            for name in synthetic_scenarios()}


def test_generated_scenes_match_their_version() -> None:
    table = json.loads(TABLE.read_text())
    assert sorted(table) == synthetic_scenarios(), "a synthetic scenario was added or removed: rewrite the table"
    for name in synthetic_scenarios():
        version = SCENARIOS.get(name).version
        recorded = table[name]
        assert recorded["version"] == version, (
            f"scenario {name!r} is version {version} but the table has {recorded['version']}: "
            "rewrite it with `python tests/test_scene_checksums.py`")
        for case, expected in recorded["scenes"].items():
            profile, seed = case.split("/")
            got = fingerprint(name, profile, int(seed))
            hint = (f"scenario {name!r} ({case}) generates another scene at the same version {version}: "
                    "bump its version (hubench.datasets.scenarios.GENERATOR_VERSION) so stored cells of "
                    "the old scenes are not reused, then rewrite the table")
            assert got["discrete_sha256"] == expected["discrete_sha256"], hint
            for key, value in expected["sums"].items():
                assert abs(got["sums"][key] - value) <= RTOL * max(1.0, abs(value)), f"{hint} ({key})"


def test_fingerprint_is_stable_and_tells_scenes_apart() -> None:
    """The same scene twice gives the same fingerprint; another scene another one."""
    a = fingerprint("standard", "ci", 0)
    assert a == fingerprint("standard", "ci", 0)
    b = fingerprint("standard", "ci", 1)
    assert a["sums"]["Y_w"] != b["sums"]["Y_w"]


if __name__ == "__main__":  # rewrite the table (after bumping a scenario's version)
    TABLE.write_text(json.dumps(current_table(), indent=1, sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {TABLE}\n")
