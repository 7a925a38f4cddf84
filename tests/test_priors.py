"""The prior spectra a scene carries for methods of task ``priors`` (docs/dev/priors.md)."""

from __future__ import annotations

import numpy as np
import pytest

from hubench import make_scene
from hubench.datasets.priors import material, read_priors_file
from hubench.errors import DataError, ParameterError, ValidationError
from hubench.scene import NamedSpectra, Observation


def _angles(P: np.ndarray, E: np.ndarray) -> np.ndarray:
    cos = np.sum(P * E, axis=1) / np.linalg.norm(P, axis=1) / np.linalg.norm(E, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_synthetic_priors_are_the_weak_spectra_never_exact_by_default():
    scene = make_scene("weak", seed=0, profile="ci")
    P = scene.priors
    assert P is not None and len(P) == int(scene.weak.sum()) == 1
    assert P.names == tuple(np.array(scene.endmember_names)[scene.weak])
    angle = _angles(P.spectra, scene.E[scene.weak])
    assert np.all(angle > 0.5)  # a 5% smooth perturbation moves the shape
    rel = np.sqrt(np.mean((P.spectra / scene.E[scene.weak] - 1) ** 2))
    assert 0.01 < rel < 0.15
    exact = make_scene("weak", seed=0, profile="ci", prior_mismatch="exact").priors
    assert np.array_equal(exact.spectra, scene.E[scene.weak])


def test_prior_knobs_leave_the_scene_unchanged():
    a = make_scene("rare", seed=3, profile="ci")
    b = make_scene("rare", seed=3, profile="ci", prior_mismatch="sample", prior_error=0.2)
    assert np.array_equal(a.Y, b.Y) and np.array_equal(a.A, b.A) and np.array_equal(a.E, b.E)


def test_sample_mismatch_uses_another_sample_of_the_mineral():
    scene = make_scene("rare", seed=1, profile="ci", prior_mismatch="sample")
    (source,) = scene.priors.source.split("; ")
    name, _, other = source.partition(": sample ")
    assert other and other != name and material(other) == material(name)
    # scaled to the scene's brightness: same mean as the true spectrum
    assert np.isclose(scene.priors.spectra.mean(), scene.E[scene.weak].mean())


def test_scene_without_weak_endmembers_has_empty_priors():
    scene = make_scene("standard", seed=0, profile="ci")
    assert scene.priors is not None and len(scene.priors) == 0
    assert scene.observation().priors is None
    assert scene.observation(priors=True).priors is scene.priors


def test_bad_prior_knob_refused():
    with pytest.raises(ParameterError, match=r"prior_mismatch: unknown kind 'exakt' \(did you mean 'exact'\?\)"):
        make_scene("weak", seed=0, profile="ci", prior_mismatch="exakt")


def test_priors_must_match_the_bands():
    scene = make_scene("weak", seed=0, profile="ci")
    with pytest.raises(ValidationError, match="priors: spectra have 3 bands, Y has 60"):
        Observation(Y=scene.Y, image_shape=scene.image_shape, n_endmembers=5,
                    priors=NamedSpectra(np.ones((1, 3)), ("x",)))


def test_priors_file_csv(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("water,0.1,0.2,0.3\nroad,0.3,0.2,0.1\n")
    P = read_priors_file(path, 3)
    assert P.names == ("water", "road") and P.spectra.shape == (2, 3)
    with pytest.raises(DataError, match="the scene has 4 bands"):
        read_priors_file(path, 4)


def test_real_scene_priors_option():
    try:
        scene = make_scene("samson", seed=0)
    except DataError:
        pytest.skip("Samson not available")
    assert scene.priors.names == ("water",)  # the weak rule's choice by default
    tree = make_scene("samson", seed=0, priors=["tree"]).priors
    assert tree.names == ("tree",) and np.array_equal(tree.spectra[0], scene.E[1])
    with pytest.raises(ParameterError, match="priors: 'rock' is not an endmember of 'samson'"):
        make_scene("samson", seed=0, priors=["rock"])
