"""Figures drawn from a tiny stored run: files exist, decode, are not blank; the data
behind them (alignment, regenerated scene, PR curve) checked against independent sums."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

import hubench
from hubench.errors import HubenchError, StoreError, UnknownNameError
from hubench.harness import ResultStore, expand_grid, parse_methods, provenance
from hubench.harness.worker import run_cell
from hubench.metrics.weak import average_precision
from hubench.report.fig_curves import precision_recall_curve
from hubench.report.fig_style import method_style, parse_formats
from hubench.report.figures import plot_store


def build_store(path: Path, *, save_estimates: bool = True) -> Path:
    """Run vca+fcls and fcls on 'weak' (ci size) at 20 and 30 dB, seeds 0 and 1, in-process,
    into a store at ``path`` (what `hubench run ... --save-estimates` writes)."""
    grid = expand_grid(parse_methods("vca+fcls,fcls"), ["weak"], [20.0, 30.0], [0, 1], profile="ci")
    with ResultStore(path) as store:
        store.estimates_dir.mkdir(parents=True, exist_ok=True)
        where = str(store.estimates_dir) if save_estimates else None
        prov = provenance()
        for cell in grid.cells:
            store.put(cell, run_cell(cell, where), prov)
    return path


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("fig") / "r.sqlite")


def assert_real_image(path: Path, min_size: int = 200) -> None:
    assert path.is_file() and path.stat().st_size > 5000
    image = mpimg.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) >= min_size
    rgb = image[..., :3].reshape(-1, 3)
    assert np.ptp(rgb, axis=0).max() > 0.5  # not a single colour
    assert len(np.unique(rgb.round(2), axis=0)) > 20  # more than a few flat colours


@pytest.mark.slow
def test_every_figure_png_and_svg(store_path: Path, tmp_path: Path) -> None:
    result = plot_store(store_path, tmp_path / "figs", formats=("png", "svg"))
    assert result.notes == []
    kinds = result.files["weak"]
    assert set(kinds) == {"abundances", "spectra", "metrics-vs-snr", "weak-pr", "cost"}
    for paths in kinds.values():
        png, svg = paths
        assert png.suffix == ".png" and svg.suffix == ".svg"
        assert_real_image(png)
        text = svg.read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text and len(text) > 10000
    # defaults: lowest SNR, smallest seed
    assert kinds["abundances"][0].name == "weak_abundances_20dB_seed0.png"


def test_abundance_grid_shape_follows_methods_and_endmembers(
    store_path: Path, tmp_path: Path
) -> None:
    one = plot_store(
        store_path, tmp_path / "one", methods="fcls", snr=30, seed=1, kinds=["abundances"]
    )
    both = plot_store(store_path, tmp_path / "two", snr=30, seed=1, kinds=["abundances"])
    assert set(one.files["weak"]) == {"abundances"}
    img_one = mpimg.imread(one.files["weak"]["abundances"][0])
    img_two = mpimg.imread(both.files["weak"]["abundances"][0])
    assert one.files["weak"]["abundances"][0].name == "weak_abundances_30dB_seed1.png"
    # truth + 1 method rows vs truth + 2 method rows: the second is clearly taller
    assert img_two.shape[0] > img_one.shape[0] * 1.25
    assert img_two.shape[1] == pytest.approx(img_one.shape[1], rel=0.1)


def test_loaded_estimates_follow_stored_alignment(store_path: Path) -> None:
    from hubench.report.fig_data import has_estimate, load_scene_results
    from hubench.report.frame import labelled

    with ResultStore(store_path) as store:
        frame = labelled(store.to_frame())
        rows = frame[has_estimate(frame, store.estimates_dir)]
        loaded = load_scene_results(store, rows, 20.0, 0)
        row = rows[
            (rows["method"] == "vca+fcls") & (rows["snr_db"] == 20.0) & (rows["seed"] == 0)
        ].iloc[0]
        raw = store.load_estimate(row["key"])
    scene = hubench.make_scene("weak", seed=0, **json.loads(row["scenario_params"]))
    np.testing.assert_array_equal(loaded.scene.A, scene.A)
    labels = dict(zip(rows["method"], rows["method_label"], strict=False))
    vca = next(r for r in loaded.results if r.label == labels["vca+fcls"])
    alignment = json.loads(row["alignment"])
    for k, j in enumerate(alignment):  # column k of the drawn estimate is raw column alignment[k]
        np.testing.assert_array_equal(vca.A_hat[:, k], raw["A"][:, j])
        np.testing.assert_array_equal(vca.E_hat[k], raw["E"][j])  # type: ignore[index]
    fcls = next(r for r in loaded.results if r.label == labels["fcls"])
    assert fcls.E_hat is None  # supervised: given the true spectra
    assert np.sqrt(np.mean((scene.A - vca.A_hat) ** 2)) == pytest.approx(row["armse"], rel=1e-12)


def test_precision_recall_curve_matches_brute_force_and_ap() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 6, size=200) / 5.0  # many ties
    labels = rng.random(200) < 0.3
    precision, recall, thresholds = precision_recall_curve(scores, labels)
    for p, r, t in zip(precision, recall, thresholds, strict=True):
        detected = scores >= t
        assert p == pytest.approx(np.sum(detected & labels) / np.sum(detected))
        assert r == pytest.approx(np.sum(detected & labels) / np.sum(labels))
    assert np.all(np.diff(thresholds) < 0) and recall[-1] == 1.0
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    assert ap == pytest.approx(average_precision(scores, labels), rel=1e-12)


def test_method_styles_are_distinct_and_stable() -> None:
    labels = [f"m{i}" for i in range(10)]
    styles = method_style(labels)
    looks = {(s["color"], s["linestyle"]) for s in styles.values()}
    assert len(looks) == 10
    assert method_style(list(reversed(labels))) == styles


def test_bad_input_errors(store_path: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'fcls'"):
        plot_store(store_path, tmp_path, methods="fclss")
    with pytest.raises(UnknownNameError, match="did you mean 'weak'"):
        plot_store(store_path, tmp_path, scene="weakk")
    with pytest.raises(HubenchError, match="available: 20 dB, 30 dB"):
        plot_store(store_path, tmp_path, snr=10)
    with pytest.raises(HubenchError, match="available seeds: 0, 1"):
        plot_store(store_path, tmp_path, seed=7)
    with pytest.raises(HubenchError, match="png, svg"):
        parse_formats("png,jpeg")
    with pytest.raises(StoreError, match="no results store"):
        plot_store(tmp_path / "missing.sqlite", tmp_path)
    empty = tmp_path / "empty.sqlite"
    ResultStore(empty).close()
    with pytest.raises(StoreError, match="holds no results"):
        plot_store(empty, tmp_path)
    assert not list(tmp_path.glob("*.png"))
