"""The harness: grid expansion, isolated execution, the results store, runs.

Public API::

    from hubench.harness import run_grid, ResultStore
    summary = run_grid("vca,fcls[tol=1e-9]", ["standard"], snrs=[10, 20], seeds=3,
                       profile="ci", store="out/results.sqlite", jobs=2)
    frame = ResultStore("out/results.sqlite").to_frame()   # one row per cell

See docs/dev/harness.md.
"""

from __future__ import annotations

from hubench.harness.executor import WorkerPool, threads_per_worker
from hubench.harness.grid import (
    DEFAULT_SCENARIOS,
    DEFAULT_SEEDS,
    PLUGINS_ENV,
    Cell,
    Grid,
    MethodRequest,
    cell_key,
    expand_grid,
    load_plugins,
    parse_method_spec,
    parse_methods,
    parse_seeds,
    parse_snrs,
    parse_value,
)
from hubench.harness.provenance import provenance
from hubench.harness.runner import DEFAULT_TIMEOUT, RunSummary, run_grid
from hubench.harness.store import (
    DEFAULT_STORE,
    FRAME_COLUMNS,
    SCHEMA_VERSION,
    STATUSES,
    ResultStore,
    check_store_path,
)

__all__ = [
    "DEFAULT_SCENARIOS",
    "DEFAULT_SEEDS",
    "DEFAULT_STORE",
    "DEFAULT_TIMEOUT",
    "FRAME_COLUMNS",
    "PLUGINS_ENV",
    "SCHEMA_VERSION",
    "STATUSES",
    "Cell",
    "Grid",
    "MethodRequest",
    "ResultStore",
    "RunSummary",
    "WorkerPool",
    "cell_key",
    "check_store_path",
    "expand_grid",
    "load_plugins",
    "parse_method_spec",
    "parse_methods",
    "parse_seeds",
    "parse_snrs",
    "parse_value",
    "provenance",
    "run_grid",
    "threads_per_worker",
]
