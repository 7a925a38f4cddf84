"""Peak memory of a block of code: the one measurement the harness and the deep methods share.

``peak_mem_mb`` in the results store comes from here: the worker measures every fit on
the CPU, and a deep method on a GPU reports the CUDA allocator's peak instead.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from typing import Any


def current_rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc``), else the peak so far."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


class PeakMemory:
    """Measure the peak memory a block uses, in MiB (``peak_mb`` after the block).

    On a CUDA device (``device`` a ``torch.device`` or string of type ``cuda``):
    ``torch.cuda.max_memory_allocated`` after resetting the peak counter. Otherwise the
    growth of this process's resident set size over its value at entry, sampled by a
    background thread every ``interval`` seconds (plus once at exit). Workers are
    reused, so ``ru_maxrss`` (a lifetime maximum) cannot give a per-block peak; the
    sampled RSS can. Sampling can miss a spike shorter than ``interval``: the result is
    a lower bound.

    Examples
    --------
    >>> with PeakMemory() as mem:
    ...     block = bytearray(50 * 2**20)
    >>> mem.peak_mb >= 0
    True
    """

    def __init__(self, device: Any = None, interval: float = 0.005) -> None:
        self.cuda = device is not None and getattr(device, "type", str(device).split(":")[0]) == "cuda"
        self.device = device
        self.interval = interval
        self.peak_mb = 0.0
        self._baseline = 0
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, current_rss_bytes())

    def __enter__(self) -> PeakMemory:
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
            self._baseline = torch.cuda.memory_allocated(self.device)
        else:
            self._baseline = self._peak = current_rss_bytes()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cuda:
            import torch

            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            peak = max(self._peak, current_rss_bytes())
        self.peak_mb = max(0.0, (peak - self._baseline) / 2**20)
