"""hubench's import graph: layers only point down, and no module imports itself back.

Every module under ``hubench/`` is parsed with :mod:`ast` (nothing is imported). An
import anywhere in a module counts: at the top, inside a function or method, under
``if TYPE_CHECKING:`` or in a ``try``. Each module gets the layer of its top-level
part (``hubench.methods.wsnet.model`` -> ``methods``), lowest first::

    0  errors
    1  params, registry, scene, solvers,    (rule types, the generic registry, the
       memory, plugins                      three records, exact solvers: VCA, FCLS,
                                            the peak-memory measurement, plug-in loading)
    2  method                               (the method contract and its registry)
    3  deep, datasets, metrics              (torch base, scenarios, metric registry)
    4  methods, unmixing                    (the built-in methods, registered on import;
                                            hubench.unmix: one method on one image)
    5  harness, contract                    (grid, workers, store, regression check;
                                            the checks of ``hubench test-method``)
    6  report                               (leaderboards, figures, statistics)
    7  cli, __main__                        (the command line)

``plugins`` and ``contract`` come with the branch ``plugins`` (not merged here yet); they
are listed so that the merge does not fail this test.

A module may import modules of its own layer or of lower ones, never of a higher one
(:func:`test_no_module_imports_a_higher_layer`). Modules of one layer may import each
other; the cycle test keeps that honest.

Package ``__init__`` files: ``hubench/<pkg>/__init__.py`` belongs to its package's
layer. ``hubench/__init__.py`` re-exports the public API (``make_scene``,
``get_method``, ``score``... loaded on first use through its ``_LAZY`` table); it sits
at the layer of what it exposes, the highest layer among its imports and its ``_LAZY``
targets (``methods, unmixing`` today), computed here, not written down. So ``from hubench import
__version__`` is allowed only from that layer up (the harness's provenance).

Edges are what a module names: ``from hubench.deep.base import X`` is an edge to
``hubench.deep.base``; ``from hubench.harness import store`` to ``hubench.harness.store``
(a submodule), ``from hubench.methods import get_method`` to ``hubench.methods`` (the
package ``__init__``). The parent packages that Python initialises on the way are not
edges (as in pydeps and import-linter). Imports that the AST cannot see are added
explicitly: the ``_LAZY`` table of ``hubench/__init__.py``, and each package
``__init__`` that imports all its children with ``importlib.import_module(
f"{__name__}.{...}")`` (``methods``, ``datasets``, ``cli``: registration by import) gets
an edge to every direct child not starting with ``_``.

Cycles (:func:`test_import_graph_has_no_cycle`): the strongly connected components of
the module graph (every edge above, function-level and ``TYPE_CHECKING`` imports
included) must all be single modules. One known cycle is tolerated until its fix is
merged: ``hubench.report.leaderboard`` <-> ``hubench.report.stats_table``, removed on the
branch ``leaderboard-model`` (the leaderboard rewrite); the test accepts exactly that
pair and nothing else, and fails once the pair is no longer a cycle so the exception is
removed with it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "hubench"

LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    # ``plugins``: hubench/plugins.py, entry-point loading; it imports only errors and
    # the registry packages import it.
    ("params", "registry", "scene", "solvers", "memory", "plugins"),
    ("method",),
    ("deep", "datasets", "metrics"),
    # ``ensemble``: K fits of any method combined (it needs the method contract and
    # the metrics' endmember matching).
    ("methods", "ensemble", "unmixing"),
    # ``contract``: hubench/contract.py, the method-contract checks behind ``hubench
    # test-method``; it uses harness.degenerate.
    ("harness", "contract"),
    ("report",),
    ("cli", "__main__"),
]
LAYER_OF = {part: i for i, parts in enumerate(LAYERS) for part in parts}
LAYER_NAMES = [", ".join(parts) for parts in LAYERS]

# No exception: the last cycle (report/leaderboard.py <-> stats_table.py) went with the
# leaderboard model (hubench/report/board.py).
KNOWN_CYCLES: list[frozenset[str]] = []


def module_name(path: Path) -> str:
    parts = ["hubench", *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The hubench module that ``target`` names (itself or its longest known prefix)."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _imports_children_dynamically(tree: ast.Module) -> bool:
    """True for ``importlib.import_module(f"{__name__}.{...}")`` anywhere in ``tree``."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.JoinedStr)
        ):
            first = node.args[0].values[0] if node.args[0].values else None
            if (
                isinstance(first, ast.FormattedValue)
                and isinstance(first.value, ast.Name)
                and first.value.id == "__name__"
            ):
                return True
    return False


def _lazy_targets(tree: ast.Module) -> list[str]:
    """The module names in a top-level ``_LAZY = {attribute: module}`` table."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == "_LAZY" for t in targets):
            value = node.value
            assert isinstance(value, ast.Dict), "_LAZY must be a dict literal"
            return [v.value for v in value.values if isinstance(v, ast.Constant)]
    return []


def import_graph() -> dict[str, set[str]]:
    """Module -> the hubench modules it imports (see the module docstring)."""
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        package = name if _is_package(name, modules) else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                # ``from pkg import sub`` names the submodule when there is one.
                targets = [
                    f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                    for alias in node.names
                ]
            else:
                continue
            for target in targets:
                if target == "hubench" or target.startswith("hubench."):
                    resolved = _resolve(target, modules)
                    if resolved is not None:
                        edges.add(resolved)
        edges.update(t for t in _lazy_targets(tree) if t in modules)
        if _is_package(name, modules) and _imports_children_dynamically(tree):
            edges.update(
                m for m in modules
                if m.rpartition(".")[0] == name and not m.rpartition(".")[2].startswith("_")
            )  # fmt: skip
        edges.discard(name)
        graph[name] = edges
    return graph


def layers(graph: dict[str, set[str]]) -> dict[str, int]:
    """The layer of every module; ``hubench`` itself: the highest layer it imports."""
    out: dict[str, int] = {}
    for name in graph:
        if name == "hubench":
            continue
        part = name.split(".")[1]
        assert part in LAYER_OF, (
            f"{name}: hubench.{part} has no layer; add it to LAYERS in {Path(__file__).name} "
            "(and to the layer list in docs/dev/design.md)"
        )
        out[name] = LAYER_OF[part]
    out["hubench"] = max(out[t] for t in graph["hubench"])
    return out


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_graph_sees_the_known_edges(graph: dict[str, set[str]]) -> None:
    """The walker finds top-level, function-level and dynamic imports (a sanity check)."""
    assert "hubench.method" in graph["hubench.deep.base"]  # top level
    assert "hubench.solvers.vca" in graph["hubench.deep.base"]
    assert "hubench.methods" in graph["hubench.harness.grid"]  # inside a function
    assert "hubench.methods.vca" in graph["hubench.methods"]  # importlib, by package
    assert {"hubench.datasets", "hubench.methods", "hubench.metrics"} <= graph["hubench"]  # _LAZY
    assert len(graph) > 50


def test_hubench_init_sits_at_the_layer_of_what_it_exposes(graph: dict[str, set[str]]) -> None:
    assert LAYER_NAMES[layers(graph)["hubench"]] == "methods, ensemble, unmixing"


def test_no_module_imports_a_higher_layer(graph: dict[str, set[str]]) -> None:
    layer = layers(graph)
    upward = sorted(
        f"{name} ({LAYER_NAMES[layer[name]]}) imports {target} ({LAYER_NAMES[layer[target]]})"
        for name, targets in graph.items()
        for target in targets
        if layer[target] > layer[name]
    )
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_import_graph_has_no_cycle(graph: dict[str, set[str]]) -> None:
    cycles = [frozenset(c) for c in strongly_connected(graph) if len(c) > 1]
    unexpected = [sorted(c) for c in cycles if c not in KNOWN_CYCLES]
    assert not unexpected, f"import cycles: {unexpected}"
    stale = [sorted(c) for c in KNOWN_CYCLES if c not in cycles]
    assert not stale, f"no longer a cycle, remove it from KNOWN_CYCLES: {stale}"


def test_cycle_finder_finds_a_cycle() -> None:
    toy = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, strongly_connected(toy))) == [["a", "b", "c"], ["d"]]
