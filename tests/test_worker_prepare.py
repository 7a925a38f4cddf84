"""The worker calls a method's one-time ``prepare`` before the cell's clock starts."""

from __future__ import annotations

import pytest

from hubench.harness import expand_grid, parse_methods
from hubench.harness.worker import run_cell
from hubench.methods.vca import VCA


def test_prepare_runs_once_per_cell_before_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.setattr(VCA, "prepare", classmethod(lambda cls: events.append("prepare")))
    original = VCA._fit

    def fit(self, observation):  # type: ignore[no-untyped-def]
        events.append("fit")
        return original(self, observation)

    monkeypatch.setattr(VCA, "_fit", fit)
    (cell,) = expand_grid(parse_methods("vca"), ["standard"], [20.0], [0], profile="ci").cells
    outcome = run_cell(cell)
    assert outcome.status == "ok", outcome.reason
    assert events == ["prepare", "fit"]


def test_a_failing_prepare_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(cls: type) -> None:
        raise RuntimeError("kernel cache unreadable")

    monkeypatch.setattr(VCA, "prepare", classmethod(broken))
    (cell,) = expand_grid(parse_methods("vca"), ["standard"], [20.0], [0], profile="ci").cells
    outcome = run_cell(cell)
    assert outcome.status == "error" and "setup failed" in outcome.reason and "kernel cache" in outcome.reason


def test_wsnet_prepare_loads_the_kernels() -> None:
    from hubench.methods.wsnet import WSNet, cpu_kernels

    WSNet.prepare()
    assert all(kernel.signatures for kernel in (cpu_kernels.scan_forward, cpu_kernels.scan_backward,
                                                  cpu_kernels.attention_forward, cpu_kernels.attention_backward,
                                                  cpu_kernels.conv_forward, cpu_kernels.conv_backward,
                                                  cpu_kernels.token_weakness))
