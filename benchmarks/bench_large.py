"""Large images (issue 18): VCA, FCLS and the scene loader at 1e4, 1e5 and 1e6 pixels.

The image has 200 bands and 5 endmembers (Dirichlet abundances, noise at about 30 dB), in rows of 1000 pixels;
1e6 pixels is a 1000 x 1000 image, 1.6 GB in float64.

As pytest-benchmark (1e4 and 1e5 pixels; 1e6 only with ``HUBENCH_BENCH_1E6=1``, since
it needs about 5 GB and minutes on two shared cores)::

    python -m pytest benchmarks/bench_large.py --benchmark-only
    HUBENCH_BENCH_1E6=1 python -m pytest benchmarks/bench_large.py --benchmark-only

As a script, the scaling table of docs/dev/large-images.md: each (size, stage) in a
fresh process, so the peak resident-memory growth (:class:`hubench.memory.PeakMemory`)
is that stage's alone::

    python benchmarks/bench_large.py 10000 100000 1000000
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BANDS, P = 200, 5
SIZES = [10_000, 100_000] + ([1_000_000] if os.environ.get("HUBENCH_BENCH_1E6") == "1" else [])


def image(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``E`` (5, 200), ``A`` (n, 5), ``Y`` (n, 200): a noisy linear mixture."""
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.05, 1.0, (P, BANDS))
    A = rng.dirichlet(np.full(P, 0.5), n)
    Y = A @ E
    Y += 0.01 * rng.standard_normal(Y.shape)
    return E, A, Y


def _stage(stage: str, n: int, folder: str) -> dict[str, Any]:
    from hubench.memory import PeakMemory

    if stage == "load":
        from hubench.datasets.formats import load_scene

        path = Path(folder) / f"image-{n}.npz"
        if not path.exists():
            E, A, Y = image(n)
            np.savez(path, Y=Y, A=A, E=E, H=n // 1000 or 1, W=min(n, 1000))
            del E, A, Y
        with PeakMemory() as mem:
            start = time.perf_counter()
            load_scene(path)
            seconds = time.perf_counter() - start
        return {"seconds": seconds, "peak_mb": mem.peak_mb}
    E, _, Y = image(n)
    with PeakMemory() as mem:
        start = time.perf_counter()
        if stage == "vca":
            from hubench.solvers.vca import vca

            vca(Y, P, random_state=0)
        else:
            from hubench.solvers.simplex_ls import fcls

            fcls(E, Y, block=None if stage == "fcls-unblocked" else 65536)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": mem.peak_mb}


def table(sizes: list[int]) -> str:
    rows = ["| pixels | image (MB) | stage | seconds | peak memory growth (MB) | peak / image |",
            "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            mb = n * BANDS * 8 / 2**20
            for stage in ("load", "vca", "fcls", "fcls-unblocked"):
                out = subprocess.run([sys.executable, __file__, "--one", stage, str(n), folder],
                                     capture_output=True, text=True, check=True).stdout
                got = json.loads(out.strip().splitlines()[-1])
                rows.append(f"| {n:.0e} | {mb:.0f} | {stage} | {got['seconds']:.3f} | {got['peak_mb']:.0f} | "
                            f"{got['peak_mb'] / mb:.2f} |")
                print(rows[-1], flush=True)
    return "\n".join(rows)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n:.0e}px")
def data(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return image(int(request.param))


def test_vca(benchmark: Any, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    from hubench.solvers.vca import vca

    _, _, Y = data
    result = benchmark.pedantic(vca, args=(Y, P), kwargs={"random_state": 0}, rounds=3, iterations=1)
    assert result.E.shape == (P, BANDS)


def test_fcls_blocked(benchmark: Any, data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    from hubench.solvers.simplex_ls import fcls

    E, _, Y = data
    result = benchmark.pedantic(fcls, args=(E, Y), rounds=3, iterations=1)
    assert result.converged


def test_load_npz(benchmark: Any, data: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    from hubench.datasets.formats import load_scene

    E, A, Y = data
    path = tmp_path / "image.npz"
    np.savez(path, Y=Y, A=A, E=E, H=Y.shape[0] // 1000, W=1000)  # rows of 1000 pixels
    scene = benchmark.pedantic(load_scene, args=(path,), rounds=3, iterations=1)
    assert scene.Y.shape == Y.shape


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(_stage(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    else:
        print(table([int(float(a)) for a in sys.argv[1:]] or [10_000, 100_000]))
