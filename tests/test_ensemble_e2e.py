"""--ensemble K end to end: run, leaderboard, report, figures, resume (a classic and a
deep method, ci profile)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hubench.cli import main
from hubench.harness.store import ResultStore

RUN = ["run", "--methods", "vca+fcls,daeu", "--scenarios", "weak", "--snr", "20",
       "--seeds", "1", "--profile", "ci", "--jobs", "1", "--threads", "1", "--no-progress"]


@pytest.mark.slow
def test_ensemble_run_leaderboard_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "r.sqlite"
    assert main([*RUN, "--ensemble", "3", "--store", str(store), "--save-estimates"]) == 0
    assert main([*RUN, "--store", str(store)]) == 0  # the same cells with one fit: other keys
    with ResultStore(store, readonly=True) as opened:
        frame = opened.to_frame()
        estimates = opened.estimates_dir
    assert len(frame) == 4 and sorted(frame["ensemble"]) == [1, 1, 3, 3]
    ens = frame[frame["ensemble"] == 3].set_index("method")
    for method, mode, fits in (("vca+fcls", "bootstrap", 4), ("daeu", "seeds", 3)):
        info = json.loads(ens.loc[method, "info"])["ensemble"]
        assert (info["mode"], info["members"], info["fits"]) == (mode, 3, fits)
        assert 0 <= ens.loc[method, "coverage90"] <= 1
        assert ens.loc[method, "coverage90_error"] == pytest.approx(abs(ens.loc[method, "coverage90"] - 0.9))
        assert ens.loc[method, "interval_width"] > 0
        assert np.isfinite(ens.loc[method, "weak_presence_ece"])
        assert ens.loc[method, "cpu_seconds"] > 0
        saved = np.load(estimates / f"{ens.loc[method, 'key']}.npz")
        assert (saved["A_lower"] <= saved["A_upper"]).all()
        assert saved["A_presence"].min() >= 0 and saved["A_presence"].max() <= 1
    single = frame[frame["ensemble"] == 1]
    assert single["coverage90"].isna().all()
    # Resume: nothing is run again, the numbers stay.
    capsys.readouterr()
    assert main([*RUN, "--ensemble", "3", "--store", str(store)]) == 0
    assert "0 run now, 2 already stored" in capsys.readouterr().out
    # Leaderboard and report show the ensemble's uncertainty section.
    capsys.readouterr()
    assert main(["leaderboard", "--store", str(store)]) == 0
    board = capsys.readouterr().out
    assert "### Uncertainty (ensembles)" in board
    # one fit and the ensemble of 3 are two rows, never averaged together
    assert "vca+fcls[ensemble=3]" in board and "vca+fcls[ensemble=1]" in board
    out = tmp_path / "report"
    assert main(["report", "--store", str(store), "--output", str(out)]) == 0
    page = (out / "report.md").read_text()
    assert "### Uncertainty (ensembles)" in page
    assert (out / "figures" / "weak_uncertainty_20dB_seed0.png").is_file()
    assert (out / "figures" / "weak_reliability_20dB_seed0.png").is_file()


def test_ensemble_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "never.sqlite"
    for bad in ("0", "101"):
        assert main([*RUN, "--ensemble", bad, "--store", str(store)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--ensemble" in err
    assert not store.exists()
