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
