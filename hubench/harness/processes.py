"""Process trees of workers: find every process a cell started, measure, kill (Linux).

Each worker runs in its own session and process group (``os.setsid`` at start) and
exports a token (``HUBENCH_WORKER_TOKEN``) that every process it starts inherits. The
tree of a worker is then every process in its process group plus every process whose
environment carries its token: that also finds a child that left the group with
``setsid`` (a daemonised helper, a data-loader pool), even after the worker died and
the child was re-parented. Only ``/proc`` is read; on a system without it the tree is
the worker alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal

from hubench.errors import ParameterError

TOKEN_ENV = "HUBENCH_WORKER_TOKEN"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}
MIN_MEMORY = 64 * 2**20


def parse_memory(text: str) -> int:
    """``"4G"``, ``"512M"``, ``"1.5GiB"``, ``"800000000"`` -> bytes (binary units).

    Raises :class:`ParameterError` for anything else, and for less than 64 MiB (a worker
    alone, with numpy and torch imported, holds several hundred MB).
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise ParameterError(f"--max-memory: cannot read {text!r}; write a size such as 4G, 512M or 1.5GiB")
    value = float(match.group(1)) * _UNITS[unit]
    if value < MIN_MEMORY:
        raise ParameterError(f"--max-memory: {text!r} is below 64M; a worker alone needs several hundred MB")
    return int(value)


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or None
    when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()


def _stat(pid: int) -> tuple[int, int] | None:
    """``(ppid, pgid)`` of ``pid``, or None when it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[1]), int(fields[2]))


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux), or None: with
    the pid it tells a live process from a later one that reused its pid."""
    fields = _stat_fields(pid)
    return None if fields is None else fields[19].decode()


def _has_token(pid: int, token: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return token in fh.read().split(b"\0")
    except OSError:
        return False


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # pragma: no cover - no /proc
        return []


def tree_pids(leader: int, token: str | None, *, with_environ: bool = True) -> set[int]:
    """``leader`` and every live process of its group or (``with_environ``) with its token."""
    found = {leader}
    marker = f"{TOKEN_ENV}={token}".encode() if token else None
    me = os.getpid()
    for pid in _pids():
        if pid in (leader, me):
            continue
        stat = _stat(pid)
        if stat is None:
            continue
        if stat[1] == leader or (with_environ and marker is not None and _has_token(pid, marker)):
            found.add(pid)
    return found


def rss_bytes(pids: set[int]) -> int:
    """Resident memory of ``pids`` together (bytes; processes that are gone count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def kill_tree(leader: int, token: str | None) -> None:
    """SIGKILL ``leader``'s whole tree: its process group and every token holder."""
    pids = tree_pids(leader, token)
    with contextlib.suppress(OSError):
        os.killpg(leader, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
