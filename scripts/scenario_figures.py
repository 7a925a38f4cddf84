"""Figures of the synthetic scenario families for docs/guide/scenarios.md.

For each family (standard, spatial, rare, weak, variability, nonlinear, sensor) this
writes, from the ``quick`` profile (50 x 50 pixels, 99 bands) at one seed:

- ``<family>_abundances.png``: the true abundance map of every endmember (weak and rare
  ones marked) and, for the effect families, a map of the effect (the per-pixel scale,
  the share of the nonlinear term, a striped band);
- ``<family>_spectra.png``: the reference endmember spectra (the truth ``E``; under
  variability with the 5-95% range of the per-pixel spectra) and three pixels as
  observed (``Y``, solid) against the linear mixture of the truth (``A @ E``, dashed).

Usage: ``python scripts/scenario_figures.py [--output docs/figures/scenarios] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from hubench.datasets import SCENARIOS
from hubench.datasets.synthetic import SceneParts, generate_with_parts
from hubench.scene import Scene

FAMILIES = ("standard", "spatial", "rare", "weak", "variability", "nonlinear", "sensor")
DPI = 80
COLORS = 256  # PNGs are written with a palette of this many colours (about 4 times smaller)
PIXELS = (0, 1234, 2321)  # the pixels drawn in the spectra plots


def build(family: str, seed: int) -> tuple[Scene, SceneParts]:
    params = SCENARIOS.get(family).resolve(profile="quick")
    return generate_with_parts(seed, name=family, **params)


def with_gaps(wavelengths: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN where the band grid jumps over a dropped water band, so no line crosses it."""
    step = np.diff(wavelengths)
    gaps = np.flatnonzero(step > 3 * np.median(step)) + 1
    return np.insert(wavelengths, gaps, np.nan), np.insert(values, gaps, np.nan, axis=-1)


def save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(COLORS, method=Image.Quantize.FASTOCTREE)
    palette.save(path, optimize=True)


def short_name(name: str) -> str:
    return name.split()[0].replace("_", " ")


def role(scene: Scene, k: int) -> str:
    if not scene.weak[k]:
        return ""
    return " (rare)" if np.mean(scene.A[:, k] == 0.0) > 0.5 else " (weak)"  # rare: absent from most pixels


def effect_map(family: str, scene: Scene, parts: SceneParts) -> tuple[np.ndarray, str] | None:
    H, W = scene.image_shape
    if family == "variability" and parts.scale is not None:
        return parts.scale.reshape(H, W), "pixel scale psi"
    if family == "nonlinear":
        linear = scene.A @ scene.E
        share = np.linalg.norm(parts.clean - linear, axis=1) / np.linalg.norm(linear, axis=1)
        return share.reshape(H, W), "|nonlinear| / |linear|"
    if family == "sensor" and parts.sensor is not None and parts.sensor.striped.size:
        b = int(parts.sensor.striped[0])
        residual = scene.Y[:, b] - scene.A[:, :] @ scene.E[:, b]
        return residual.reshape(H, W), f"Y - A @ E, striped band {b}"
    return None


def abundance_figure(family: str, scene: Scene, parts: SceneParts, path: Path) -> None:
    H, W = scene.image_shape
    extra = effect_map(family, scene, parts)
    p = scene.n_endmembers
    columns = p + (extra is not None)
    fig, axes = plt.subplots(1, columns, figsize=(1.9 * columns, 2.3), constrained_layout=True)
    names = scene.endmember_names or tuple(f"em {k}" for k in range(p))
    image = None
    for k in range(p):
        image = axes[k].imshow(scene.A[:, k].reshape(H, W), vmin=0.0, vmax=1.0, cmap="viridis",
                               interpolation="nearest")
        axes[k].set_title(short_name(names[k]) + role(scene, k), fontsize=8)
    assert image is not None
    fig.colorbar(image, ax=axes[:p].tolist(), shrink=0.8, label="abundance")
    if extra is not None:
        values, label = extra
        lo, hi = np.percentile(values, [1, 99])  # impulses would swamp the stripes
        shown = axes[p].imshow(values, cmap="magma", interpolation="nearest", vmin=lo, vmax=hi)
        axes[p].set_title(label, fontsize=8)
        fig.colorbar(shown, ax=axes[p], shrink=0.8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{family}: true abundances (quick profile, seed {scene.seed})", fontsize=9)
    save(fig, path)


def spectra_figure(family: str, scene: Scene, parts: SceneParts, path: Path) -> None:
    assert scene.wavelengths is not None
    wl = scene.wavelengths
    names = scene.endmember_names or tuple(f"em {k}" for k in range(scene.n_endmembers))
    colors = [plt.get_cmap("tab10")(k) for k in range(10)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), constrained_layout=True)
    for k in range(scene.n_endmembers):
        x, y = with_gaps(wl, scene.E[k])
        left.plot(x, y, color=colors[k], lw=1.5, ls="--" if scene.weak[k] else "-",
                  label=short_name(names[k]) + role(scene, k))
        if parts.spectra is not None:
            spread = parts.spectra[:, k, :] * (parts.scale[:, None] if parts.scale is not None else 1.0)
            lo, hi = np.percentile(spread, [5, 95], axis=0)
            x, lo = with_gaps(wl, lo)
            _, hi = with_gaps(wl, hi)
            left.fill_between(x, lo, hi, color=colors[k], alpha=0.2, lw=0)
    title = "reference endmembers E (truth)"
    if parts.spectra is not None:
        title += "; band: 5-95% of the pixels' spectra"
    left.set_title(title, fontsize=9)
    left.legend(fontsize=7, ncol=2)
    linear = scene.A @ scene.E
    for i, n in enumerate(PIXELS):
        x, y = with_gaps(wl, scene.Y[n])
        right.plot(x, y, color=colors[i], lw=1.0, label=f"pixel {n}: Y")
        x, y = with_gaps(wl, linear[n])
        right.plot(x, y, color=colors[i], lw=1.2, ls="--", label=f"pixel {n}: A @ E")
    if parts.sensor is not None:
        for bands, color, label in ((parts.sensor.dead, "red", "dead"),
                                    (parts.sensor.saturated, "orange", "saturated")):
            for j, b in enumerate(bands):
                right.axvline(wl[b], color=color, alpha=0.4, lw=3, label=label if j == 0 else None)
    right.set_title(f"observed pixels Y (solid) and A @ E (dashed), {scene.params['snr_db']:g} dB", fontsize=9)
    right.legend(fontsize=6, ncol=2, loc="best", framealpha=0.6)
    for ax in (left, right):
        ax.set_xlabel("wavelength (nm)", fontsize=8)
        ax.set_ylabel("reflectance", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{family}: spectra", fontsize=9)
    save(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("docs/figures/scenarios"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for family in FAMILIES:
        scene, parts = build(family, args.seed)
        abundance_figure(family, scene, parts, args.output / f"{family}_abundances.png")
        spectra_figure(family, scene, parts, args.output / f"{family}_spectra.png")
        sys.stdout.write(f"wrote {family}_abundances.png, {family}_spectra.png\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
