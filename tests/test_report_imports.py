"""The structure of hubench.report: no import cycle among its modules, renderers that
import no other renderer, one SNR formatter."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import hubench.report as report

PACKAGE = "hubench.report"
MODULES = sorted(m.name for m in pkgutil.iter_modules(report.__path__, f"{PACKAGE}."))
#: Modules that turn a computed leaderboard into text: none may import another.
RENDERERS = {f"{PACKAGE}.render_md", f"{PACKAGE}.render_csv"}


def _source(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).read_text(encoding="utf-8")


def report_imports(module: str) -> set[str]:
    """The modules of hubench.report that ``module`` imports, anywhere in its code
    (function-level imports included); ``hubench.report`` itself stands for the
    package's ``__init__``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(_source(module))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package
                base = ".".join([PACKAGE, base]).rstrip(".")
            names = [base]
            if base == PACKAGE:  # from hubench.report import board
                names = [f"{PACKAGE}.{a.name}" if f"{PACKAGE}.{a.name}" in MODULES else PACKAGE
                         for a in node.names]  # fmt: skip
        else:
            continue
        found.update(n for n in names if n == PACKAGE or n.startswith(f"{PACKAGE}."))
    found.discard(module)
    return found


def graph() -> dict[str, set[str]]:
    return {m: report_imports(m) for m in [PACKAGE, *MODULES]}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``edges`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("module", MODULES)
def test_each_report_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_no_import_cycle_in_report() -> None:
    edges = graph()
    assert f"{PACKAGE}.board" in edges and f"{PACKAGE}.render_md" in edges
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_renderers_import_no_renderer_and_the_model_none() -> None:
    edges = graph()
    for renderer in sorted(RENDERERS):
        assert not edges[renderer] & (RENDERERS - {renderer}), renderer
    # the model computes: it imports no renderer and no formatting
    assert not edges[f"{PACKAGE}.board"] & (RENDERERS | {f"{PACKAGE}.text"})
    # submodules never import the package itself (its __init__ imports them)
    assert not any(PACKAGE in deps for name, deps in edges.items() if name != PACKAGE)


def test_one_snr_formatter() -> None:
    """Only hubench.report.text writes an SNR as text ("20 dB", "noiseless")."""
    formats_db = re.compile(r"\{[^{}]*:g\}\s?dB")
    for module in MODULES:
        if module == f"{PACKAGE}.text":
            continue
        source = _source(module)
        assert not formats_db.search(source), module
        assert '"noiseless"' not in source, module
