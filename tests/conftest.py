"""Test-session settings shared by every test module.

Torch and BLAS run single-threaded in the test process: the test problems are tiny, CI
has 2 cores, and oversubscribed threads made the deep-method tests an order of
magnitude slower there. (Workers started by the harness set their own thread count.)
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def pytest_configure(config: object) -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return
    torch.set_num_threads(1)
