"""The external-method example of docs/guide/adding-a-method.md, installed as a package.

``tests/plugin_example`` (``hubench-nmf``: multiplicative-update NMF started from VCA) is
built and installed with pip into a temporary ``--target`` folder, offline and without
build isolation, then driven through the command line in subprocesses whose
``PYTHONPATH`` holds that folder: hubench must find the method through its entry point
alone. The doc's code blocks must be these files, byte for byte.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "plugin_example"
DOC = ROOT / "docs" / "guide" / "adding-a-method.md"
FILES = ("tests/plugin_example/pyproject.toml", "tests/plugin_example/src/hubench_nmf/__init__.py")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --target`` of a copy of the example (the copy keeps build/ and
    *.egg-info out of the repository)."""
    tmp = tmp_path_factory.mktemp("plugin")
    source = tmp / "hubench-nmf"
    shutil.copytree(EXAMPLE, source)
    target = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return target


def hubench(target: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), str(ROOT)])
    env.pop("HUBENCH_PLUGINS", None)
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "hubench", *argv], env=env, capture_output=True,
                          text=True, timeout=300, cwd=target.parent)


def test_the_installed_example_runs_end_to_end(installed: Path) -> None:
    infos = list(installed.glob("hubench_nmf-*.dist-info"))
    assert len(infos) == 1  # what importlib.metadata reads from a --target install
    assert "[hubench.methods]\nnmf-mu = hubench_nmf" in (infos[0] / "entry_points.txt").read_text()

    listed = hubench(installed, "list", "methods")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("nmf-mu "))
    assert "blind" in row and "available" in row and "Lee & Seung" in row

    tested = hubench(installed, "test-method", "nmf-mu")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "'nmf-mu' meets the method contract: 10 passed, 0 failed" in tested.stdout

    store = installed.parent / "r.sqlite"
    ran = hubench(installed, "run", "--methods", "nmf-mu,vca+fcls", "--scenarios", "standard",
                  "--profile", "ci", "--seeds", "1", "--jobs", "1", "--store", str(store))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with sqlite3.connect(store) as db:
        rows = dict(db.execute("SELECT method, status FROM results").fetchall())
    assert rows == {"nmf-mu": "ok", "vca+fcls": "ok"}

    board = hubench(installed, "leaderboard", "--store", str(store))
    assert board.returncode == 0, board.stderr
    assert "nmf-mu" in board.stdout and "vca+fcls" in board.stdout


def test_importing_the_plugin_before_hubench_is_not_an_error(installed: Path) -> None:
    """``import hubench_nmf`` first imports hubench.methods, which loads its entry points
    while hubench_nmf is half-imported: that entry point must be checked later, not
    reported as registering nothing."""
    code = ("import hubench_nmf, hubench; from hubench.plugins import load_plugins, plugin_errors; "
            "load_plugins(); assert not plugin_errors(), plugin_errors(); "
            "print(type(hubench.get_method('nmf-mu')).__name__)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout == "NMFMU\n", done.stderr


def test_the_doc_shows_the_example_files_as_they_are() -> None:
    text = DOC.read_text()
    blocks = dict(re.findall(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```\n", text, re.DOTALL))
    assert set(FILES) <= set(blocks), f"docs/guide/adding-a-method.md must show {FILES}"
    for name in FILES:
        assert blocks[name] == (ROOT / name).read_text(), f"{name} and its copy in the doc differ"
