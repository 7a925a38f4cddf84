"""Training memory of DEQ-Unmix against the solver's iteration cap (implicit vs unrolled).

One training step (forward solve + loss + backward) of the equilibrium layer on a
64 x 64 image with 100 bands and 3 endmembers, ``tol=0`` so the solver always runs to
its cap, for caps 5, 10, 20, 40 and both backward modes. Each configuration runs in a
fresh Python process (so the allocator's cache and the process's high-water mark start
clean) with one torch thread, and reports:

* ``rss_mb``: peak resident-set growth over the value just before the step, sampled
  every millisecond by :class:`hubench.memory.PeakMemory` (what ``peak_mem_mb``
  reports in results);
* ``saved_mb``: bytes autograd holds for the backward pass (distinct storages seen by a
  ``saved_tensors_hooks`` pack hook), a deterministic measure of the graph's size;
* ``seconds``: wall time of the step.

Run ``python benchmarks/bench_deq_memory.py`` for the table, or
``pytest benchmarks/bench_deq_memory.py --benchmark-only -s`` (the benchmark times the
whole series once and prints it). Numbers are recorded in docs/dev/deq-unmix.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

CAPS = (5, 10, 20, 40)
BACKWARDS = ("implicit", "unrolled")
H = W = 64
BANDS, P = 100, 3


def _layer(backward: str, cap: int):  # -> (layer, A0)
    from hubench.methods.deq_unmix.fixed_point import DEQUnmixLayer
    from hubench.methods.deq_unmix.superpixel_prox import slic_superpixels

    rng = np.random.default_rng(0)
    grid = np.linspace(0.0, 1.0, BANDS)
    E = 0.1 + np.exp(-((grid[None, :] - rng.random((P, 1))) ** 2) / 0.05)
    logits = gaussian_filter(rng.standard_normal((P, H, W)), (0, 3, 3)) * 6
    A = np.exp(logits).reshape(P, -1).T
    A /= A.sum(axis=1, keepdims=True)
    Y = A @ E + 0.01 * rng.standard_normal((H * W, BANDS))
    labels = slic_superpixels(Y, (H, W), n_segments=64)
    torch.manual_seed(0)
    layer = DEQUnmixLayer(
        torch.tensor(Y, dtype=torch.float32), torch.tensor(E, dtype=torch.float32), labels, (H, W),
        eta=0.01, hidden=32, max_iter=cap, tol=0.0, backward=backward, backward_max_iter=20,
        backward_tol=0.0,
    )
    with torch.no_grad():
        for p in layer.gradient_net.parameters():
            p.copy_(0.05 * torch.randn_like(p))
    return layer, torch.full((H * W, P), 1.0 / P)


def measure_one(backward: str, cap: int) -> dict[str, float]:
    """One training step in this process: peak RSS growth, saved bytes, seconds."""
    from hubench.memory import PeakMemory

    torch.set_num_threads(1)
    layer, A0 = _layer(backward, cap)
    Y = layer.Y

    def step() -> None:
        A, _ = layer(A0)
        loss = ((A @ layer.M - Y) ** 2).mean()
        loss.backward()

    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        A, _ = layer(A0)
    saved = sum(seen.values())
    del A
    layer.zero_grad(set_to_none=True)
    start = time.perf_counter()
    with PeakMemory(torch.device("cpu"), interval=0.001) as memory:
        step()
    return {"rss_mb": memory.peak_mb, "saved_mb": saved / 2**20, "seconds": time.perf_counter() - start}


def measure_series() -> list[dict[str, object]]:
    """Every (backward, cap) in a fresh process."""
    rows: list[dict[str, object]] = []
    for backward in BACKWARDS:
        for cap in CAPS:
            out = subprocess.run(
                [sys.executable, __file__, "--one", backward, str(cap)],
                check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]
            rows.append({"backward": backward, "cap": cap, **json.loads(out)})
    return rows


def format_series(rows: list[dict[str, object]]) -> str:
    lines = ["backward  cap  peak RSS growth MB  saved for backward MB  seconds"]
    for r in rows:
        lines.append(
            f"{r['backward']:<9} {r['cap']:>3}  {r['rss_mb']:>18.1f}  {r['saved_mb']:>21.2f}  {r['seconds']:>7.2f}"
        )
    for backward in BACKWARDS:
        by_cap = {r["cap"]: r for r in rows if r["backward"] == backward}
        growth = float(by_cap[40]["rss_mb"]) / max(float(by_cap[10]["rss_mb"]), 1e-9) - 1  # type: ignore[arg-type]
        lines.append(f"{backward}: peak RSS growth at cap 40 vs cap 10: {100 * growth:+.0f}%")
    return "\n".join(lines)


def test_memory_series(benchmark: pytest.FixtureRequest) -> None:
    rows = benchmark.pedantic(measure_series, rounds=1, iterations=1)  # type: ignore[attr-defined]
    print("\n" + format_series(rows))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(measure_one(sys.argv[2], int(sys.argv[3]))))
    else:
        print(format_series(measure_series()))
