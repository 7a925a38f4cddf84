"""One method on one image: the image as an :class:`~hubench.scene.Observation`, the
method's hyperparameters resolved as ``hubench run`` resolves them, and the fit."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hubench.errors import HubenchError, ParameterError, ValidationError
from hubench.scene import Estimate, Observation, Scene


def load_image(
    path: str | os.PathLike[str], n_endmembers: int, **options: Any
) -> Scene:
    """The image of ``path`` (any file :func:`hubench.load_scene` reads) as a scene with
    no reference: references in the file are ignored. ``options`` as ``load_scene``'s
    (``y_key``, ``y_axes``, ``image_shape``, ``pixel_order``, ``y_divisor``,
    ``wavelengths_key``)."""
    from hubench.datasets.formats import load_scene

    for key in ("a_key", "e_key", "reference", "n_endmembers", "weak"):
        if key in options:
            raise ParameterError(f"{key}: unmixing ignores references; leave {key} out")
    return load_scene(path, a_key=None, e_key=None, n_endmembers=n_endmembers, **options)


def _observation(Y: Any, n_endmembers: int, image_shape: Any, wavelengths: Any) -> Observation:
    arr = np.asarray(Y)
    if arr.ndim == 3:  # a cube (H, W, L)
        if image_shape is not None and tuple(image_shape) != arr.shape[:2]:
            raise ValidationError(f"image_shape: {tuple(image_shape)} disagrees with the cube {arr.shape}")
        image_shape = arr.shape[:2]
        arr = arr.reshape(-1, arr.shape[2])
    elif arr.ndim == 2 and image_shape is None:
        raise ValidationError(f"Y: a matrix {arr.shape} (pixels, bands) needs image_shape=(H, W)")
    return Observation(Y=arr, image_shape=image_shape, n_endmembers=n_endmembers,
                       wavelengths=wavelengths)


def method_instance(
    method: str, params: Mapping[str, Any] | None = None, *, profile: str = "quick",
    device: str = "auto", seed: int = 0,
) -> Any:
    """The method ``method`` with hyperparameters as ``hubench run`` resolves them: class
    defaults < the ``profile`` preset < ``random_state = seed`` < ``device`` (when not
    ``auto``) < ``params``; checked by the method's rules."""
    from hubench.methods import METHODS, PROFILES

    if profile not in PROFILES:
        raise ParameterError(f"profile: unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    if device not in ("auto", "cpu", "cuda"):
        raise ParameterError(f"device: expected auto, cpu or cuda, got {device!r}")
    cls = METHODS.get(method)
    names = cls.param_names()
    merged: dict[str, Any] = cls.preset(profile)
    if "random_state" in names:
        merged["random_state"] = seed
    if device != "auto" and "device" in names:
        merged["device"] = device
    merged.update(params or {})
    cls.validate_params(merged)
    try:
        return cls(**merged)
    except TypeError as exc:
        raise ParameterError(f"method {method!r}: {exc}") from None


def unmix(
    Y_or_path: Any,
    method: str,
    n_endmembers: int,
    *,
    image_shape: tuple[int, int] | None = None,
    wavelengths: Any = None,
    profile: str = "quick",
    device: str = "auto",
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
    scene_options: Mapping[str, Any] | None = None,
    **params: Any,
) -> Estimate:
    """Run one method on one image without a reference.

    Parameters
    ----------
    Y_or_path : array or path-like
        A cube ``(H, W, L)``, a matrix ``(H*W, L)`` with ``image_shape``, or a file
        (``.mat``, ``.npz``, ENVI ``.hdr``, GeoTIFF; ``scene_options`` as
        :func:`hubench.load_scene`'s, e.g. ``{"y_key": "data"}``).
    method : str
        A registered method name (``hubench list methods``); a supervised method cannot
        run without reference endmembers.
    n_endmembers : int
        The number of endmembers ``p`` (fewer than the bands).
    profile, device, seed
        As ``hubench run``: the preset, the device of methods that have one, and
        ``random_state``.
    progress : callable, optional
        ``progress(epoch, n_epochs, loss)`` after each epoch of a deep method.
    **params
        The method's hyperparameters (override the preset).

    Returns
    -------
    Estimate
        ``A`` (H*W, p), ``E`` (p, L) for blind methods; ``info`` also holds ``method``,
        ``params`` and ``image_shape``.
    """
    if isinstance(Y_or_path, (str, os.PathLike)):
        scene = load_image(Path(Y_or_path), n_endmembers, **dict(scene_options or {}))
        observation = scene.observation()
    else:
        observation = _observation(Y_or_path, n_endmembers, image_shape, wavelengths)
    instance = method_instance(method, params, profile=profile, device=device, seed=seed)
    if getattr(instance, "task", "blind") == "supervised":
        raise ParameterError(f"method {method!r} is supervised (it needs reference endmembers); "
                             "choose a blind method (hubench list methods)")
    if progress is not None and hasattr(instance, "progress"):
        instance.progress = progress
    try:
        estimate = instance.fit(observation)
    except HubenchError:
        raise
    info = dict(estimate.info)
    info.update(method=method, params=instance.get_params() if hasattr(instance, "get_params") else {},
                image_shape=observation.image_shape)
    return Estimate(A=estimate.A, E=estimate.E, Y_hat=estimate.Y_hat, info=info)
