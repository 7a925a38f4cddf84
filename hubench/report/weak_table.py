"""The weak-endmember rule of each real scene, shown beside its leaderboard section.

Real scenes have no weak endmembers by construction: they are chosen by the rule of
:mod:`hubench.datasets.weak_rule` (mean abundance below 0.15, or energy share below 25%
of the strongest endmember's), or given explicitly (``jasper[weak=water,road]``). The
table lists, per endmember, the numbers the rule looks at, whether each test fires,
what the rule decides, what the scene uses, and flags a value within 10% of its
threshold as *marginal*: a slightly different reference could flip the verdict, so
weak metrics on that endmember should be read with care.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pandas as pd
from tabulate import tabulate

from hubench.errors import HubenchError


def weak_rule_table(scene: Any) -> str:
    """Markdown for one real scene's weak rule (needs ``scene.params["weak_rule"]``)."""
    rule = scene.params.get("weak_rule")
    if not rule:
        return ""
    n = len(rule["mean_abundance"])
    names = list(scene.endmember_names or [f"endmember {k}" for k in range(n)])
    by_rule = rule.get("weak_by_rule") or [None] * n
    marginal = rule.get("marginal") or [False] * n
    rows = []
    for k in range(n):
        rows.append([
            names[k],
            f"{rule['mean_abundance'][k]:.3f}",
            f"{100 * rule['energy_fraction'][k]:.1f}%",
            "yes" if by_rule[k] else "no",
            "**weak**" if bool(scene.weak[k]) else "",
            "marginal" if marginal[k] else "",
        ])
    source = scene.params.get("weak_source", "rule")
    head = (f"\n### Weak endmembers\n\nRule: mean abundance < {rule['rare_threshold']:g} or energy share "
            f"< {100 * rule['energy_threshold']:g}% of the strongest endmember; *marginal*: within 10% of a "
            f"threshold. The weak set used here {'was given explicitly' if source == 'given' else 'is the rule' + chr(39) + 's'}"
            ".\n\n")
    table = tabulate(rows, headers=["endmember", "mean abundance", "energy share", "weak by rule",
                                    "used as weak", "note"], tablefmt="github", disable_numparse=True)
    return head + table + "\n"


def weak_rule_blocks(frame: pd.DataFrame) -> dict[str, str]:
    """``{scenario label: markdown}`` for every real scene of a labelled results frame.

    The scene is rebuilt from a stored row's parameters (its files must still be where
    the run found them); a scene that cannot be rebuilt gets a one-line note instead.
    """
    from hubench.datasets import make_scene

    blocks: dict[str, str] = {}
    real = frame[frame["scenario_kind"] == "real"]
    for label, rows in real.groupby("scenario_label", sort=False):
        row = rows.iloc[0]
        try:
            params = json.loads(row["scenario_params"])
            scene = make_scene(str(row["scenario"]), seed=int(row["seed"]), **params)
        except (HubenchError, OSError, ValueError) as exc:
            blocks[str(label)] = f"\n### Weak endmembers\n\nThe scene could not be rebuilt here ({exc}).\n"
            continue
        blocks[str(label)] = weak_rule_table(scene)
    return blocks


_PER_EM = re.compile(r"^weak_(recall|ap)_em(\d+)$")


def per_endmember_blocks(frame: pd.DataFrame) -> dict[str, str]:
    """``{scenario label: markdown}``: each weak endmember's recall and AP per method and
    SNR (mean over the seeds of the cells that finished ok), so that a missed small weak
    endmember is not hidden by a large one found (the pooled ``weak_recall``/``weak_ap``
    weigh endmembers by their pixels; docs/guide/metrics.md)."""
    from hubench.report.text import snr_text

    blocks: dict[str, str] = {}
    columns = sorted((c for c in frame.columns if _PER_EM.match(c)),
                     key=lambda c: (int(_PER_EM.match(c).group(2)), _PER_EM.match(c).group(1) != "recall"))  # type: ignore[union-attr]
    if not columns:
        return blocks
    ok = frame[frame["status"] == "ok"]
    for label, rows in ok.groupby("scenario_label", sort=False):
        present = [c for c in columns if rows[c].notna().any()]
        if not present:
            continue
        means = rows.groupby(["method_label", "snr_db"], dropna=False)[present].mean()
        snrs = sorted({s for _, s in means.index}, key=lambda s: (math.isnan(s), s))
        header = ["method"] + [f"{c.replace('weak_', '').replace('_em', ' em')} @ {snr_text(s)}"
                               for c in present for s in snrs]
        table = []
        for method in dict.fromkeys(m for m, _ in means.index):
            row = [method]
            for c in present:
                for s in snrs:
                    key = (method, s)
                    value = means[c].get(key, math.nan) if key in means.index else math.nan
                    row.append("n/a" if pd.isna(value) else f"{value:.3g}")
            table.append(row)
        blocks[str(label)] = ("\n### Each weak endmember\n\nRecall and AP of each weak endmember (`em k`: "
                              "the scene's endmember k), mean over seeds.\n\n"
                              + tabulate(table, headers=header, tablefmt="github", disable_numparse=True) + "\n")
    return blocks
