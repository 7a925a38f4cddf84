"""Plug-ins from entry points (hubench/plugins.py), in this process.

A distribution is faked by writing its ``*.dist-info`` folder (``METADATA`` and
``entry_points.txt``) into a temporary folder on ``sys.path``: that is all
importlib.metadata reads, so no package is installed. Each test works on a private copy
of the plug-in bookkeeping and removes what it registered, leaving the registries as
they were. The installed example package is tested end to end in
``tests/test_plugin_example.py``.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_harness_plugin import plugin  # noqa: F401  (fixture)

from hubench import plugins
from hubench.cli import main
from hubench.errors import PluginError
from hubench.methods import METHODS

GOOD_MODULE = '''
from hubench import Estimate
from hubench.methods import Method, register_method
from hubench.params import Int


@register_method
class Good(Method):
    name = "ep-good"
    task = "supervised"
    description = "least squares from an entry point (test)"
    param_rules = {"random_state": Int(min=0, none_ok=True)}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _fit(self, obs):
        import numpy as np
        from hubench.solvers.simplex import project_simplex
        A = np.linalg.lstsq(obs.E.T, obs.Y.T, rcond=None)[0].T
        return Estimate(A=project_simplex(A))
'''


def fake_distribution(folder: Path, name: str, entry_points: dict[str, dict[str, str]]) -> Path:
    """Write ``<name>-0.1.dist-info`` with these entry points into ``folder``."""
    info = folder / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    text = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
                   for group, eps in entry_points.items())
    (info / "entry_points.txt").write_text(text)
    return info


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path, private plug-in bookkeeping, and clean-up of what registered."""
    monkeypatch.setattr(plugins, "_DONE", set(plugins._DONE))
    monkeypatch.setattr(plugins, "_FAILURES", list(plugins._FAILURES))
    monkeypatch.setattr(plugins, "_ENV_DONE", set(plugins._ENV_DONE))
    monkeypatch.delenv(plugins.PLUGINS_ENV, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(METHODS)
    modules = set(sys.modules)
    yield tmp_path
    for name in set(METHODS) - before:
        METHODS.remove(name)
    for name in set(sys.modules) - modules:
        if name.startswith(("ep_good_", "hubench_nmf_broken")):
            sys.modules.pop(name, None)


def test_an_entry_point_registers_its_method_once(fresh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = f"ep_good_{uuid.uuid4().hex[:8]}"
    (fresh / f"{module}.py").write_text(GOOD_MODULE)
    fake_distribution(fresh, "hubench-good", {"hubench.methods": {"ep-good": module}})
    assert plugins.load_plugins() == []  # the entry points; no $HUBENCH_PLUGINS module
    assert METHODS.get("ep-good").__module__ == module
    plugins.load_plugins()  # once per process: not imported again, not registered twice
    assert not plugins.plugin_errors()
    assert main(["list", "methods", "ep-*"]) == 0
    assert "available" in capsys.readouterr().out
    assert main(["test-method", "ep-good"]) == 0  # a plug-in is held to the same contract
    assert "meets the method contract" in capsys.readouterr().out


def test_failed_plugins_are_one_line_exit_2_and_listed(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_distribution(fresh, "hubench-broken", {
        "hubench.methods": {"broken": "no_such_module_hb_xyz", "noname": "json"},
        "hubench.metrics": {"m1": "no_such_metric_module_hb"},
    })
    with pytest.raises(PluginError) as info:
        plugins.load_plugins()
    message = str(info.value)
    assert "\n" not in message
    assert ("distribution hubench-broken 0.1, entry point 'broken' in hubench.methods "
            "(= no_such_module_hb_xyz): failed to import: ModuleNotFoundError") in message
    assert "entry point 'noname' in hubench.methods (= json): imported, but registered no method " \
           "named 'noname'" in message

    store = fresh / "out" / "r.sqlite"
    for argv in (["run", "--methods", "vca", "--scenarios", "standard", "--profile", "ci",
                  "--seeds", "1", "--store", str(store)],
                 ["leaderboard", "--store", str(store)], ["report", "--store", str(store)],
                 ["test-method", "vca"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "3 plug-ins failed to load" in err, err
        assert "hubench-broken" in err
    assert not store.parent.exists()  # nothing written

    assert main(["list", "methods"]) == 0  # the listing shows them instead of failing
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "unavailable: plug-in failed to import: ModuleNotFoundError" in rows["broken"]
    assert "hubench-broken 0.1" in rows["broken"]
    assert "registered no method named 'noname'" in rows["noname"]
    assert "vca" in rows and "available" in rows["vca"]
    assert main(["list", "metrics", "m*"]) == 0
    assert "unavailable: plug-in distribution hubench-broken" in capsys.readouterr().out


def test_a_broken_hubench_plugins_module_is_listed_not_fatal(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(plugins.PLUGINS_ENV, "no_such_module_hb_env")
    assert main(["list", "methods"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "cannot import plugin module 'no_such_module_hb_env'" in rows["no_such_module_hb_env"]
    assert main(["leaderboard", "--store", str(fresh / "x.sqlite")]) == 2
    assert "HUBENCH_PLUGINS: cannot import plugin module" in capsys.readouterr().err


def test_test_method_fails_on_the_broken_example(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugin_broken"))
    monkeypatch.setenv(plugins.PLUGINS_ENV, "hubench_nmf_broken")
    assert main(["test-method", "nmf-broken"]) == 1
    lines = capsys.readouterr().out.splitlines()
    status = {line.split()[1]: line for line in lines[:-1]}
    assert status["abundances"].startswith("FAIL  abundances       abundances do not sum to one: "
                                           "max |sum - 1| = ")
    assert "enforce it, or declare relaxes_asc = True" in status["abundances"]
    assert status["deterministic"].startswith("FAIL  deterministic    two fits with random_state=0 "
                                              "differ: A differs")
    assert "draw every random number from random_state" in status["deterministic"]
    for check in ("metadata", "hyperparameters", "presets", "bad-values", "estimate"):
        assert status[check].startswith("PASS"), status[check]
    assert lines[-1].startswith("hubench test-method: 'nmf-broken' FAILS the method contract "
                                "(abundances, deterministic")


def test_test_method_on_a_method_that_cannot_run_here(
    plugin: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    assert main(["test-method", "t-gpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    status = {line.split()[1]: line for line in lines[:-1]}
    assert status["metadata"].startswith("PASS")
    assert status["estimate"] == ("SKIP  estimate         the method cannot run here: needs the "
                                  "package 'no_such_package_xyz'; install it with pip")
    assert "'t-gpu' cannot run here (needs the package 'no_such_package_xyz'" in lines[-1]
    assert "meets the method contract" not in lines[-1]


def test_test_method_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-method", "vcaa"]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'vcaa' (did you mean 'vca'" in err and err.count("\n") == 1
    assert main(["test-method", "fcls[tolx=1]"]) == 2
    assert "method 'fcls' has no parameter 'tolx'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["test-method", "vca", "--profile", "huge"])
    assert exc.value.code == 2


def test_test_method_takes_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-method", "vca[n_restarts=2]"]) == 0
    assert "'vca[n_restarts=2]' meets the method contract" in capsys.readouterr().out
    assert main(["test-method", "fcls[max_iter=0]"]) == 2  # refused before any check runs
    assert "method 'fcls': max_iter: expected an int >= 1" in capsys.readouterr().err
