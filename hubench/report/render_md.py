"""The Markdown leaderboard: a :class:`~hubench.report.board.Leaderboard` written as
GitHub tables (tabulate). Formats only: every number, flag and order comes from the
board, every SNR and statistic is written by :mod:`hubench.report.text`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import pandas as pd
from tabulate import tabulate

from hubench.errors import ParameterError
from hubench.report.board import Leaderboard, Provenance
from hubench.report.frame import GIVEN_PRIORS, LIBRARY_TAG
from hubench.report.significance import ALPHA
from hubench.report.text import format_mean_std, rank_text, snr_text

MARKER = "\u2020"  # dagger: significantly worse than the best
SUPERVISED = " (given E)"
#: Legend of a method given the weak materials' prior spectra (task ``priors``).
PRIORS_NOTE = (
    " `(given priors)`: given the prior spectra of the suspected weak materials (task "
    "`priors`, docs/dev/priors.md): strictly more information than a blind method, so it is "
    "shown in the reference block with the methods given E, not ranked against the blind ones."
)
#: Legend of a library method in a table that mixes tasks.
LIBRARY_NOTE = (
    " `(library)`: a library method (task `library`, docs/dev/library.md): it unmixes over "
    "the spectral library the scene carries, so its ranks, bold and significance marks are "
    "computed among the library methods only, and the blind ones' among the blind ones."
)
#: The label row that opens the reference block of a scenario table.
REFERENCE_LABEL = "*Reference (given the true endmembers or prior spectra), not ranked*"
#: The rank shown for a reference method.
REFERENCE_RANK = "ref"

NOTE = (
    "With statistics (the default of `hubench leaderboard`): each cell is the mean \u00b1 the "
    "half-width of its bootstrap 95% confidence interval over seeds, instead of the std "
    "(percentile bootstrap, 9,999 resamples, fixed seed; no interval for one seed). "
    f"{MARKER}: significantly worse than the best method of that metric in the scenario "
    f"(two-sided Wilcoxon signed-rank test over the (seed, SNR) pairs, p < {ALPHA:g}; marked "
    "on every column of the metric; blind methods only). The average-rank table averages "
    "each blind method's `rank` over the scenarios it ran on; reference methods are not in "
    "it."
)


def method_text(method: str, supervised: bool) -> str:
    """``"fcls (given E)"`` for a supervised method, else the label; a reference whose
    label already says what it was given (``"hyperweak (given priors)"``) keeps it."""
    if not supervised or method.endswith(GIVEN_PRIORS):
        return method
    return f"{method}{SUPERVISED}"


def column_text(metric: str, snr_db: float, pooled: bool) -> str:
    """``"armse @ 10 dB"``; a bare ``"armse"`` for a pooled (cost) column or a real scene."""
    if pooled or math.isnan(snr_db):
        return metric
    return f"{metric} @ {snr_text(snr_db)}"


def _distinct_text(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "unknown"


def provenance_rows(prov: Provenance) -> list[tuple[str, str]]:
    """(setting, value) pairs of the header table."""
    if prov.degenerate:
        cells = f"{prov.cells} ({prov.failed} failed, {prov.degenerate} degenerate)"
    else:
        cells = f"{prov.cells} ({prov.failed} not ok)"
    dates = (
        f"{prov.first_start} to {prov.last_finish}"
        if prov.first_start is not None and prov.last_finish is not None
        else "unknown"
    )
    return [
        ("profile", _distinct_text(prov.profiles)),
        ("scenarios", ", ".join(prov.scenarios)),
        ("methods", ", ".join(prov.methods)),
        ("seeds", f"{', '.join(map(str, prov.seeds))} ({len(prov.seeds)})"),
        ("SNR", ", ".join(snr_text(s) for s in prov.snrs) or "n/a (real scenes)"),
        ("cells", cells),
        ("hubench", _distinct_text(prov.hubench_versions)),
        ("git commit", _distinct_text(prov.git_commits)),
        ("python", _distinct_text(prov.python_versions)),
        ("numpy", _distinct_text(prov.numpy_versions)),
        ("torch", _distinct_text(prov.torch_versions)),
        ("devices", _distinct_text(prov.devices)),
        ("hosts", _distinct_text(prov.hosts)),
        ("run between", dates),
        ("cell time", _cell_time(prov)),
    ]


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else (
        f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s")


def _cell_time(prov: Provenance) -> str:
    """The compute the cells took: sums of their fit (wall) and CPU seconds."""
    if math.isnan(prov.fit_seconds_total):
        return "unknown"
    text = f"{_duration(prov.fit_seconds_total)} wall"
    if not math.isnan(prov.cpu_seconds_total):
        text += f", {_duration(prov.cpu_seconds_total)} CPU"
    return text + " (sums over the cells' fits; cells run in parallel overlap)"


def notes(board: Leaderboard) -> str:
    """The paragraph under the header: what a cell, bold, rank and failed mean."""
    parts = []
    for metric, row in board.metrics.iterrows():
        unit = str(row["unit"])
        parts.append(f"`{metric}` ({unit + ', ' if unit else ''}{row['better']} is better)")
    return (
        "Each cell: mean ± std over seeds of the cells that finished ok (std left out for "
        "one seed; n/a when no cell finished or the metric does not apply). **Bold**: best "
        "blind method of its column. `rank`: mean over the columns of the rank metrics ("
        + rank_by_text(board)
        + ") of the method's rank among the blind methods in each (ties share; no "
        "finished cell ranks last; a metric that does not apply is left out); cost "
        "columns are averaged over all SNRs and not ranked. `failed`: cells not ok / "
        "cells run. `capped` (deep methods): cells whose training hit its epochs cap before "
        "the loss stopped improving / cells trained. `(given E)`: supervised, given the true endmembers: shown as a "
        "reference in its own block under each table (rank `ref`), never ranked, bolded "
        "or tested against."
        + (PRIORS_NOTE if board.methods["method"].astype(str).str.endswith(GIVEN_PRIORS).any() else "")
        + (LIBRARY_NOTE if board.methods["method"].astype(str).str.endswith(LIBRARY_TAG).any() else "")
        + " Metrics: "
        + ", ".join(parts)
        + "."
        + _partial_note(board)
    )


#: Why a metric does not apply, by the reference part it needs.
MISSING = {"A": "no reference abundances", "E": "no reference endmembers"}


def _partial_note(board: Leaderboard) -> str:
    """The legend's sentence on partial references, when a scenario has one."""
    if all(ref == "A+E" for ref in board.references.values()):
        return ""
    return (
        " A scene with a partial reference (your own image with endmember spectra only, "
        "abundances only, or none) is scored with the metrics its reference allows; a column "
        "whose metric needs the missing part reads n/a throughout (the line under its table "
        "says which part is missing); `rmse_y`, time and memory need no reference."
    )


def reference_line(board: Leaderboard, scenario: str) -> str:
    """Under a table of a scene with a partial reference: what is missing and which of the
    shown metrics are n/a for that reason; ``""`` for a full reference."""
    from hubench.metrics.evaluation import applies, needs

    reference = board.references.get(scenario, "A+E")
    if reference == "A+E":
        return ""
    shown = list(dict.fromkeys(board.columns.loc[board.columns["scenario"] == scenario, "metric"]))
    missing = [part for part in ("A", "E") if part not in reference.split("+")]
    parts = []
    for part in missing:
        names = [f"`{m}`" for m in shown if not applies(m, reference) and needs(m) == part]
        if names:
            parts.append(f"{', '.join(names)} n/a: {MISSING[part]}")
    what = {"E": "endmember spectra only", "A": "abundances only", "none": "none"}[reference]
    return f"Reference: {what}; " + ("; ".join(parts) or "every metric shown applies") + "."


def rank_by_text(board: Leaderboard) -> str:
    """``"`armse`, `msad`"``: the rank metrics, or ``"none"``."""
    return ", ".join(f"`{m}`" for m in board.rank_by) or "none"


def rank_line(board: Leaderboard, scenario: str) -> str:
    """The line under a scenario table saying what its ``rank`` averages."""
    from hubench.metrics.evaluation import applies

    columns = board.columns[board.columns["scenario"] == scenario]
    scene_ref = board.references.get(scenario, "A+E")
    columns = columns[[applies(str(m), scene_ref) for m in columns["metric"]]]
    ranked = set(board.rank_by)
    n = int(columns["metric"].isin(ranked).sum())
    shown = [m for m in board.rank_by if m in set(columns["metric"])]
    what = ", ".join(f"`{m}`" for m in shown) if shown else "none of them has a value here"
    methods = board.methods[board.methods["scenario"] == scenario]
    line = (
        f"`rank` averages {n} column{'s' if n != 1 else ''} of the rank metrics "
        f"({what}; rank by: {rank_by_text(board)}), among the blind methods"
    )
    if methods["supervised"].any():
        line += "; the reference block is not ranked"
    return line + "."


def _cell_text(cell: pd.Series, statistics: bool) -> str:
    if statistics:
        text = format_mean_std(cell["mean"], (cell["ci_high"] - cell["ci_low"]) / 2.0, cell["n"])
    else:
        text = format_mean_std(cell["mean"], cell["std"], cell["n"])
    if cell["best"]:
        text = f"**{text}**"
    if statistics and cell["worse"]:
        text += f" {MARKER}"
    return text


def scenario_frame(board: Leaderboard, scenario: str, *, statistics: bool = False) -> pd.DataFrame:
    """One scenario's table as display strings, rows in rank order: ``method``, ``rank``,
    a column per metric (x SNR), ``failed`` and, when any cell is degenerate,
    ``degenerate``. The blind methods come first; the reference methods (given the true
    endmembers) follow in their own block, opened by a row whose ``method`` is
    :data:`REFERENCE_LABEL` (every other cell empty), with rank :data:`REFERENCE_RANK`.

    ``statistics``: cells are mean ± bootstrap CI half-width with ``†`` for significantly
    worse than the best; otherwise mean ± std.
    """
    methods = board.methods[board.methods["scenario"] == scenario]
    columns = board.columns[board.columns["scenario"] == scenario].sort_values("column")
    cells = board.cells[board.cells["scenario"] == scenario]
    by_key = {(int(c["column"]), str(c["method"])): c for _, c in cells.iterrows()}
    order = [str(m) for m in methods["method"]]
    supervised = [bool(s) for s in methods["supervised"]]
    table = pd.DataFrame(
        {
            "method": [method_text(m, s) for m, s in zip(order, supervised, strict=True)],
            "rank": [
                REFERENCE_RANK if s else rank_text(float(r))
                for r, s in zip(methods["rank"], supervised, strict=True)
            ],
        }
    )
    for _, column in columns.iterrows():
        label = column_text(str(column["metric"]), float(column["snr_db"]), bool(column["pooled"]))
        position = int(column["column"])
        table[label] = [_cell_text(by_key[(position, m)], statistics) for m in order]
    totals = methods["total"].to_numpy()
    table["failed"] = [f"{f}/{t}" for f, t in zip(methods["failed"], totals, strict=True)]
    if methods["degenerate"].any():  # collapsed estimates: stored, not averaged, counted here
        table["degenerate"] = [
            f"{d}/{t}" for d, t in zip(methods["degenerate"], totals, strict=True)
        ]
    if methods["trained"].any():  # deep methods: how often training stopped at the epochs cap
        table["capped"] = [f"{c}/{n}" if n else "" for c, n in zip(methods["capped"], methods["trained"], strict=True)]
    if any(supervised):  # the board puts the reference methods last: open their block
        first = supervised.index(True)
        label = pd.DataFrame([[REFERENCE_LABEL] + [""] * (table.shape[1] - 1)], columns=table.columns)
        table = pd.concat([table.iloc[:first], label, table.iloc[first:]], ignore_index=True)
    return table


def average_rank_frame(board: Leaderboard) -> pd.DataFrame:
    """The average-rank table as display strings: ``method``, one column per scenario
    (its rank there, empty where it did not run), ``avg rank``, ``scenarios``."""
    ranks = {
        (str(r["scenario"]), str(r["method"]), bool(r["supervised"])): float(r["rank"])
        for _, r in board.methods.iterrows()
    }
    rows = []
    for _, row in board.average_rank.iterrows():
        method, supervised = str(row["method"]), bool(row["supervised"])
        shown = [method_text(method, supervised)]
        for scenario in board.scenarios:
            value = ranks.get((scenario, method, supervised), math.nan)
            shown.append(f"{value:.2f}" if math.isfinite(value) else "")
        rank = float(row["rank"])
        shown.append(f"{rank:.2f}" if math.isfinite(rank) else "")
        shown.append(str(int(row["scenarios"])))
        rows.append(shown)
    return pd.DataFrame(rows, columns=["method", *board.scenarios, "avg rank", "scenarios"])


def _github(table: pd.DataFrame) -> str:
    """A GitHub table of display strings (never re-read as numbers)."""
    return str(
        tabulate(table, headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
    )


def _section(board: Leaderboard, scenario: str, statistics: bool) -> str:
    out = io.StringIO()
    out.write(f"## {scenario}\n\n")
    table = scenario_frame(board, scenario, statistics=statistics)
    out.write(_github(table))
    out.write("\n\n" + rank_line(board, scenario) + "\n")
    partial = reference_line(board, scenario)
    if partial:
        out.write("\n" + partial + "\n")
    failures = board.failures[board.failures["scenario"] == scenario]
    if len(failures):
        out.write("\nCells not ok:\n\n")
        for _, row in failures.iterrows():
            snr = float(row["snr_db"])
            at = "" if math.isnan(snr) else f" at {snr_text(snr)}"
            reason = str(row["reason"] or "").splitlines()[0][:160] if row["reason"] else ""
            out.write(f"- {row['method']}, seed {row['seed']}{at}: {row['status']} {reason}\n")
    return out.getvalue()


def board_markdown(
    board: Leaderboard,
    *,
    title: str = "hubench leaderboard",
    source: str | None = None,
    statistics: bool = False,
    generator: str = "hubench leaderboard",
    extras: Mapping[str, str] | None = None,
) -> str:
    """The whole Markdown page: header, notes, [average rank], one table per scenario.

    Parameters
    ----------
    board : Leaderboard
    title : str
        The ``#`` heading.
    source : str, optional
        Where the results came from (the store path), named under the heading.
    statistics : bool
        Cells as mean ± bootstrap 95% CI half-width with ``†`` markers, and the
        average-rank table when there is more than one scenario.
    generator : str
        The command named as the page's producer.
    extras : mapping of scenario label -> Markdown, optional
        Appended at the end of that scenario's section (``hubench report``'s figures).
    """
    if statistics and not board.statistics:
        raise ParameterError(
            "statistics: this leaderboard was built without them; "
            "use build_leaderboard(frame, statistics=True)"
        )
    extras = extras or {}
    out = io.StringIO()
    out.write(f"# {title}\n\n")
    origin = f" from `{source}`" if source else ""
    out.write(f"Generated by `{generator}`{origin}; do not edit by hand.\n\n")
    out.write(
        tabulate(provenance_rows(board.provenance), headers=["setting", "value"], tablefmt="github")
    )
    out.write("\n\n" + notes(board) + "\n")
    scenarios = board.scenarios
    if statistics:
        out.write("\n" + NOTE + "\n")
        if len(scenarios) > 1:
            out.write("\n### Average rank across scenarios\n\n")
            out.write(_github(average_rank_frame(board)) + "\n")
            if board.methods["supervised"].any():
                out.write("\nReference methods (given the true endmembers or prior spectra) are not ranked.\n")
    for scenario in scenarios:
        section = _section(board, scenario, statistics)
        if extras.get(scenario):
            section = section.rstrip("\n") + "\n" + extras[scenario]
        out.write("\n" + section)
    return out.getvalue()


__all__ = [
    "MARKER",
    "NOTE",
    "REFERENCE_LABEL",
    "REFERENCE_RANK",
    "SUPERVISED",
    "average_rank_frame",
    "board_markdown",
    "column_text",
    "method_text",
    "notes",
    "provenance_rows",
    "rank_by_text",
    "rank_line",
    "reference_line",
    "scenario_frame",
]
