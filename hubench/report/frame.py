"""Selecting and labelling the rows of a results frame for the leaderboards.

A method run with different versions or hyperparameters (other than ``random_state``,
which the harness sets to the seed) appears as ``name[k=v,...]`` naming only what
differs; likewise a scenario run with different parameters (other than ``snr_db``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from hubench.errors import HubenchError, ParameterError, UnknownNameError, suggest
from hubench.report.stats import COST_METRICS, metric_columns, require_direction

DEFAULT_METRICS = (
    "armse", "msad", "weak_recall", "weak_recall_macro", "weak_f1", "weak_ap", "weak_ap_macro",
    "weak_em_recall", "lib_sre", "lib_recall", "lib_precision", "fit_seconds", "cpu_seconds",
    "peak_mem_mb",
)  # fmt: skip
_IGNORED_SCENARIO_KEYS = ("snr_db", "seed")
_IGNORED_METHOD_KEYS = ("random_state",)  # the harness sets it to the cell's seed


# ---- labels -------------------------------------------------------------------------
def parse_params(text: Any) -> dict[str, Any]:
    """A stored ``method_params``/``scenario_params`` JSON text as a dict (``{}`` when empty)."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"params": text}
    return value if isinstance(value, dict) else {"params": value}


def variant_labels(names: pd.Series, params: pd.Series) -> pd.Series:
    """``name`` when a name has one parameter set in the frame, else ``name[k=v,...]``.

    Only the keys whose values differ between the variants of a name are shown.
    """
    parsed = [parse_params(p) for p in params]
    canon = [json.dumps(p, sort_keys=True, default=str) for p in parsed]
    labels = list(names.astype(str))
    by_name: dict[str, set[str]] = {}
    for name, c in zip(labels, canon, strict=True):
        by_name.setdefault(name, set()).add(c)
    for name, variants in by_name.items():
        if len(variants) < 2:
            continue
        dicts = [json.loads(v) for v in variants]
        keys = sorted({k for d in dicts for k in d})
        differing = [k for k in keys if len({json.dumps(d.get(k), default=str) for d in dicts}) > 1]
        for i, (n, p) in enumerate(zip(labels, parsed, strict=True)):
            if n == name:
                inner = ",".join(f"{k}={p.get(k)!s}" for k in differing)
                labels[i] = f"{name}[{inner}]"
    return pd.Series(labels, index=names.index)


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with ``scenario_label`` and ``method_label`` columns.

    Method variants (version, parameters other than ``random_state``, which the
    harness sets to the seed, or the ensemble size of ``--ensemble K``) are told apart
    within each scenario table. Where one table holds cells of several profiles, a
    method run with different parameters under them is labelled by profile,
    ``daeu (quick)`` and ``daeu (full)``, and by the parameters that differ within a
    profile (``cnnaeu[init=vca] (full)``), not by every preset value.
    """
    out = frame.copy()
    scen_params = [
        json.dumps(
            {k: v for k, v in parse_params(p).items() if k not in _IGNORED_SCENARIO_KEYS}, default=str
        )
        for p in out["scenario_params"]
    ]
    out["scenario_label"] = variant_labels(out["scenario"], pd.Series(scen_params, index=out.index))
    # An ensemble (``--ensemble K``, K > 1) is another result than one fit: a variant.
    ensembles = (out["ensemble"] if "ensemble" in out.columns else pd.Series(1, index=out.index))
    method_params = pd.Series(
        [
            json.dumps(
                {
                    **{k: x for k, x in parse_params(p).items() if k not in _IGNORED_METHOD_KEYS},
                    "version": v,
                    "ensemble": int(e) if pd.notna(e) else 1,
                },
                default=str,
            )
            for p, v, e in zip(out["method_params"], out["method_version"], ensembles, strict=True)
        ],
        index=out.index,
    )
    out["method_label"] = out["method"].astype(str)
    for _, group in out.groupby("scenario_label"):
        out.loc[group.index, "method_label"] = _method_labels(group, method_params[group.index])
    given = task_rows(out, "priors")
    out.loc[given, "method_label"] = out.loc[given, "method_label"] + GIVEN_PRIORS
    # Only tagged where a table mixes tasks: library rows are ranked among themselves.
    library = task_rows(out, "library")
    mixed = library & out["scenario_label"].isin(out.loc[~library, "scenario_label"])
    out.loc[mixed, "method_label"] = out.loc[mixed, "method_label"] + LIBRARY_TAG
    return out


def _method_labels(group: pd.DataFrame, params: pd.Series) -> pd.Series:
    """The method labels of one scenario's rows (see :func:`labelled`)."""
    if "profile" not in group.columns or group["profile"].nunique() < 2:
        return variant_labels(group["method"], params)
    labels = pd.Series("", index=group.index, dtype=object)
    for _, rows in group.groupby("profile"):
        labels[rows.index] = variant_labels(rows["method"], params[rows.index])
    for _, rows in group.groupby("method"):
        if rows["profile"].nunique() > 1 and params[rows.index].nunique() > 1:
            labels[rows.index] = labels[rows.index] + " (" + rows["profile"].astype(str) + ")"
    return labels


#: Appended to the label of a library method (task ``library``) in a table that also
#: has methods of other tasks: each task is ranked and bolded among its own methods.
LIBRARY_TAG = " (library)"


#: Appended to the label of a method of task ``priors`` (given the weak materials' prior
#: spectra, docs/dev/priors.md): shown in the reference block, never ranked against the
#: blind methods.
GIVEN_PRIORS = " (given priors)"


def task_rows(frame: pd.DataFrame, name: str) -> pd.Series:
    """Rows made by a method of task ``name``: the row's stored ``task``, or for rows
    without one the registry's."""
    task = frame["task"] if "task" in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    unknown = task.isna()
    given = task == name
    if not unknown.any():
        return given
    return given | (unknown & frame["method"].map(lambda m: _registry_task(str(m)) == name))


def _registry_class(method: str) -> Any | None:
    """The registered class of ``method``, or None (unknown name, no registry)."""
    try:
        from hubench.methods import METHODS
    except ImportError:  # pragma: no cover - the registry is always importable in practice
        return None
    return METHODS.get(method) if method in METHODS else None


def _registry_task(method: str) -> str | None:
    cls = _registry_class(method)
    return None if cls is None else cls.task


def reference_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows of methods given information a blind method lacks, shown as references and
    never ranked against the blind ones: the true endmembers (task ``supervised``) or
    prior spectra of the weak materials (task ``priors``, docs/dev/priors.md)."""
    return supervised_rows(frame) | task_rows(frame, "priors")


def supervised_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows made by a method given the true endmembers: the row's stored ``task``, or
    for rows without one (stores written before it was recorded) the registry's."""
    return task_rows(frame, "supervised")


# ---- selection ----------------------------------------------------------------------
def select(
    frame: pd.DataFrame,
    *,
    scenarios: Sequence[str] | None = None,
    profile: str | None = None,
) -> pd.DataFrame:
    """Rows of the given scenarios (names as stored) and profile; unknown names raise."""
    if frame.empty:
        raise HubenchError("the store holds no results; run `hubench run` first")
    out = frame
    if profile is not None:
        known = sorted(out["profile"].dropna().unique())
        if profile not in known:
            raise UnknownNameError(
                f"no results with profile {profile!r}{suggest(profile, known)}; profiles in the store: {', '.join(known)}"
            )
        own = out["profile"] == profile
        out = out[own | _shared_with_profile(out, own, profile)]
    if scenarios:
        known = sorted(out["scenario"].unique())
        for name in scenarios:
            if name not in known:
                raise UnknownNameError(
                    f"no results for scenario {name!r}{suggest(name, known)}; scenarios in the store: {', '.join(known)}"
                )
        out = out[out["scenario"].isin(list(scenarios))]
    return out


def _shared_with_profile(frame: pd.DataFrame, own: pd.Series, profile: str) -> pd.Series:
    """Rows stored under another profile that are cells of ``profile``'s grid too.

    The profile is not part of a cell's key: a method whose presets are the same under
    two profiles (``fcls``, which has none) makes one cell for both, stored under the
    profile of the run that made it first. Such a row belongs to ``profile``'s page when
    the method's preset for ``profile`` equals its preset for the row's profile and
    ``profile``'s own rows ran on the same scene (scenario, its parameters, seed).
    """
    others = frame[~own]
    if others.empty or not own.any():
        return pd.Series(False, index=frame.index)
    mine = frame[own]
    scenes = set(zip(mine["scenario"], mine["scenario_params"].map(_scene_params), mine["seed"], strict=True))
    same_preset = {(method, stored): _same_preset(method, stored, profile)
                   for method, stored in set(zip(others["method"].astype(str), others["profile"].astype(str),
                                                 strict=True))}
    shared = [same_preset[(str(method), str(stored))] and (scenario, _scene_params(params), seed) in scenes
              for method, stored, scenario, params, seed in zip(
                  others["method"], others["profile"], others["scenario"], others["scenario_params"],
                  others["seed"], strict=True)]
    return pd.Series(shared, index=others.index, dtype=bool).reindex(frame.index, fill_value=False)


def _scene_params(text: Any) -> str:
    """A stored ``scenario_params`` as one comparable string."""
    return json.dumps(parse_params(text), sort_keys=True, default=str)


def _same_preset(method: str, stored: str, profile: str) -> bool:
    cls = _registry_class(method)
    return cls is not None and bool(cls.preset(stored) == cls.preset(profile))


def resolve_metrics(frame: pd.DataFrame, metrics: Sequence[str] | None) -> list[str]:
    """The metric columns to show: the defaults present in the frame, or exactly ``metrics``."""
    present = [*metric_columns(frame), *(c for c in COST_METRICS if c in frame.columns)]
    if metrics is None:
        return [m for m in DEFAULT_METRICS if m in present]
    for name in metrics:
        if name not in present:
            raise UnknownNameError(
                f"metric {name!r} is not in the store{suggest(name, present)}; "
                f"available: {', '.join(present)}"
            )
        require_direction(name, present)
    return list(metrics)


def resolve_rank_by(frame: pd.DataFrame, rank_by: Sequence[str] | None) -> list[str] | None:
    """The rank metrics asked for (``--rank-by``), checked against the frame; None (the
    default: every quality metric shown) when not given.

    Raises
    ------
    UnknownNameError
        A name that is no metric column of the frame (with a suggestion).
    ParameterError
        A cost metric (cost is shown, never ranked), a name given twice, or no name.
    """
    if rank_by is None:
        return None
    names = list(rank_by)
    if not names:
        raise ParameterError("--rank-by: name at least one metric")
    present = metric_columns(frame)
    for name in names:
        if name in COST_METRICS:
            raise ParameterError(
                f"--rank-by: {name!r} is a cost metric; cost is shown beside quality, never "
                f"ranked; rank by quality metrics ({', '.join(present)})"
            )
        if name not in present:
            raise UnknownNameError(
                f"--rank-by: metric {name!r} is not in the store{suggest(name, present)}; "
                f"available: {', '.join(present)}"
            )
        require_direction(name, present)
    if len(set(names)) != len(names):
        raise ParameterError(f"--rank-by: a metric named twice in {','.join(names)}")
    return names
