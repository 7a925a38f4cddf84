"""What runs inside a worker process: build the scene, fit the method, score it.

A worker is long-lived: it imports the registries once (importing them loads the
installed plug-ins, hubench/plugins.py) and the modules named in ``$HUBENCH_PLUGINS``,
then serves cells from a pipe until told to stop. Each cell's
outcome comes back as a plain dict (:func:`run_cell`); the driver owns the store.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from typing import Any

from hubench.harness.degenerate import degeneracy
from hubench.harness.grid import Cell, canonical, load_plugins, to_json
from hubench.harness.outcome import Outcome, training_record
from hubench.harness.processes import TOKEN_ENV, kill_tree
from hubench.memory import PeakMemory

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
_SCENE_CACHE: OrderedDict[tuple[str, str, int], Any] = OrderedDict()
_SCENE_CACHE_SIZE = 4


def _scene_for(cell: Cell) -> Any:
    from hubench.datasets import SCENARIOS
    from hubench.errors import DataError

    key = (cell.scenario, to_json(cell.scenario_params), cell.seed)
    if key in _SCENE_CACHE:
        _SCENE_CACHE.move_to_end(key)
        return _SCENE_CACHE[key]
    spec = SCENARIOS.get(cell.scenario)
    if spec.version != cell.scenario_version:
        raise DataError(f"scenario {cell.scenario!r} is version {spec.version} here, the cell asks for "
                        f"{cell.scenario_version}")
    if cell.scene_sha256 is not None and spec.content_sha256(cell.scenario_params) != cell.scene_sha256:
        raise DataError("the scene's file changed after the run started (its sha256 differs); "
                        "run again to key the cell on the new content")
    scene = spec.build(cell.seed, **cell.scenario_params)
    _SCENE_CACHE[key] = scene
    while len(_SCENE_CACHE) > _SCENE_CACHE_SIZE:
        _SCENE_CACHE.popitem(last=False)
    return scene


def _describe(exc: BaseException) -> str:
    """One line: ``Type: message (at file:line)``, capped in length."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return (text[:480] + "...") if len(text) > 480 else text + where


def _is_invalid_estimate(exc: BaseException) -> bool:
    """True when ``exc`` is the validation of a returned estimate (NaN/Inf, bad shape)."""
    from hubench.errors import ValidationError
    from hubench.method import Method
    from hubench.scene import Estimate

    if not isinstance(exc, ValidationError):
        return False
    codes = {Estimate.__post_init__.__code__}
    tb = exc.__traceback__
    last = None
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            return True
        last = tb.tb_frame.f_code
        tb = tb.tb_next
    return last is Method.fit.__code__


#: The metrics a learning-curve checkpoint records (those the scene defines).
CURVE_METRICS = ("armse", "msad", "weak_ap")


def curve_scorer(scene: Any) -> Any:
    """``scorer(estimate) -> {armse, msad, weak_ap}`` against ``scene``'s reference.

    Given to a deep method as its ``scorer``: the method sees only these scores of its
    current estimate at each learning-curve checkpoint, never the reference. Metrics
    the scene leaves undefined (NaN: no weak endmember) are left out.
    """
    import math

    from hubench.metrics import evaluate

    def scorer(estimate: Any) -> dict[str, float]:
        metrics = evaluate(scene, estimate).metrics
        values = {name: float(metrics[name]) for name in CURVE_METRICS if name in metrics}
        return {name: value for name, value in values.items() if math.isfinite(value)}

    return scorer


def _save_estimate(path: str, estimate: Any, alignment: Any) -> None:
    import numpy as np

    arrays: dict[str, Any] = {"A": estimate.A, "alignment": np.asarray(alignment if alignment is not None else [])}
    if estimate.E is not None:
        arrays["E"] = estimate.E
    u = getattr(estimate, "uncertainty", None)
    if u is not None:  # the uncertainty maps of hubench plot / report
        for name in ("lower", "upper", "std", "presence"):
            if getattr(u, name) is not None:
                arrays[f"A_{name}"] = getattr(u, name)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    os.replace(tmp, path)


#: The entries of ``Estimate.info`` kept in the store's ``info`` column.
STORED_INFO = ("ensemble",)


def _fit_ensemble(cell: Cell, observation: Any) -> Any:
    """``cell.ensemble`` fits of the cell's method combined (:mod:`hubench.ensemble`)."""
    from hubench.ensemble import fit_ensemble
    from hubench.methods import METHODS

    cls = METHODS.get(cell.method)

    def make(random_state: int | None) -> Any:
        params = dict(cell.method_params)
        if "random_state" in params:
            params["random_state"] = random_state
        return cls(**params)

    return fit_ensemble(make, observation, cell.ensemble, seed=cell.seed)


def run_cell(cell: Cell, estimates_dir: str | None = None) -> Outcome:
    """Run one cell here and return its outcome (status, reason, metrics, costs...).

    Besides the stored fields, ``scene_seconds`` and ``score_seconds`` (scene generation
    or cache lookup, and scoring) come back for overhead accounting; they are not stored.
    """
    out = Outcome()

    def fail(status: str, reason: str) -> Outcome:
        return out.end(status, reason)

    from hubench.methods import METHODS
    from hubench.scene import Estimate

    tick = time.perf_counter()
    try:
        scene = _scene_for(cell)
        out.scene_seconds = time.perf_counter() - tick
        method = METHODS.get(cell.method)(**cell.method_params)
        type(method).prepare()  # one-time kernel loading, outside the clock
        observation = scene.observation(
            supervised=cell.task == "supervised", priors=cell.task == "priors",
            library=cell.task == "library",
        )
        if hasattr(method, "scorer"):  # a deep method: score its learning curve
            method.scorer = curve_scorer(scene)
    except (Exception, SystemExit) as exc:
        return fail("error", "setup failed: " + _describe(exc))
    try:
        with PeakMemory() as mem:
            start, cpu_start = time.perf_counter(), time.process_time()
            try:
                if cell.ensemble > 1:
                    estimate = _fit_ensemble(cell, observation)
                else:
                    estimate = method.fit(observation)
            finally:
                out.fit_seconds = time.perf_counter() - start
                out.cpu_seconds = time.process_time() - cpu_start
    except MemoryError as exc:
        return fail("error", "out of memory: " + _describe(exc))
    except (Exception, SystemExit) as exc:
        return fail("invalid" if _is_invalid_estimate(exc) else "error", _describe(exc))
    if not isinstance(estimate, Estimate):
        return fail("invalid", f"fit returned {type(estimate).__name__}, not an Estimate")
    info = estimate.info
    out.training = training_record(info)
    # The learning curve's scoring is the benchmark's work, not the method's: fit_seconds
    # leaves it out (it is in training["checkpoint_seconds"]).
    out.fit_seconds -= float(info.get("checkpoint_seconds", 0.0))
    out.peak_mem_mb = float(info["peak_mem_mb"]) if "peak_mem_mb" in info else mem.peak_mb
    out.device = str(info.get("device", "cpu"))
    out.info = {k: info[k] for k in STORED_INFO if k in info}
    tick = time.perf_counter()
    try:
        from hubench.metrics import evaluate

        evaluation = evaluate(scene, estimate)
        out.score_seconds = time.perf_counter() - tick
        out.metrics = {str(k): float(v) for k, v in evaluation.metrics.items()}
        out.alignment = canonical(evaluation.alignment)
    except (Exception, SystemExit) as exc:
        return fail("error", "scoring failed: " + _describe(exc))
    # Over a library most atoms are meant to be empty: not a collapse.
    collapsed = None if cell.task == "library" else degeneracy(estimate.A, estimate.E)
    if collapsed is not None:
        out.status, out.reason = "degenerate", collapsed
    if estimates_dir is not None:
        try:
            _save_estimate(os.path.join(estimates_dir, f"{cell.key}.npz"), estimate, out.alignment)
        except OSError as exc:
            return fail("error", "saving the estimate failed: " + _describe(exc))
    return out.end()


def _exit_with(parent: Any) -> None:
    """When the driver is gone (SIGKILL), end this worker and everything it started."""
    parent.join()
    kill_tree(os.getpid(), os.environ.get(TOKEN_ENV))
    os._exit(0)


def worker_main(conn: Any, threads: int, token: str | None = None) -> None:
    """Entry point of a worker process: set up, say ready, serve cells until ``None``.

    ``token`` marks every process this worker starts (:mod:`hubench.harness.processes`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver handles Ctrl-C and stops us
    with contextlib.suppress(OSError):
        os.setsid()  # own session and process group: the driver can kill the whole tree
    parent = multiprocessing.parent_process()
    if parent is not None:  # the driver was killed (SIGKILL): do not outlive it mid-cell
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    with contextlib.suppress(OSError):
        os.dup2(2, 1)  # method chatter goes to stderr, keeping the driver's stdout clean
    os.environ["HUBENCH_IN_WORKER"] = "1"
    if token:
        os.environ[TOKEN_ENV] = token
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    try:
        import hubench.datasets
        import hubench.methods
        import hubench.metrics  # noqa: F401  (imported now, not inside the first cell's timeout)

        load_plugins()
        if "torch" in sys.modules:
            torch = sys.modules["torch"]
            torch.set_num_threads(threads)
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(1)
    except BaseException as exc:
        conn.send(("fatal", _describe(exc)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the driver is gone
        if task is None:
            return
        cell, estimates_dir = task
        result = run_cell(cell, estimates_dir)
        try:
            conn.send(("done", result))
        except (BrokenPipeError, OSError):
            return
