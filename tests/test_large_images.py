"""Large images (issue 18): the per-pixel solvers work in pixel blocks.

- blocked FCLS gives bit-identical abundances to the unblocked solver for p <= 10 (one
  operator table serves every block) and agrees to 1e-12 for p > 10, with the same
  iteration, unconverged and stalled counts;
- its peak memory (``tracemalloc``: every numpy allocation, exact and repeatable) on a
  moderately sized image stays within its output and input abundance-sized arrays plus
  a block-sized working set, far below the image, while the unblocked solver's working
  set grows with the pixels;
- VCA's endmembers do not change with the image-sized temporaries it no longer makes,
  and its peak memory stays within a small multiple of the image;
- the scene loader keeps at most two image-sized arrays alive.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hubench.solvers.simplex_ls import fcls
from hubench.solvers.vca import vca


def _image(n: int, p: int, bands: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.05, 1.0, (p, bands))
    A = rng.dirichlet(np.full(p, 0.3), n)
    return E, A @ E + 0.02 * rng.standard_normal((n, bands))


def _peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("p", "exact"), [(4, True), (10, True), (12, False)])
def test_blocked_fcls_matches_the_unblocked_solver(p: int, exact: bool) -> None:
    E, Y = _image(30_000, p, 40, seed=p)
    whole = fcls(E, Y, block=None)
    blocked = fcls(E, Y, block=1000)
    assert whole.n_unconverged == blocked.n_unconverged == 0
    assert (whole.iterations, whole.n_stalled) == (blocked.iterations, blocked.n_stalled)
    if exact:
        assert np.array_equal(whole.A, blocked.A)
    else:
        assert np.abs(whole.A - blocked.A).max() <= 1e-12


def test_blocked_fcls_peak_memory_is_bounded_by_the_block() -> None:
    n, p, bands, block = 120_000, 5, 100, 4096
    E, Y = _image(n, p, bands)
    abundances = n * p * 8  # one (n_pixels, p) float64 array
    blocked, peak = _peak(lambda: fcls(E, Y, block=block))
    whole, peak_whole = _peak(lambda: fcls(E, Y, block=None))
    assert np.array_equal(blocked.A, whole.A)
    # B = Y E^T, the result A and the start's temporary, plus a block's working set
    assert peak <= 3 * abundances + 40 * block * (p + 1) * 8, (peak, abundances)
    assert peak <= 0.2 * Y.nbytes
    assert peak_whole > peak + abundances  # the unblocked working set grows with the pixels


def test_vca_peak_memory_is_a_small_multiple_of_the_image() -> None:
    _, Y = _image(60_000, 5, 100)
    for snr in (None, 5.0):  # the high- and the low-SNR branch
        result, peak = _peak(lambda snr=snr: vca(Y, 5, snr_input=snr, random_state=0))
        assert peak <= 0.5 * Y.nbytes, (snr, peak / Y.nbytes)
        assert result.E.shape == (5, 100)


def test_the_scene_loader_keeps_at_most_two_images(tmp_path: Path) -> None:
    import scipy.io

    from hubench.datasets.formats import load_scene

    E, Y = _image(40_000, 4, 100)
    A = np.full((Y.shape[0], 4), 0.25)
    np.savez(tmp_path / "big.npz", Y=Y, A=A, E=E, H=200, W=200)  # pixels row-major: no reorder
    column_major = Y.reshape(200, 200, -1).transpose(1, 0, 2).reshape(Y.shape)  # pixel r + c * H
    scipy.io.savemat(tmp_path / "big.mat", {"Y": column_major.T, "A": A.T, "E": E.T, "H": 200, "W": 200})
    for name, bound in (("big.npz", 1.3), ("big.mat", 2.3)):  # .mat: column-major, reordered once
        scene, peak = _peak(lambda name=name: load_scene(tmp_path / name))
        assert np.array_equal(scene.Y, Y)
        assert peak <= bound * Y.nbytes, (name, peak / Y.nbytes)


def test_fcls_reports_progress_per_block_and_changes_nothing() -> None:
    E, Y = _image(5000, 4, 40)
    calls: list[tuple[int, int]] = []
    followed = fcls(E, Y, block=500, progress=lambda done, total: calls.append((done, total)))
    plain = fcls(E, Y, block=500)
    assert np.array_equal(followed.A, plain.A)
    total = calls[-1][1]
    assert {t for _, t in calls} == {total} and total > 500  # pixels outside the simplex
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and calls[-1][0] == total
    assert len(calls) == -(-total // 500)


def test_unmix_progress_follows_a_classic_fit() -> None:
    import math

    import hubench

    scene = hubench.make_scene("standard", seed=0, snr_db=10, profile="ci")
    events: list[tuple[int, int, float]] = []
    args = {"method": "vca+fcls", "n_endmembers": scene.n_endmembers, "image_shape": scene.image_shape}
    followed = hubench.unmix(scene.Y, progress=lambda s, t, v: events.append((s, t, v)), **args)
    plain = hubench.unmix(scene.Y, **args)
    assert np.array_equal(followed.A, plain.A)
    assert events and events[-1][0] == events[-1][1] and all(math.isnan(v) for *_, v in events)
