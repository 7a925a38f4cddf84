"""Provenance of a run: versions, git commit, host. Computed once, in the driver."""

from __future__ import annotations

import functools
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the hubench source tree (``+dirty`` when it has local changes), or None."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():  # an installed copy: do not report an unrelated repo
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head or None


@functools.lru_cache(maxsize=1)
def provenance() -> dict[str, Any]:
    """``hubench_version``, ``git_commit``, ``python_version``, ``numpy_version``,
    ``torch_version`` (None when absent; read from package metadata, so torch is not
    imported) and ``host``."""
    from hubench import __version__

    return {
        "hubench_version": __version__,
        "git_commit": git_commit(),
        "python_version": platform.python_version(),
        "numpy_version": _version("numpy"),
        "torch_version": _version("torch"),
        "host": socket.gethostname(),
    }
