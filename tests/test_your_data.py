"""Your own images: every supported layout loads to the same scene, partial references
are scored with the metrics they allow, and ``hubench unmix`` writes results it can
read back (docs/guide/your-data.md)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import hubench
from hubench.cli import main
from hubench.datasets.formats import load_scene
from hubench.metrics import evaluate

H, W, L, P = 9, 7, 24, 3


@pytest.fixture(scope="module")
def truth() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    E = rng.uniform(0.05, 1.0, (P, L))
    A = rng.dirichlet(np.full(P, 0.6), H * W)
    return {"Y": A @ E, "A": A, "E": E, "wl": np.linspace(400.0, 2400.0, L)}


def _f_order(X: np.ndarray) -> np.ndarray:
    """Row-major pixel rows (H*W, k) -> MATLAB's column-major pixel order."""
    return X.reshape(H, W, -1).transpose(1, 0, 2).reshape(H * W, -1)


def _write_layouts(folder: Path, t: dict[str, np.ndarray]) -> dict[str, dict]:
    """Every non-image layout, as (file, load options)."""
    Y, A, E = t["Y"], t["A"], t["E"]
    cube = Y.reshape(H, W, L)
    files = {
        "npz-NL": ({"Y": Y, "A": A, "E": E, "H": H, "W": W}, {}),
        "npz-LN-pN-Lp": ({"Y": Y.T, "A": A.T, "E": E.T, "H": H, "W": W}, {}),
        "npz-cube-HWL-HWp": ({"Y": cube, "A": A.reshape(H, W, P), "E": E}, {}),
        "npz-cube-LHW-pHW": ({"Y": np.moveaxis(cube, -1, 0), "A": np.moveaxis(A.reshape(H, W, P), -1, 0),
                              "E": E}, {"y_axes": "LHW"}),
        "mat-LN-F": ({"Y": _f_order(Y).T, "A": _f_order(A).T, "E": E.T, "nRow": H, "nCol": W}, {}),
        "mat-cube": ({"Y": cube, "A": A.reshape(H, W, P), "E": E.T}, {}),
    }
    out = {}
    for name, (arrays, options) in files.items():
        path = folder / (name + (".mat" if name.startswith("mat") else ".npz"))
        if path.suffix == ".mat":
            scipy.io.savemat(path, arrays)  # MATLAB v5
        else:
            np.savez(path, **arrays)
        out[name] = {"path": path, **options}
    return out


def test_every_matrix_and_cube_layout_loads_to_the_same_scene(tmp_path: Path, truth: dict) -> None:
    for name, spec in _write_layouts(tmp_path, truth).items():
        options = {k: v for k, v in spec.items() if k != "path"}
        scene = load_scene(spec["path"], **options)
        assert scene.image_shape == (H, W), name
        np.testing.assert_allclose(scene.Y, truth["Y"], err_msg=name)
        np.testing.assert_allclose(scene.A, truth["A"], atol=1e-12, err_msg=name)
        np.testing.assert_allclose(scene.E, truth["E"], err_msg=name)
        assert scene.reference == "A+E"


def _write_envi(path: Path, cube: np.ndarray, wl: np.ndarray, interleave: str) -> None:
    envi = pytest.importorskip("spectral.io.envi")
    envi.save_image(str(path), cube.astype(np.float64), interleave=interleave, ext=".img", force=True,
                    metadata={"wavelength": [str(v / 1000) for v in wl], "wavelength units": "Micrometers",
                              "band names": [f"b{i}" for i in range(len(wl))]})


def _write_geotiff(path: Path, cube: np.ndarray, wl: np.ndarray | None = None) -> dict:
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    transform = Affine(30.0, 0.0, 500000.0, 0.0, -30.0, 4200000.0)
    with rasterio.open(path, "w", driver="GTiff", height=cube.shape[0], width=cube.shape[1],
                       count=cube.shape[2], dtype="float64", crs="EPSG:32611", transform=transform) as dst:
        dst.write(np.moveaxis(cube, -1, 0))
        if wl is not None:
            for i, v in enumerate(wl, start=1):
                dst.set_band_description(i, repr(float(v)))
    return {"transform": list(transform)[:6]}


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_envi_loads_to_the_same_image_with_wavelengths_and_names(tmp_path: Path, truth: dict, interleave: str) -> None:
    path = tmp_path / f"img-{interleave}.hdr"
    _write_envi(path, truth["Y"].reshape(H, W, L), truth["wl"], interleave)
    from hubench.datasets.image_files import read_envi

    image = read_envi(path)
    assert image.band_names == tuple(f"b{i}" for i in range(L))
    scene = load_scene(path, n_endmembers=P)
    assert scene.reference == "none" and scene.n_endmembers == P and scene.image_shape == (H, W)
    np.testing.assert_allclose(scene.Y, truth["Y"])
    np.testing.assert_allclose(scene.wavelengths, truth["wl"])  # micrometres -> nm


def test_geotiff_loads_to_the_same_image_and_keeps_its_georeference(tmp_path: Path, truth: dict) -> None:
    path = tmp_path / "img.tif"
    geo = _write_geotiff(path, truth["Y"].reshape(H, W, L), truth["wl"])
    scene = load_scene(path, n_endmembers=P)
    np.testing.assert_allclose(scene.Y, truth["Y"])
    np.testing.assert_allclose(scene.wavelengths, truth["wl"])
    assert scene.params["georeference"]["transform"] == geo["transform"]
    assert "32611" in scene.params["georeference"]["crs"] or "UTM zone 11N" in scene.params["georeference"]["crs"]


def test_separate_reference_file_gives_the_same_scene(tmp_path: Path, truth: dict) -> None:
    np.savez(tmp_path / "image.npz", Y=truth["Y"].reshape(H, W, L))
    scipy.io.savemat(tmp_path / "ref.mat", {"abund": truth["A"].reshape(H, W, P), "ends": truth["E"].T})
    scene = load_scene(tmp_path / "image.npz", reference=tmp_path / "ref.mat", a_key="abund", e_key="ends")
    np.testing.assert_allclose(scene.A, truth["A"], atol=1e-12)
    np.testing.assert_allclose(scene.E, truth["E"])
    assert scene.params["reference"].endswith("ref.mat")


def test_partial_references_are_scored_with_the_metrics_they_allow(tmp_path: Path, truth: dict) -> None:
    np.savez(tmp_path / "e.npz", Y=truth["Y"], E=truth["E"], H=H, W=W)
    np.savez(tmp_path / "a.npz", Y=truth["Y"], A=truth["A"], H=H, W=W)
    np.savez(tmp_path / "y.npz", Y=truth["Y"], H=H, W=W)
    e_only = hubench.load_scene(tmp_path / "e.npz", a_key=None, weak=[2])
    a_only = hubench.load_scene(tmp_path / "a.npz", e_key=None)
    bare = hubench.load_scene(tmp_path / "y.npz", n_endmembers=P)
    assert (e_only.reference, a_only.reference, bare.reference) == ("E", "A", "none")
    assert e_only.A is None and a_only.E is None and bare.n_endmembers == P
    # The true answer, columns permuted: every applicable metric finds it exact.
    perm = [2, 0, 1]
    exact = hubench.Estimate(A=truth["A"][:, perm], E=truth["E"][perm])
    m = evaluate(e_only, exact).metrics
    assert m["msad"] < 1e-7 and m["weak_em_recall"] == 1.0 and m["rmse_y"] < 1e-12
    assert np.isnan(m["armse"]) and np.isnan(m["weak_recall"]) and np.isnan(m["rmse_em0"])
    m = evaluate(a_only, exact).metrics
    assert m["armse"] < 1e-12 and m["rmse_y"] < 1e-12 and np.isnan(m["msad"]) and np.isnan(m["sad_em0"])
    m = evaluate(bare, exact).metrics
    assert m["rmse_y"] < 1e-12 and np.isnan(m["armse"]) and np.isnan(m["msad"])
    # A wrong answer is seen by what applies: a swapped spectrum raises msad.
    wrong = hubench.Estimate(A=truth["A"], E=truth["E"][[0, 0, 2]])
    assert evaluate(e_only, wrong).metrics["msad"] > 0.05


def test_a_missing_reference_says_how_to_go_without(tmp_path: Path, truth: dict) -> None:
    np.savez(tmp_path / "y.npz", Y=truth["Y"], H=H, W=W)
    with pytest.raises(hubench.DataError, match=r"n_endmembers=P"):
        load_scene(tmp_path / "y.npz")
    np.savez(tmp_path / "ae.npz", Y=truth["Y"], A=truth["A"], H=H, W=W)
    with pytest.raises(hubench.DataError, match=r"e_key=none"):
        load_scene(tmp_path / "ae.npz")
    with pytest.raises(hubench.DataError, match=r"n_endmembers=4 but the reference has 3"):
        load_scene(tmp_path / "ae.npz", e_key=None, n_endmembers=4)


def test_unmix_api_returns_an_estimate_for_arrays_and_files(tmp_path: Path, truth: dict) -> None:
    np.savez(tmp_path / "y.npz", Y=truth["Y"].reshape(H, W, L))
    from_file = hubench.unmix(tmp_path / "y.npz", method="vca+fcls", n_endmembers=P)
    from_cube = hubench.unmix(truth["Y"].reshape(H, W, L), method="vca+fcls", n_endmembers=P)
    assert isinstance(from_file, hubench.Estimate) and from_file.A.shape == (H * W, P)
    np.testing.assert_array_equal(from_file.A, from_cube.A)
    # A noiseless linear mixture: the fit reconstructs the image within 1% (RMS, relative).
    residual = np.sqrt(np.mean((from_file.A @ from_file.E - truth["Y"]) ** 2))
    assert residual / np.sqrt(np.mean(truth["Y"] ** 2)) < 0.01
    assert from_file.info["method"] == "vca+fcls"
    with pytest.raises(hubench.ParameterError, match="supervised"):
        hubench.unmix(truth["Y"].reshape(H, W, L), method="fcls", n_endmembers=P)


def test_unmix_reports_deep_training_progress(truth: dict) -> None:
    pytest.importorskip("torch")
    seen: list[tuple[int, int]] = []
    est = hubench.unmix(truth["Y"].reshape(H, W, L), method="daeu", n_endmembers=P, profile="ci",
                        progress=lambda epoch, n, loss: seen.append((epoch, n)), epochs=2)
    assert seen == [(1, 2), (2, 2)] and est.A.shape == (H * W, P)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _inputs(folder: Path, truth: dict) -> dict[str, Path]:
    cube = truth["Y"].reshape(H, W, L)
    np.savez(folder / "in-npz.npz", Y=cube)
    scipy.io.savemat(folder / "in-mat.mat", {"Y": _f_order(truth["Y"]).T, "H": H, "W": W})
    paths = {"npz": folder / "in-npz.npz", "mat": folder / "in-mat.mat"}
    try:
        _write_envi(folder / "in-envi.hdr", cube, truth["wl"], "bil")
        paths["envi"] = folder / "in-envi.hdr"
        _write_geotiff(folder / "in-geo.tif", cube)
        paths["geotiff"] = folder / "in-geo.tif"
    except pytest.skip.Exception:
        pass
    return paths


@pytest.mark.parametrize("out_ext", [".npz", ".mat", ".hdr"])
def test_hubench_unmix_end_to_end_reads_its_own_output(tmp_path: Path, truth: dict, out_ext: str) -> None:
    if out_ext == ".hdr":
        pytest.importorskip("spectral")
    reference = hubench.unmix(truth["Y"].reshape(H, W, L), method="vca+fcls", n_endmembers=P)
    for kind, image in _inputs(tmp_path, truth).items():
        out = tmp_path / f"res-{kind}{out_ext}"
        code, stdout, err = _cli(["unmix", str(image), "--method", "vca+fcls", "--n-endmembers", str(P),
                                  "--out", str(out)])
        assert code == 0, err
        assert f"wrote {out}" in stdout
        stem = out.with_suffix("")
        for png in (f"{stem}-abundances.png", f"{stem}-endmembers.png"):
            assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if out_ext == ".npz":
            with np.load(out) as saved:
                cube, E = saved["A"], saved["E"]
                assert json.loads(str(saved["params"]))["random_state"] == 0
                wl = saved["wavelengths"]
        elif out_ext == ".mat":
            saved = scipy.io.loadmat(out)
            assert saved["Ahat"].shape == (P, H * W) and saved["Ehat"].shape == (L, P)  # HySUPP
            np.testing.assert_allclose(saved["Ahat"].T.reshape(H, W, P), saved["A_cube"])
            cube, E, wl = saved["A_cube"], saved["Ehat"].T, saved["wavelengths"].ravel()
        else:
            from hubench.datasets.image_files import read_envi

            cube = read_envi(out).cube
            table = np.loadtxt(f"{stem}-endmembers.csv", delimiter=",", skiprows=1)
            wl, E = table[:, 0], table[:, 1:].T
        # ENVI results are float32; spectral may store an input as float32 too.
        atol = 1e-6 if out_ext == ".hdr" or kind == "envi" else 1e-12
        assert cube.shape == (H, W, P)
        np.testing.assert_allclose(cube.reshape(-1, P), reference.A, atol=atol, err_msg=kind)
        np.testing.assert_allclose(E, reference.E, rtol=1e-5, err_msg=kind)
        expected_wl = truth["wl"] if kind == "envi" else np.arange(L)
        np.testing.assert_allclose(wl, expected_wl, rtol=1e-6, err_msg=kind)


def test_hubench_unmix_to_geotiff_keeps_the_georeference(tmp_path: Path, truth: dict) -> None:
    rasterio = pytest.importorskip("rasterio")
    geo = _write_geotiff(tmp_path / "geo.tif", truth["Y"].reshape(H, W, L))
    out = tmp_path / "res.tif"
    code, _, err = _cli(["unmix", str(tmp_path / "geo.tif"), "--method", "vca+fcls",
                         "--n-endmembers", str(P), "--out", str(out)])
    assert code == 0, err
    with rasterio.open(out) as src:
        assert list(src.transform)[:6] == geo["transform"] and src.crs.to_epsg() == 32611
        cube = np.moveaxis(src.read(), 0, -1)
    assert cube.shape == (H, W, P)
    np.testing.assert_allclose(cube.sum(axis=2), 1.0, atol=1e-5)


def test_hubench_unmix_refuses_to_replace_without_force(tmp_path: Path, truth: dict) -> None:
    np.savez(tmp_path / "y.npz", Y=truth["Y"].reshape(H, W, L))
    args = ["unmix", str(tmp_path / "y.npz"), "--method", "vca", "--n-endmembers", str(P),
            "--out", str(tmp_path / "r.npz")]
    assert _cli(args)[0] == 0
    before = (tmp_path / "r.npz").read_bytes()
    code, _, err = _cli(args)
    assert code == 2 and "--force" in err and (tmp_path / "r.npz").read_bytes() == before
    assert _cli([*args, "--force", "--seed", "1"])[0] == 0


def test_hubench_unmix_flat_image_with_image_shape_and_pixel_order(tmp_path: Path, truth: dict) -> None:
    """A pixels x bands matrix without H/W keys: --image-shape (and --pixel-order for
    MATLAB's column-major pixels) give the same maps as the cube."""
    reference = hubench.unmix(truth["Y"].reshape(H, W, L), method="vca+fcls", n_endmembers=P)
    np.savez(tmp_path / "flat.npz", Y=truth["Y"])  # 63 pixels: not square, no H/W
    scipy.io.savemat(tmp_path / "flat.mat", {"Y": _f_order(truth["Y"])})  # column-major
    base = ["--method", "vca+fcls", "--n-endmembers", str(P)]
    code, _, err = _cli(["unmix", str(tmp_path / "flat.npz"), *base, "--out", str(tmp_path / "x.npz")])
    assert code == 2 and "image_shape" in err and "Traceback" not in err
    for name, extra in (("flat.npz", []), ("flat.mat", ["--pixel-order", "F"])):
        out = tmp_path / f"res-{name}.npz"
        code, stdout, err = _cli(["unmix", str(tmp_path / name), *base, "--image-shape", f"{H}x{W}",
                                  *extra, "--out", str(out)])
        assert code == 0, err
        assert f"{H}x{W} pixels" in stdout
        with np.load(out) as saved:
            np.testing.assert_allclose(saved["A"].reshape(-1, P), reference.A, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("flags, message", [
    (["--image-shape", "9by7"], "--image-shape: expected rows x columns such as 95x95, got '9by7'"),
    (["--image-shape", "0x7"], "--image-shape: rows and columns must be at least 1"),
    (["--image-shape", "9x8"], "image_shape"),  # 72 != 63 pixels
])
def test_hubench_unmix_bad_image_shape_is_one_line_exit_2(tmp_path: Path, truth: dict, flags: list,
                                                         message: str) -> None:
    np.savez(tmp_path / "flat.npz", Y=truth["Y"])
    out = tmp_path / "r.npz"
    code, _, err = _cli(["unmix", str(tmp_path / "flat.npz"), "--method", "vca", "--n-endmembers", str(P),
                         *flags, "--out", str(out)])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.slow
def test_partial_reference_scenes_through_run_leaderboard_and_report(tmp_path: Path, truth: dict) -> None:
    np.savez(tmp_path / "img.npz", Y=truth["Y"].reshape(H, W, L))
    np.savez(tmp_path / "ref.npz", E=truth["E"])
    store = str(tmp_path / "s.sqlite")
    common = ["--methods", "vca+fcls", "--seeds", "1", "--profile", "ci", "--jobs", "1", "--store", store,
              "--save-estimates"]
    code, _, err = _cli(["run", "--scene-file", str(tmp_path / "img.npz"), "--reference",
                         str(tmp_path / "ref.npz"), "--scenarios", "file[a_key=none,weak=0]", *common])
    assert code == 0, err
    code, _, err = _cli(["run", "--scene-file", str(tmp_path / "img.npz"),
                         "--scenarios", f"file[n_endmembers={P}]", *common])
    assert code == 0, err
    code, md, err = _cli(["leaderboard", "--store", store,
                          "--metrics", "armse,msad,weak_em_recall,rmse_y,fit_seconds"])
    assert code == 0, err
    e_section, none_section = (md.split("## file[")[i] for i in (2, 1)) if "n_endmembers=3" in \
        md.split("## file[")[1] else (md.split("## file[")[i] for i in (1, 2))
    assert "Reference: endmember spectra only; `armse` n/a: no reference abundances." in e_section
    assert "Reference: none;" in none_section and "`msad`, `weak_em_recall` n/a" in none_section
    assert "partial reference" in md  # the legend says why
    row = next(line for line in e_section.splitlines() if line.startswith("| vca+fcls"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "n/a" and cells[3] != "n/a" and cells[4] == "**1.00**"  # armse, msad, weak_em_recall
    code, csv, err = _cli(["leaderboard", "--store", store, "--format", "csv"])
    assert code == 0 and "n/a: no reference endmembers" in csv and "n/a: no reference abundances" in csv
    code, _, err = _cli(["report", "--store", store, "--output", str(tmp_path / "rep")])
    assert code == 0, err
    page = (tmp_path / "rep" / "report.md").read_text()
    assert "Reference: endmember spectra only" in page and "Reference: none" in page
