"""``hubench leaderboard --profile full --beside quick``: two budgets on the same cells."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_leaderboard import cell

from hubench.cli import main
from hubench.harness.store import ResultStore
from hubench.report.frame import labelled
from hubench.report.profile_table import profile_blocks


def two_profiles() -> pd.DataFrame:
    """daeu: full worse than quick by far more than the spread; vca: the same; cnnaeu
    has two full variants against one quick one; seed 2 of daeu full failed."""
    rows = []
    for seed in range(3):
        rows.append(cell("daeu", "standard", 20.0, seed, armse=0.04 + 0.001 * seed, msad=0.03,
                         fit_seconds=2.0, training_converged=1))
        rows.append(cell("vca", "standard", 20.0, seed, armse=0.05 + 0.01 * seed, msad=0.02))
        rows.append(cell("cnnaeu", "standard", 20.0, seed, armse=0.10, msad=0.05 + 0.002 * seed,
                         method_params=json.dumps({"random_state": seed, "init": "vca"})))
        full = dict(profile="full", key=f"full-{seed}")
        status = "failed" if seed == 2 else "ok"
        rows.append(cell("daeu", "standard", 20.0, seed, armse=0.14 + 0.002 * seed, msad=0.03,
                         fit_seconds=20.0, training_converged=0, status=status,
                         **{**full, "key": f"d{seed}"}))
        rows.append(cell("vca", "standard", 20.0, seed, armse=0.05 + 0.01 * seed, msad=0.02,
                         **{**full, "key": f"v{seed}"}))
        for init in ("vca", "random"):
            rows.append(cell("cnnaeu", "standard", 20.0, seed, armse=0.10, msad=0.04,
                             method_params=json.dumps({"random_state": seed, "init": init}),
                             **{**full, "key": f"c{init}{seed}"}))
    return pd.DataFrame(rows)


def table_rows(text: str) -> dict[str, list[str]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out = {}
    for line in lines[2:]:
        values = [c.strip() for c in line.strip("|").split("|")]
        out[values[0]] = dict(zip(header, values, strict=True))
    return out


def test_block_compares_the_same_cells_and_judges_against_the_spread() -> None:
    frame = two_profiles()
    blocks = profile_blocks(labelled(frame[frame["profile"] == "full"]),
                            labelled(frame[frame["profile"] == "quick"]), "full", "quick")
    rows = table_rows(blocks["standard"])
    daeu = rows["daeu"]
    # only seeds 0 and 1 finished under both: the quick mean is over those two as well
    assert daeu["seeds"] == "2"
    quick_mean = np.mean([0.040, 0.041])
    full_mean = np.mean([0.140, 0.142])
    assert daeu["armse"] == f"{quick_mean:.4f} ± {np.std([0.040, 0.041], ddof=1):.4f} → " \
                           f"{full_mean:.3f} ± {np.std([0.140, 0.142], ddof=1):.3f}"
    assert daeu["full worse (beyond spread)"] == "armse"  # msad equal: not worse
    assert daeu["fit s"] == "2 → 20" and daeu["capped"] == "0/2 → 2/2"
    assert rows["vca"]["full worse (beyond spread)"] == "-"
    # two full variants, each set against quick's only cnnaeu
    assert {"cnnaeu[init=random]", "cnnaeu[init=vca]"} <= set(rows)
    assert rows["cnnaeu[init=random]"]["msad"].startswith("0.0520 ± 0.0020 → 0.0400")
    assert rows["cnnaeu[init=random]"]["full worse (beyond spread)"] == "-"


def test_one_seed_is_not_judged_and_different_scenes_are_named() -> None:
    frame = two_profiles()
    frame = frame[frame["seed"] == 0].copy()
    big = frame["profile"] == "full"
    frame.loc[big, "scenario_params"] = json.dumps({"snr_db": 20.0, "image_shape": [100, 100], "n_bands": 182})
    frame.loc[~big, "scenario_params"] = json.dumps({"snr_db": 20.0, "image_shape": [50, 50], "n_bands": 99})
    blocks = profile_blocks(labelled(frame[big]), labelled(frame[~big]), "full", "quick")
    assert "The scenes differ: 50x50x99 under `quick`, 100x100x182 under `full`" in blocks["standard"]
    assert table_rows(blocks["standard"])["daeu"]["full worse (beyond spread)"] == "n/a (one seed)"


def test_cli_end_to_end_with_scene_profile(tmp_path, capsys) -> None:
    """Two budgets on one scene through run --scene-profile and leaderboard --beside."""
    store = str(tmp_path / "r.sqlite")
    common = ["--methods", "vca,n-findr", "--scenarios", "standard", "--seeds", "2", "--jobs", "1",
              "--store", store, "--no-progress"]
    assert main(["run", *common, "--profile", "ci"]) == 0
    assert main(["run", *common, "--profile", "quick", "--scene-profile", "ci"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--store", store, "--profile", "quick", "--beside", "ci"]) == 0
    out = capsys.readouterr().out
    assert "**`ci` → `quick`, same cells**" in out
    assert "The scenes differ" not in out  # --scene-profile ci: the same 16x16 images
    rows = table_rows(out[out.index("same cells**"):])
    assert set(rows) == {"n-findr", "vca"} and rows["vca"]["seeds"] == "2"
    with ResultStore(store, readonly=True) as opened:
        frame = opened.to_frame()
    assert frame.groupby("profile")["scenario_params"].agg(set).map(len).eq(1).all()
    assert len(set(frame["scenario_params"])) == 1  # one scene under both profiles


@pytest.mark.parametrize("argv, message", [
    (["--beside", "ci"], "--beside: compares the --profile cells with another profile's"),
    (["--profile", "ci", "--beside", "ci"], "--beside: compares the --profile cells"),
    (["--profile", "ci", "--beside", "full"], "no results with profile 'full'"),
])
def test_cli_bad_beside_is_one_line_exit_2(tmp_path, capsys, argv, message) -> None:
    store = str(tmp_path / "r.sqlite")
    assert main(["run", "--methods", "vca", "--scenarios", "standard", "--seeds", "1", "--jobs", "1",
                 "--store", store, "--no-progress", "--profile", "ci"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--store", store, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_labels_name_the_profile_not_every_preset_value() -> None:
    """One table with both profiles: ``daeu (quick)``/``daeu (full)``, the parameters
    that differ within a profile kept (``cnnaeu[init=vca] (full)``), and a method with
    the same parameters under both profiles left as it is."""
    from hubench.report.fig_training import _line_label

    frame = two_profiles()
    frame.loc[(frame["method"] == "daeu") & (frame["profile"] == "full"), "method_params"] = \
        json.dumps({"random_state": 0, "epochs": 100, "batch_size": 20})
    labels = labelled(frame).groupby(["method", "profile"])["method_label"].agg(lambda s: sorted(set(s)))
    assert labels[("daeu", "quick")] == ["daeu (quick)"] and labels[("daeu", "full")] == ["daeu (full)"]
    assert labels[("cnnaeu", "full")] == ["cnnaeu[init=random] (full)", "cnnaeu[init=vca] (full)"]
    assert labels[("cnnaeu", "quick")] == ["cnnaeu (quick)"]
    assert labels[("vca", "quick")] == labels[("vca", "full")] == ["vca"]
    # one profile in the table: no suffix
    assert set(labelled(frame[frame["profile"] == "full"])["method_label"]) == {
        "daeu", "vca", "cnnaeu[init=random]", "cnnaeu[init=vca]"}
    # the learning-curve legend does not repeat a profile the label names
    row = {"method_label": "daeu (full)", "profile": "full", "seed": 1}
    assert _line_label(row) == "daeu (full) · seed 1"
    assert _line_label({**row, "method_label": "vca"}) == "vca · full · seed 1"


@pytest.mark.parametrize("shift, flagged", [(0.003, False), (0.02, True)])
def test_rounding_level_differences_of_a_deterministic_method_are_not_worse(shift, flagged) -> None:
    frame = two_profiles()
    full_vca = (frame["method"] == "vca") & (frame["profile"] == "full")
    frame.loc[full_vca, "msad"] = 0.02 * (1 + shift)  # zero spread over seeds
    blocks = profile_blocks(labelled(frame[frame["profile"] == "full"]),
                            labelled(frame[frame["profile"] == "quick"]), "full", "quick")
    verdict = table_rows(blocks["standard"])["vca"]["full worse (beyond spread)"]
    assert verdict == ("msad" if flagged else "-")
