"""File readers (HySUPP and generic .mat/.npz), pixel order, the weak rule, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from scipy.optimize import nnls

from hubench.datasets import make_scene
from hubench.datasets.formats import load_scene, read_arrays, to_row_major
from hubench.datasets.weak_rule import is_normalised, nnls_scales, weak_by_rule
from hubench.errors import DataError, HubenchError, ParameterError

H, W, L, P = 4, 6, 10, 3


def _truth(seed: int = 0) -> dict[str, np.ndarray]:
    """Row-major truth: Y (H*W, L), A (H*W, P), E (P, L); endmember 2 is dim and rare."""
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.2, 1.0, size=(P, L))
    E[2] *= 0.1
    A = rng.dirichlet([3.0, 3.0, 0.3], size=H * W)
    return {"Y": A @ E + 0.001 * rng.standard_normal((H * W, L)), "A": A, "E": E}


def _to_flat_f(X: np.ndarray) -> np.ndarray:
    """Row-major pixel rows -> MATLAB's column-major flat order, by explicit indices."""
    out = np.empty_like(X)
    for r in range(H):
        for c in range(W):
            out[r + c * H] = X[r * W + c]
    return out


@pytest.fixture
def truth() -> dict[str, np.ndarray]:
    return _truth()


def _matlab_file(tmp_path: Path, truth: dict[str, np.ndarray], **extra: object) -> Path:
    path = tmp_path / "scene.mat"
    data = {
        "Y": _to_flat_f(truth["Y"]).T, "A": _to_flat_f(truth["A"]).T, "E": truth["E"].T,
        "nRow": H, "nCol": W,
    }
    data.update(extra)  # type: ignore[arg-type]
    scipy.io.savemat(path, data)
    return path


def _assert_same(scene_arrays: tuple[np.ndarray, ...], truth: dict[str, np.ndarray]) -> None:
    Y, A, E = scene_arrays
    np.testing.assert_allclose(Y, truth["Y"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(A, truth["A"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(E, truth["E"], rtol=0, atol=1e-12)


def test_generic_mat_is_column_major_and_converted(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    names = np.array(["rock", "grass", "shade"], dtype=object)
    path = _matlab_file(tmp_path, truth, names=names, wl=np.arange(L) * 10.0 + 400)
    scene = load_scene(path, names_key="names", wavelengths_key="wl", seed=3)
    _assert_same((scene.Y, scene.A, scene.E), truth)
    assert scene.image_shape == (H, W) and scene.seed == 3 and scene.name == "scene"
    assert scene.endmember_names == ("rock", "grass", "shade")
    assert scene.wavelengths is not None and scene.wavelengths[1] == 410.0
    assert scene.params["pixel_order"] == "F" and len(scene.params["sha256"]) == 64


def test_npz_pixels_by_bands_row_major(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = tmp_path / "scene.npz"
    np.savez(path, cube=truth["Y"].reshape(H, W, L), abund=truth["A"], ends=truth["E"])
    scene = load_scene(path, y_key="cube", a_key="abund", e_key="ends", a_axes="Np", e_axes="pL")
    _assert_same((scene.Y, scene.A, scene.E), truth)
    path2 = tmp_path / "flat.npz"
    np.savez(path2, Y=truth["Y"] * 7.0, A=truth["A"].T, E=truth["E"], scale=7.0)
    scene2 = load_scene(path2, y_axes="NL", image_shape=(H, W), y_divisor="scale")
    _assert_same((scene2.Y, scene2.A, scene2.E), truth)


def test_bands_first_cube(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = tmp_path / "c.npz"
    np.savez(path, Y=np.moveaxis(truth["Y"].reshape(H, W, L), 2, 0), A=truth["A"], E=truth["E"])
    scene = load_scene(path, y_axes="LHW")
    _assert_same((scene.Y, scene.A, scene.E), truth)


def test_hysupp_layout(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = tmp_path / "hy.mat"
    scipy.io.savemat(path, {
        "Y": truth["Y"].T, "E": truth["E"].T, "A": truth["A"].T, "H": H, "W": W,
        "p": P, "L": L, "N": H * W, "labels": ["a ", "b", "c"],
    })
    scene = load_scene(path)
    assert scene.params["layout"] == "hysupp"
    _assert_same((scene.Y, scene.A, scene.E), truth)
    assert scene.endmember_names == ("a", "b", "c")


def test_to_row_major_index_arithmetic() -> None:
    flat_f = np.arange(H * W)[:, None] * 1.0
    out = to_row_major(flat_f, (H, W), "F", Path("x"))
    for r in range(H):
        for c in range(W):
            assert out[r * W + c, 0] == r + c * H
    assert to_row_major(flat_f, (H, W), "C", Path("x")) is flat_f


def test_abundances_rounded_in_file_are_renormalised(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    rounded = dict(truth, A=np.round(truth["A"], 4))
    scene = load_scene(_matlab_file(tmp_path, rounded))
    np.testing.assert_allclose(scene.A.sum(axis=1), 1.0, atol=1e-12)


def test_weak_rule_and_override(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = _matlab_file(tmp_path, truth, names=np.array(["r", "g", "s"], dtype=object))
    scene = load_scene(path, names_key="names")
    assert scene.weak.tolist() == [False, False, True]  # dim and rare by construction
    forced = load_scene(path, names_key="names", weak=["g", 0])
    assert forced.weak.tolist() == [True, True, False]
    with pytest.raises(DataError, match="not among"):
        load_scene(path, names_key="names", weak=["nope"])


def test_nnls_scales_match_the_vectorised_problem() -> None:
    rng = np.random.default_rng(1)
    A = rng.dirichlet([1.0] * 4, size=50)
    E = rng.uniform(0.1, 1.0, size=(4, 12))
    s_true = np.array([0.5, 2.0, 0.0, 0.1])
    Y = A @ (s_true[:, None] * E) + 0.01 * rng.standard_normal((50, 12))
    design = np.stack([np.outer(A[:, k], E[k]).ravel() for k in range(4)], axis=1)
    expected, _ = nnls(design, Y.ravel())
    np.testing.assert_allclose(nnls_scales(Y, A, E), expected, atol=1e-8)


def test_weak_rule_thresholds() -> None:
    A = np.array([[0.5, 0.4, 0.1], [0.5, 0.5, 0.0], [0.45, 0.45, 0.1]] * 4)
    E = np.array([[1.0, 1.0], [0.2, 0.2], [1.0, 0.5]]) * np.array([[1.0, 0.9]])
    Y = A @ E
    result = weak_by_rule(Y, A, E, normalised=False)
    energy = A.mean(0) * np.linalg.norm(E, axis=1)
    np.testing.assert_allclose(result.energy_fraction, energy / energy.max())
    assert result.rare.tolist() == [False, False, True]  # mean 0.067 < 0.15
    assert result.low_energy.tolist() == [False, True, True]  # 0.2 * 0.47 / 0.48 < 0.25
    E_norm = E / E.max(axis=1, keepdims=True)
    assert is_normalised(E_norm) and not is_normalised(E)
    rescaled = weak_by_rule(Y, A, E_norm)  # auto-detected: rescaled back by NNLS
    assert rescaled.scales is not None
    np.testing.assert_allclose(rescaled.energy_fraction, result.energy_fraction, atol=1e-8)


def test_file_scenario(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = _matlab_file(tmp_path, truth)
    scene = make_scene("file", seed=5, path=str(path))
    assert scene.seed == 5 and scene.params["path"] == str(path)
    with pytest.raises(ParameterError, match="--scene-file"):
        make_scene("file", seed=0)
    with pytest.raises(ParameterError, match="snr_db does not apply"):
        make_scene("file", seed=0, path=str(path), snr_db=20)


# --- bad files: each one clear DataError line ------------------------------------------


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert isinstance(exc.value, HubenchError) and "\n" not in message
    return message


def test_truncated_mat(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    good = _matlab_file(tmp_path, truth)
    bad = tmp_path / "cut.mat"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError) as exc:
        load_scene(bad)
    assert "truncated or corrupt" in _one_line(exc)


@pytest.mark.parametrize("content", [b"", b"not a mat file at all" * 20, bytes(range(256)) * 4])
def test_corrupt_mat_and_npz(tmp_path: Path, content: bytes) -> None:
    for suffix in (".mat", ".npz"):
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(content)
        with pytest.raises(DataError) as exc:
            read_arrays(path)
        assert "truncated or corrupt" in _one_line(exc)


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_scene(tmp_path / "absent.mat")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(DataError, match="unsupported file type"):
        load_scene(tmp_path / "x.csv")


def test_missing_key(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = tmp_path / "m.mat"
    scipy.io.savemat(path, {"Y": truth["Y"].T, "Abund": truth["A"].T, "E": truth["E"].T})
    with pytest.raises(DataError) as exc:
        load_scene(path)
    message = _one_line(exc)
    assert "no variable 'A'" in message and "it holds: Abund, E, Y" in message
    with pytest.raises(DataError, match="did you mean 'Abund'"):
        load_scene(path, a_key="Abundd")


def test_mismatched_shapes(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = tmp_path / "short.mat"
    scipy.io.savemat(path, {"Y": truth["Y"].T, "A": truth["A"][:-2].T, "E": truth["E"].T})
    with pytest.raises(DataError) as exc:
        load_scene(path, image_shape=(H, W))
    assert "do not match" in _one_line(exc)
    path = _matlab_file(tmp_path, dict(truth, E=truth["E"][:2]))
    with pytest.raises(DataError, match="shapes disagree"):
        load_scene(path)
    hy = tmp_path / "hy.mat"
    scipy.io.savemat(hy, {"Y": truth["Y"].T, "E": truth["E"].T, "A": truth["A"].T,
                          "H": H, "W": W + 1, "p": P, "L": L})
    with pytest.raises(DataError, match="expected"):
        load_scene(hy)


def test_nan_values(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    Y = truth["Y"].copy()
    Y[3, 4] = np.nan
    with pytest.raises(DataError) as exc:
        load_scene(_matlab_file(tmp_path, dict(truth, Y=Y)))
    assert "'Y' holds 1 NaN/Inf" in _one_line(exc)


def test_more_endmembers_than_bands(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n_bands, p = 4, 6
    A = rng.dirichlet(np.ones(p), size=H * W)
    E = rng.uniform(size=(p, n_bands))
    path = tmp_path / "many.npz"
    np.savez(path, Y=A @ E, A=A, E=E)
    with pytest.raises(DataError) as exc:
        load_scene(path, y_axes="NL", image_shape=(H, W))
    assert "6 endmembers but only 4 bands" in _one_line(exc)
    hy = tmp_path / "hy.mat"
    scipy.io.savemat(hy, {"Y": (A @ E).T, "E": E.T, "A": A.T, "H": H, "W": W, "p": p, "L": n_bands})
    with pytest.raises(DataError, match="p = 6 endmembers but only L = 4 bands"):
        load_scene(hy)


def test_abundances_off_the_simplex(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    with pytest.raises(DataError) as exc:
        load_scene(_matlab_file(tmp_path, dict(truth, A=truth["A"] * 1.2)))
    assert "not on the simplex" in _one_line(exc)


def test_bad_options(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = _matlab_file(tmp_path, truth)
    with pytest.raises(DataError, match="a_axes"):
        load_scene(path, a_axes="NN")
    with pytest.raises(DataError, match="pixel_order"):
        load_scene(path, pixel_order="X")
    with pytest.raises(DataError, match="layout"):
        load_scene(path, layout="envi")
    with pytest.raises(DataError, match="image_shape"):
        load_scene(path, image_shape=(5, 5))


def test_image_size_must_be_positive(tmp_path: Path, truth: dict[str, np.ndarray]) -> None:
    path = _matlab_file(tmp_path, truth, nRow=-H, nCol=-W)  # -4 x -6 still holds 24 pixels
    with pytest.raises(DataError, match=r"'nRow' x 'nCol' gives an image of \(-4, -6\)"):
        load_scene(path)
    good = _matlab_file(tmp_path, truth)
    for shape in ((-H, -W), (0, 24), (4.5, 6), (4, 6, 1)):
        with pytest.raises(DataError, match="image_shape"):
            load_scene(good, image_shape=shape)  # type: ignore[arg-type]
    npz = tmp_path / "hysupp.npz"
    np.savez(npz, Y=truth["Y"].T, E=truth["E"].T, A=truth["A"].T, H=-H, W=-W, p=P, L=L)
    with pytest.raises(DataError, match="both sizes must be positive"):
        load_scene(npz)


def test_size_limit_is_checked_before_loading(
    tmp_path: Path, truth: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hubench.datasets import formats

    npz = tmp_path / "s.npz"
    np.savez_compressed(npz, Y=truth["Y"], A=truth["A"], E=truth["E"], big=np.zeros(1 << 17))
    mat = _matlab_file(tmp_path, truth, big=np.zeros(1 << 17))
    assert formats.max_scene_bytes() == formats.DEFAULT_MAX_SCENE_BYTES == 4 << 30
    read_arrays(npz), read_arrays(mat)  # 1 MiB each: fine

    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was loaded before its size was checked")

    monkeypatch.setattr(np, "load", no_load)
    monkeypatch.setattr(scipy.io, "loadmat", no_load)
    monkeypatch.setenv(formats.MAX_SCENE_BYTES_ENV, "1e6")
    for path in (npz, mat):
        with pytest.raises(DataError, match=r"'big' alone 1 MiB.*HUBENCH_MAX_SCENE_BYTES=\d+"):
            read_arrays(path)
    for bad in ("0", "-5", "nan", "inf", "8GB"):
        monkeypatch.setenv(formats.MAX_SCENE_BYTES_ENV, bad)
        with pytest.raises(ParameterError, match="HUBENCH_MAX_SCENE_BYTES"):
            read_arrays(npz)


@pytest.mark.parametrize("y_layout", ["cube", "matrix"])
@pytest.mark.parametrize("a_layout", ["HWp", "pHW"])
def test_abundance_cube_in_either_axis_order_loads_to_the_same_scene(
        tmp_path: Path, y_layout: str, a_layout: str) -> None:
    """A reference abundance stored as an image cube (the common layout of published
    scenes, e.g. label (H, W, p)) loads to the same row-major scene as the matrix."""
    from hubench.datasets.formats import load_scene

    rng = np.random.default_rng(1)
    H, W, p, L = 6, 5, 3, 12
    E = rng.uniform(0.1, 1.0, (p, L))
    A = rng.dirichlet(np.ones(p), H * W)  # row-major pixels
    A[:p] = np.eye(p)
    Y = A @ E
    cube_A = A.reshape(H, W, p) if a_layout == "HWp" else np.moveaxis(A.reshape(H, W, p), -1, 0)
    arrays = {"A": cube_A, "E": E}
    if y_layout == "cube":
        arrays["Y"] = Y.reshape(H, W, L)
    else:
        arrays["Y"] = Y  # pixels x bands, row-major (.npz): the image size comes from A's cube
    np.savez(tmp_path / "s.npz", **arrays)
    scene = load_scene(tmp_path / "s.npz")
    assert scene.image_shape == (H, W)
    np.testing.assert_allclose(scene.A, A, rtol=1e-14, atol=1e-16)  # rows re-normalised on load
    np.testing.assert_allclose(scene.Y, Y, rtol=1e-15, atol=0)
    np.testing.assert_allclose(scene.E, E, rtol=0, atol=0)


def test_an_ambiguous_abundance_cube_asks_for_its_axes(tmp_path: Path) -> None:
    from hubench.datasets.formats import load_scene
    from hubench.errors import DataError

    rng = np.random.default_rng(2)
    A = rng.dirichlet(np.ones(4), 16)  # 4 x 4 image, 4 endmembers: HWp and pHW both fit
    E = rng.uniform(0.1, 1.0, (4, 10))
    np.savez(tmp_path / "s.npz", Y=A @ E, A=A.reshape(4, 4, 4), E=E)
    with pytest.raises(DataError, match="pass a_axes='HWp' or 'pHW'"):
        load_scene(tmp_path / "s.npz")
    assert load_scene(tmp_path / "s.npz", a_axes="HWp").image_shape == (4, 4)
