"""``hubench run`` with a bad hyperparameter or scenario value: one line, exit 2, no store.

Each value is checked in the driver (``expand_grid``: ``Method.validate_params`` and
``ScenarioSpec.validate``) before anything runs, so none of these becomes an ``error``
row per cell (issue 12, point 6).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hubench.cli import main

NO_GPU = not torch.cuda.is_available()


def case(ident: str, methods: str, scenarios: str, extra: list[str], message: str, **kw: object) -> object:
    """One row: the id, ``--methods``, ``--scenarios``, further argv, and a fragment of
    the one line expected on stderr."""
    return pytest.param(methods, scenarios, extra, message, id=ident, **kw)


CASES = [
    case("tol-not-a-number", "fcls[tol=abc]", "standard", [], "method 'fcls': tol: expected a number in (0, 1)"),
    case("tol-nan", "fcls[tol=nan]", "standard", [], "method 'fcls': tol: expected a number in (0, 1)"),
    case("max-iter-negative", "fcls[max_iter=-5]", "standard", [], "method 'fcls': max_iter: expected an int >= 1"),
    case("restarts-zero", "vca[n_restarts=0]", "standard", [], "method 'vca': n_restarts: expected an int >= 1"),
    case("device-unknown", "daeu[device=tpu]", "standard", [], "method 'daeu': device: expected one of auto"),
    case("device-cuda-no-gpu", "daeu[device=cuda]", "standard", [], "method 'daeu': device='cuda'",
         marks=pytest.mark.skipif(not NO_GPU, reason="a GPU is present")),
    case("kernel-even", "cnnaeu[kernel_size=4]", "standard", [], "method 'cnnaeu': kernel_size: expected an odd int"),
    case("too-many-endmembers", "vca", "standard[n_endmembers=1000]", [], "scenario 'standard': n_endmembers"),
    case("too-many-bands", "vca", "standard[n_bands=100000]", [], "scenario 'standard': n_bands: at most 182"),
    case("noise-kind", "vca", "standard[noise=purple]", [], "scenario 'standard': noise: unknown kind 'purple'"),
    case("purity-above-one", "vca", "standard[max_purity=2]", [], "scenario 'standard': max_purity: must be in"),
    case("snr-not-a-number", "vca", "standard[snr_db=abc]", [], "scenario 'standard': snr_db: expected a number"),
    case("snr-overflow", "vca", "standard", ["--snr", "5000"], "scenario 'standard': snr_db: 5000 dB is above"),
    case("snr-above-max", "vca", "weak", ["--snr", "10,250"], "scenario 'weak': snr_db: 250 dB is above"),
    case("library-too-small", "vca", "standard[min_angle_deg=60,n_endmembers=20]", [],
         "scenario 'standard': min_angle_deg=60 leaves"),
]


@pytest.mark.parametrize(("methods", "scenarios", "extra", "message"), CASES)
def test_bad_value_is_one_line_exit_2_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    methods: str, scenarios: str, extra: list[str], message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "res" / "v.sqlite"
    argv = ["run", "--methods", methods, "--scenarios", scenarios, "--profile", "ci", "--seeds", "1",
            "--jobs", "1", "--store", str(store), *extra]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("hubench run: error: ") and message in lines[0], lines[0]
    assert not out
    assert not any(tmp_path.iterdir()), f"something was written: {list(tmp_path.iterdir())}"
