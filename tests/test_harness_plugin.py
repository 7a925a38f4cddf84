"""Test-only methods and scenarios, loaded through the ``HUBENCH_PLUGINS`` hook.

The plugin source below is written to a fresh module in a temporary folder per test,
so that both the driver (this pytest process) and the worker processes import it;
the fixture removes every registered name afterwards, leaving the registries as they
were for the other tests of the suite.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PLUGIN_SOURCE = '''
import os, signal, time
import numpy as np
from hubench.datasets.base import register_scenario
from hubench.methods.base import Method, register_method
from hubench.scene import Estimate, Scene


def _tiny(seed, n_bands=8, n_endmembers=3, size=6, snr_db=float("inf"), data_dir=None):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.1, 1.0, (n_endmembers, n_bands))
    A = rng.dirichlet(np.ones(n_endmembers), size * size)
    X = A @ E
    Y = X
    if np.isfinite(snr_db):
        sigma = np.sqrt(np.sum(X ** 2) / X.size / 10 ** (snr_db / 10))
        Y = X + rng.normal(0, sigma, X.shape)
    weak = np.zeros(n_endmembers, bool)
    weak[-1] = True
    return Scene(Y=Y, A=A, E=E, image_shape=(size, size), weak=weak, name="t-tiny",
                 params={"snr_db": snr_db}, seed=seed)


register_scenario("t-tiny", description="tiny random scene (test)",
                  defaults={"snr_db": float("inf")}, presets={"ci": {"size": 5}})(
    lambda seed, n_bands=8, n_endmembers=3, size=6, snr_db=float("inf"):
        _tiny(seed, n_bands, n_endmembers, size, snr_db))
register_scenario("t-real", description="fake real scene (test)", kind="real",
                  accepts_snr=False, defaults={"data_dir": "nowhere"})(
    lambda seed, data_dir="nowhere": _tiny(0))


class _Base(Method):
    task = "supervised"

    def _solve(self, obs):
        A, *_ = np.linalg.lstsq(obs.E.T, obs.Y.T, rcond=None)
        A = np.clip(A.T, 0, None) + 1e-12
        return A / A.sum(axis=1, keepdims=True)


@register_method
class Ok(_Base):
    name = "t-ok"
    description = "least squares, clipped and normalised (test)"
    presets = {"ci": {"scale": 1.0}}

    def __init__(self, *, scale=1.0, random_state=None):
        self.scale = scale
        self.random_state = random_state

    def _fit(self, obs):
        return Estimate(A=self._solve(obs), E=obs.E, info={"random_state": self.random_state})


@register_method
class Blind(Method):
    name = "t-blind"
    description = "returns a random estimate with E (test)"

    def __init__(self, *, random_state=0):
        self.random_state = random_state

    def _fit(self, obs):
        rng = np.random.default_rng(self.random_state)
        A = rng.dirichlet(np.ones(obs.n_endmembers), obs.n_pixels)
        E = rng.uniform(0.1, 1, (obs.n_endmembers, obs.n_bands))
        return Estimate(A=A, E=E)


@register_method
class Raise(_Base):
    name = "t-raise"
    description = "raises (test)"

    def __init__(self):
        pass

    def _fit(self, obs):
        raise RuntimeError("deliberate failure")


@register_method
class Nan(_Base):
    name = "t-nan"
    description = "returns NaN abundances (test)"

    def __init__(self):
        pass

    def _fit(self, obs):
        A = self._solve(obs)
        A[0, 0] = np.nan
        return Estimate(A=A)


@register_method
class Sleep(_Base):
    name = "t-sleep"
    description = "sleeps, then answers (test)"

    def __init__(self, *, seconds=30.0):
        self.seconds = seconds

    def _fit(self, obs):
        time.sleep(self.seconds)
        return Estimate(A=self._solve(obs))


@register_method
class Die(_Base):
    name = "t-die"
    description = "kills its own process (test)"

    def __init__(self, *, how="exit"):
        self.how = how

    def _fit(self, obs):
        if self.how == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        os._exit(3)


@register_method
class Mem(_Base):
    name = "t-mem"
    description = "holds a block of memory during fit (test)"

    def __init__(self, *, mb=64, device="cpu"):
        self.mb = mb
        self.device = device

    def _fit(self, obs):
        block = np.ones(int(self.mb * 2 ** 20 / 8))
        time.sleep(0.05)
        return Estimate(A=self._solve(obs), info={"device": self.device, "held": float(block[0])})


@register_method
class Env(_Base):
    name = "t-env"
    description = "reports the worker's thread settings through its error (test)"

    def __init__(self):
        pass

    def _fit(self, obs):
        import torch
        raise RuntimeError(f"threads={os.environ.get('OMP_NUM_THREADS')},{torch.get_num_threads()}"
                           f",{os.environ.get('HUBENCH_IN_WORKER')}")


@register_method
class Gpu(_Base):
    name = "t-gpu"
    description = "never available (test)"
    requires = ("no_such_package_xyz",)

    def __init__(self):
        pass
'''

TEST_METHODS = ("t-ok", "t-blind", "t-raise", "t-nan", "t-sleep", "t-die", "t-mem", "t-env", "t-gpu")
TEST_SCENARIOS = ("t-tiny", "t-real")


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Write the plugin to a fresh module, point HUBENCH_PLUGINS at it, clean up after."""
    from hubench.datasets import SCENARIOS
    from hubench.methods import METHODS

    folder = tmp_path / "plugins"
    folder.mkdir()
    module = f"hb_test_plugin_{uuid.uuid4().hex[:8]}"
    (folder / f"{module}.py").write_text(PLUGIN_SOURCE)
    monkeypatch.setenv("HUBENCH_PLUGINS", module)
    monkeypatch.setenv("PYTHONPATH", str(folder) + ":" + __import__("os").environ.get("PYTHONPATH", ""))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.chdir(tmp_path)
    yield module
    for name in TEST_METHODS:
        METHODS.remove(name)
    for name in TEST_SCENARIOS:
        SCENARIOS.remove(name)
    sys.modules.pop(module, None)


def test_plugins_register_and_clean_up(plugin: str) -> None:
    from hubench.harness import load_plugins
    from hubench.methods import METHODS

    assert load_plugins() == [plugin]
    assert "t-ok" in METHODS


def test_broken_plugin_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from hubench.errors import HubenchError
    from hubench.harness import load_plugins

    monkeypatch.setenv("HUBENCH_PLUGINS", "no_such_module_hb")
    with pytest.raises(HubenchError, match=r"HUBENCH_PLUGINS.*no_such_module_hb"):
        load_plugins()


def test_registries_are_clean_without_plugin() -> None:
    from hubench.methods import METHODS

    assert not any(name in METHODS for name in TEST_METHODS)
