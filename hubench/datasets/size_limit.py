"""The most a scene file's arrays may take once read, judged before reading them.

``$HUBENCH_MAX_SCENE_BYTES`` (bytes, e.g. ``8e9``) sets it; the default is 4 GiB.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from hubench.errors import DataError, ParameterError

MAX_SCENE_BYTES_ENV = "HUBENCH_MAX_SCENE_BYTES"
DEFAULT_MAX_SCENE_BYTES = 4 << 30  # 4 GiB: ~100x Jasper Ridge as float64


def max_scene_bytes() -> int:
    """The most a scene file's arrays may take once read: ``$HUBENCH_MAX_SCENE_BYTES``
    (bytes, e.g. ``8e9``), else :data:`DEFAULT_MAX_SCENE_BYTES` (4 GiB)."""
    text = os.environ.get(MAX_SCENE_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_SCENE_BYTES
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise ParameterError(
            f"${MAX_SCENE_BYTES_ENV}={text!r}: must be a positive number of bytes, e.g. 8e9; fix or unset it"
        )
    return int(value)


def _gib(n: int) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**27 else f"{n / 2**20:.3g} MiB"


def check_declared_size(path: Path, sizes: Sequence[tuple[str, int]]) -> None:
    """Refuse a file whose arrays (``(name, bytes once read)``) exceed :func:`max_scene_bytes`."""
    limit = max_scene_bytes()
    total = sum(n for _, n in sizes)
    if total <= limit:
        return
    name, largest = max(sizes, key=lambda item: item[1])
    raise DataError(
        f"{path}: its arrays would take {_gib(total)} once read ({name!r} alone {_gib(largest)}), "
        f"more than the limit of {_gib(limit)}; refused before decompressing anything. If the file "
        f"is genuine and this machine has the memory, raise the limit: {MAX_SCENE_BYTES_ENV}={total + 1}"
    )


