"""`hubench plot` and `hubench report` end to end in a temporary directory."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from hubench.cli import main

RUN = [
    "run",
    "--methods",
    "vca+fcls,fcls",
    "--scenarios",
    "weak",
    "--snr",
    "20,30",
    "--seeds",
    "2",
    "--profile",
    "ci",
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One store with saved estimates, and a copy of its database alone (what a run
    without --save-estimates leaves)."""
    root = tmp_path_factory.mktemp("cli_plot")
    with_estimates = root / "with" / "r.sqlite"
    without = root / "without" / "r.sqlite"
    assert main([*RUN, "--save-estimates", "--store", str(with_estimates)]) == 0
    without.parent.mkdir()
    shutil.copyfile(with_estimates, without)
    return {"with": with_estimates, "without": without}


@pytest.mark.slow
def test_plot_writes_every_figure(
    stores: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figs"
    code = main(
        [
            "plot",
            "--store",
            str(stores["with"]),
            "--output",
            str(out),
            "--scene",
            "weak",
            "--snr",
            "30",
            "--seed",
            "1",
            "--methods",
            "vca+fcls,fcls",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.split()
    names = sorted(Path(p).name for p in printed)
    assert names == sorted(
        [
            "weak_abundances_30dB_seed1.png",
            "weak_spectra_30dB_seed1.png",
            "weak_metrics-vs-snr.png",
            "weak_cost.png",
            "weak_weak-pr_30dB_seed1.png",
        ]
    )
    for name in names:
        image = mpimg.imread(out / name)
        assert min(image.shape[:2]) > 200 and np.ptp(image[..., :3]) > 0.5


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_plot_bad_input_one_line_exit_2(
    stores: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never"
    base = ["plot", "--store", str(stores["with"]), "--output", str(out)]
    assert main([*base, "--methods", "vca+fcl"]) == 2
    assert "did you mean 'vca+fcls'" in _error(capsys)
    assert main([*base, "--scene", "rare"]) == 2
    assert "scenarios in the store: weak" in _error(capsys)
    assert main([*base, "--format", "png,pdf"]) == 2
    assert "choose from png, svg" in _error(capsys)
    assert main([*base[:-2], "--output", str(out), "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "no results store" in _error(capsys)
    no_estimates = [
        "plot",
        "--store",
        str(stores["without"]),
        "--output",
        str(out),
        "--scene",
        "weak",
    ]
    assert main(no_estimates) == 2
    err = _error(capsys)
    assert "no saved estimates" in err and "--save-estimates" in err
    assert not out.exists()


@pytest.mark.slow
def test_report_page_links_existing_figures(stores: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["report", "--store", str(stores["with"]), "--output", str(out)]) == 0
    page = (out / "report.md").read_text()
    assert page.startswith("# ")
    assert "## weak" in page
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page)
    assert len(links) == 5
    for link in links:
        assert not link.startswith("/")  # relative: the folder moves as a whole
        assert (out / link).is_file()
    # the figures sit beside the scenario's table, after it
    table_at = page.index("| method")
    assert all(page.index(link) > table_at for link in links)


def test_learning_curves_are_stored_and_drawn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tiny deep run: its learning curve reaches the store and `plot` draws it."""
    from hubench.harness.store import ResultStore

    store = tmp_path / "r.sqlite"
    assert main(["run", "--methods", "daeu,vca+fcls", "--scenarios", "standard", "--snr", "20", "--seeds", "1,",
                 "--profile", "ci", "--jobs", "1", "--store", str(store)]) == 0
    with ResultStore(store, readonly=True) as opened:
        rows = {row["method"]: row for row in opened.rows()}
    assert rows["vca+fcls"]["training"] is None
    training = rows["daeu"]["training"]
    curve = training["learning_curve"]
    assert [int(e["epoch"]) for e in curve] == [0, 1, 2, 3] and training["epochs"] == 3
    assert training["training_converged"] is False  # 3 epochs < two windows: the cap
    assert all({"armse", "msad", "seconds"} <= set(e) for e in curve)
    # the last checkpoint scores the estimate the cell returned
    assert curve[-1]["armse"] == rows["daeu"]["metrics"]["armse"]
    assert curve[-1]["msad"] == rows["daeu"]["metrics"]["msad"]
    assert training["checkpoint_seconds"] >= 0 and rows["daeu"]["fit_seconds"] > 0  # scoring left out of the fit
    capsys.readouterr()
    out = tmp_path / "figs"
    assert main(["plot", "--store", str(store), "--output", str(out), "--figures", "learning-curves"]) == 0
    names = [Path(p).name for p in capsys.readouterr().out.split()]
    assert names == ["standard_learning-curves_daeu.png"]
    image = mpimg.imread(out / names[0])
    assert min(image.shape[:2]) > 200 and np.ptp(image[..., :3]) > 0.5
    assert main(["plot", "--store", str(store), "--output", str(out), "--figures", "curves"]) == 2
    assert "--figures: unknown figure 'curves'" in _error(capsys)
