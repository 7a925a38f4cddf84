"""``hubench list methods|scenarios|metrics``."""

from __future__ import annotations

import pytest
from test_harness_plugin import plugin  # noqa: F401  (fixture)

import hubench.methods
from hubench.cli import main


def _lines(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, str]:
    assert main(["list", *argv]) == 0
    out = capsys.readouterr().out
    return {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}


def test_list_methods_with_availability_and_import_errors(
    plugin: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setitem(hubench.methods.IMPORT_ERRORS, "brokenmod", "ImportError: no module named x")
    lines = _lines(capsys, "methods")
    assert "supervised" in lines["t-ok"] and "available" in lines["t-ok"]
    assert "least squares" in lines["t-ok"]
    assert "unavailable: needs the package 'no_such_package_xyz'" in lines["t-gpu"]
    assert "import failed: ImportError: no module named x" in lines["brokenmod"]
    assert set(_lines(capsys, "methods", "t-*")) == {n for n in lines if n.startswith("t-")}


def test_list_scenarios_and_metrics(plugin: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    lines = _lines(capsys, "scenarios")
    assert "synthetic" in lines["t-tiny"] and "--snr applies" in lines["t-tiny"]
    assert "real" in lines["t-real"] and "fixed noise" in lines["t-real"] and "--data-dir" in lines["t-real"]
    metrics = _lines(capsys, "metrics")
    assert "lower is better" in metrics["armse"] and "higher is better" in metrics["weak_recall"]


def test_list_rejects_unknown_registry(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["list", "widgets"])
    assert exc_info.value.code == 2
