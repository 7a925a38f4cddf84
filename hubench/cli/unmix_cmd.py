"""``hubench unmix``: one method on one image of yours, no reference needed; writes the
abundances and endmembers (format by the ``--out`` extension) and PNG figures."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from hubench.errors import ParameterError

NAME = "unmix"
HELP = "unmix one image with one method (no reference needed) and write the result"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the image: .mat, .npz, ENVI (.hdr) or GeoTIFF (.tif)")
    parser.add_argument("--method", required=True,
                        help="a blind method, optionally with hyperparameters: 'vca+fcls', 'daeu[epochs=50]'")
    parser.add_argument("--n-endmembers", type=int, required=True, metavar="P",
                        help="the number of endmembers to find (fewer than the bands)")
    parser.add_argument("--out", default=None,
                        help="output file; its extension picks the format: .npz, .mat (HySUPP layout), "
                             ".hdr (ENVI) or .tif (GeoTIFF, georeferenced inputs only) "
                             "(default: IMAGE-STEM.METHOD.npz in the working folder)")
    parser.add_argument("--force", action="store_true", help="replace output files that exist")
    parser.add_argument("--profile", default="quick", choices=("ci", "quick", "full"),
                        help="hyperparameter presets, as in run (default: quick)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="the 'device' hyperparameter of methods that have one (default: auto)")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the method (default: 0)")
    parser.add_argument("--y-key", default="Y", help="variable holding the image in a .mat/.npz (default: Y)")
    parser.add_argument("--image-shape", default=None, metavar="HxW",
                        help="rows x columns of a flat image in a .mat/.npz (a pixels x bands matrix "
                             "without H/W keys), e.g. 95x95 (default: from the file's H/W keys, a "
                             "cube, or a square pixel count)")
    parser.add_argument("--pixel-order", default=None, choices=("F", "C"),
                        help="order of a flat image's pixels: F (column-major, MATLAB's) or C "
                             "(row-major) (default: F for .mat, C for .npz)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the fit's progress: epochs of deep methods, pixel blocks of the "
                             "FCLS step of classic ones (default: only on a terminal)")


def _progress_bar(enabled: bool | None) -> tuple[Any, Any]:
    """A tqdm bar and the progress hook that moves it (epochs of a deep method, pixel
    blocks of the classic methods' FCLS step), or ``(None, None)``."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=0, file=sys.stderr, leave=False)

    def hook(step: int, total: int, value: float) -> None:
        # Deep methods: epochs and the loss; classic ones: FCLS pixels (value NaN).
        bar.total = total
        bar.n = step
        if math.isfinite(value):
            bar.set_description("epochs", refresh=False)
            bar.set_postfix(loss=f"{value:.4g}", refresh=False)
        else:
            bar.set_description("FCLS pixels", refresh=False)
        bar.refresh()

    return hook, bar


def _image_shape(text: str) -> tuple[int, int]:
    """``"95x95"`` -> ``(95, 95)``, or a ParameterError naming the form."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        H, W = (int(part) for part in parts)
    except ValueError:
        raise ParameterError(f"--image-shape: expected rows x columns such as 95x95, got {text!r}") from None
    if H < 1 or W < 1:
        raise ParameterError(f"--image-shape: rows and columns must be at least 1, got {text!r}")
    return H, W


def run(args: argparse.Namespace) -> int:
    from hubench.harness.grid import parse_method_spec
    from hubench.unmixing import load_image, unmix
    from hubench.unmixing.outputs import check_output, write_result

    if args.seed < 0:
        raise ParameterError(f"--seed: must be >= 0, got {args.seed}")
    request = parse_method_spec(args.method)
    image = Path(args.image)
    if not image.is_file():
        raise ParameterError(f"{image}: {'is a folder' if image.is_dir() else 'no such file'}; "
                             "pass the image file (.mat, .npz, ENVI .hdr or GeoTIFF)")
    out = Path(args.out) if args.out else Path(f"{image.stem}.{request.name}.npz")
    options: dict[str, Any] = {}
    if image.suffix.lower() in (".mat", ".npz"):
        options["y_key"] = args.y_key
        if args.image_shape is not None:
            options["image_shape"] = _image_shape(args.image_shape)
        if args.pixel_order is not None:
            options["pixel_order"] = args.pixel_order
    elif args.image_shape is not None or args.pixel_order is not None:
        flag = "--image-shape" if args.image_shape is not None else "--pixel-order"
        raise ParameterError(f"{flag}: only for a flat image in a .mat/.npz; {image.suffix} images "
                             "carry their own shape, leave it out")
    scene = load_image(image, args.n_endmembers, **options)
    georef = scene.params.get("georeference")
    check_output(out, force=args.force, georeferenced=georef is not None)
    hook, bar = _progress_bar(args.progress)
    try:
        estimate = unmix(scene.Y, request.name, args.n_endmembers, image_shape=scene.image_shape,
                         wavelengths=scene.wavelengths, profile=args.profile, device=args.device,
                         seed=args.seed, progress=hook, **request.overrides)
    finally:
        if bar is not None:
            bar.close()
    files = write_result(out, estimate, scene.image_shape, wavelengths=scene.wavelengths,
                         method=args.method, params=estimate.info.get("params", {}), source=str(image),
                         georeference=georef)
    H, W = scene.image_shape
    sys.stdout.write(f"{args.method}: {H}x{W} pixels, {scene.n_bands} bands, {args.n_endmembers} endmembers\n")
    for path in files:
        sys.stdout.write(f"wrote {path}\n")
    return 0
