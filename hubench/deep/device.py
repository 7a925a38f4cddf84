"""Where and how a deep method runs: device choice, seeding, determinism, peak memory.

Everything here is shared by every deep method through :class:`hubench.deep.DeepMethod`;
a method module never calls it directly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import torch

from hubench.errors import ParameterError, UnavailableError
from hubench.params import Choice

DEVICES = ("auto", "cpu", "cuda")
# The ``device`` hyperparameter of every deep method: a name, or ``cuda:N`` for GPU N.
DEVICE_RULE = Choice(*DEVICES, pattern=r"cuda:\d+", describe="one of auto, cpu, cuda, cuda:N")


def resolve_device(device: str) -> torch.device:
    """Turn the ``device`` hyperparameter into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``"auto"`` picks CUDA when a GPU is visible, else the CPU. ``"cuda"`` insists
        on a GPU (``"cuda:1"`` picks one of several).

    Raises
    ------
    ParameterError
        ``device`` is none of the accepted names (:data:`DEVICE_RULE`).
    UnavailableError
        ``device="cuda"`` on a machine without a usable CUDA GPU.
    """
    DEVICE_RULE.check("device", device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = "a CPU-only torch build" if torch.version.cuda is None else "no visible GPU"
        raise UnavailableError(
            f"device={device!r} asks for a CUDA GPU but this machine has {build}; "
            "use device='cpu' (or --device cpu / auto)"
        )
    return torch.device(device)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device, deterministic: bool = True) -> Iterator[None]:
    """Run the body with every random source seeded and deterministic kernels chosen.

    Torch's global random state (which dropout and initialisers draw from) is forked and
    restored afterwards, as are the determinism flags, so a fit leaves no trace on the
    caller's session.

    Parameters
    ----------
    seed : int
        Seeds ``torch.manual_seed`` (CPU and every GPU). Numpy draws in a method go
        through ``numpy.random.default_rng(seed)``; the legacy global numpy state is
        left alone.
    device : torch.device
        The device whose random state is forked.
    deterministic : bool
        Ask torch for deterministic algorithms (``warn_only``: an op without a
        deterministic kernel still runs) and disable cuDNN autotuning.
    """
    devices = [device] if device.type == "cuda" else []
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    if deterministic and device.type == "cuda":
        # cuBLAS needs a fixed workspace for reproducible matmuls; read at handle creation.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        try:
            if deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            yield
        finally:
            torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
            torch.backends.cudnn.deterministic = previous[2]
            torch.backends.cudnn.benchmark = previous[3]


def resolve_seed(random_state: int | None) -> int:
    """An integer seed: ``random_state`` itself, or fresh entropy when it is ``None``."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise ParameterError(f"random_state: expected an int or None, got {random_state!r}")
    return int(random_state) % (2**63 - 1)


