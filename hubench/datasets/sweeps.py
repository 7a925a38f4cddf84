"""The weak detection-limit sweeps: one ordinary synthetic scenario per sweep point.

Three families each sweep one knob of the weak or rare component and keep everything
else at the ``standard`` scenario's values (Dirichlet(1) abundances, 5 endmembers, 2
pure pixels per endmember that may have them, white noise):

``weak-level-<c>``
    one weak endmember at full reflectance (``weak_albedo=1``) whose abundance is at most
    ``c`` everywhere (``weak_max_abundance=c``); the level is ``c``.
``weak-albedo-<s>``
    one weak endmember with no abundance ceiling whose spectrum is scaled by ``s``
    (``weak_albedo=s``); the level is ``s``.
``rare-prevalence-<f>``
    one rare endmember in a compact blob covering ``round(f * n_pixels)`` pixels (at
    least one) with abundance uniform in [0.2, 0.6] there, as in ``rare``; the level is
    ``f``.

The top of each weak family is the weak endmember at full strength (``weak-level-1``
and ``weak-albedo-1`` are the same scene: an ordinary endmember with its pure pixels,
flagged weak), so a method that finds an ordinary endmember has a limit in the range
and *not reached* means it loses even that. Without the anchor, at a ceiling of 0.2 no
blind method found the endmember (no pure pixel) and every limit was *not reached*.

Each point is a registered scenario like any other (same generator, version, keys,
resume and store), so a sweep point is run, stored and resumed cell by cell. The
family names, and ``weak-sweep`` for all three, expand on the command line
(:func:`expand_sweeps`): ``hubench run --scenarios weak-sweep`` runs all 21 points.
A stored cell's family is read from its scenario name (:func:`sweep_point`) and its
level from its recorded scenario parameters (the swept knob), so an override such as
``weak-level-0.01[weak_max_abundance=0.03]`` is reported at the level it ran at.

Dirichlet rather than spatially smooth abundances: the sweeps extend the ``weak`` and
``rare`` scenarios, which are Dirichlet, so a sweep's reference points compare with them,
and the rare blobs are spatially compact already. ``weak-sweep[abundance=spatial]``
runs the same points with smooth maps.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hubench.datasets.scenarios import _register


@dataclass(frozen=True)
class SweepFamily:
    """One swept knob: its scenario-name prefix, the knob, the levels and the fixed knobs."""

    name: str
    knob: str
    levels: tuple[float, ...]
    fixed: dict[str, Any]
    level_label: str  # what the level is, for tables and axes
    describe: Callable[[float], str]

    def point_name(self, level: float) -> str:
        return f"{self.name}-{level:g}"

    def point_names(self) -> list[str]:
        return [self.point_name(level) for level in self.levels]


FAMILIES: dict[str, SweepFamily] = {
    family.name: family
    for family in (
        SweepFamily(
            name="weak-level",
            knob="weak_max_abundance",
            levels=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
            fixed={"n_pure": 2, "n_weak": 1, "weak_albedo": 1.0},
            level_label="weak abundance ceiling",
            describe=lambda c: (
                f"detection-limit sweep: one weak endmember at full reflectance with abundance "
                f"at most {c:g}"
            ),
        ),
        SweepFamily(
            name="weak-albedo",
            knob="weak_albedo",
            levels=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
            fixed={"n_pure": 2, "n_weak": 1, "weak_max_abundance": 1.0},
            level_label="weak albedo (reflectance scale)",
            describe=lambda s: (
                f"detection-limit sweep: one weak endmember, no abundance ceiling, reflectance x{s:g}"
            ),
        ),
        SweepFamily(
            name="rare-prevalence",
            knob="rare_prevalence",
            levels=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05),
            fixed={"n_pure": 2, "n_rare": 1, "rare_abundance": (0.2, 0.6)},
            level_label="rare prevalence (share of pixels)",
            describe=lambda f: (
                f"detection-limit sweep: one rare endmember in a blob on {f:g} of the pixels "
                "(at least one), abundance 0.2-0.6 there"
            ),
        ),
    )
}

#: The name that expands to every family's points.
ALL_SWEEPS = "weak-sweep"

_POINTS: dict[str, tuple[str, float]] = {}
for _family in FAMILIES.values():
    for _level in _family.levels:
        _name = _family.point_name(_level)
        _register(_name, _family.describe(_level), **_family.fixed, **{_family.knob: _level})
        _POINTS[_name] = (_family.name, _level)

_SPEC = re.compile(r"^\s*([A-Za-z0-9_.+\-]+)\s*(\[.*\])?\s*$", re.DOTALL)


def family_points(name: str) -> list[str] | None:
    """The scenario names a family name stands for (``weak-sweep``: all), else None."""
    if name == ALL_SWEEPS:
        return [p for family in FAMILIES.values() for p in family.point_names()]
    if name in FAMILIES:
        return FAMILIES[name].point_names()
    return None


def expand_sweeps(scenarios: Sequence[str]) -> list[str]:
    """Replace each family name (``weak-sweep``, ``weak-level``, ``weak-albedo``,
    ``rare-prevalence``) by its points, keeping any ``[k=v,...]`` overrides on each point;
    other names pass through unchanged."""
    out: list[str] = []
    for text in scenarios:
        match = _SPEC.match(text)
        points = family_points(match.group(1)) if match else None
        if points is None:
            out.append(text)
        else:
            out.extend(p + (match.group(2) or "") for p in points)  # type: ignore[union-attr]
    return out


def sweep_point(scenario: str, params: dict[str, Any] | None = None) -> tuple[str, float] | None:
    """``(family, level)`` of a stored cell, or None when the scenario is no sweep point.

    The level is the swept knob's value in ``params`` (the cell's recorded scenario
    parameters) when given, else the point's nominal level.
    """
    point = _POINTS.get(scenario)
    if point is None:
        return None
    family, level = point
    if params and FAMILIES[family].knob in params:
        with contextlib.suppress(TypeError, ValueError):
            level = float(params[FAMILIES[family].knob])
    return family, level


__all__ = ["ALL_SWEEPS", "FAMILIES", "SweepFamily", "expand_sweeps", "family_points", "sweep_point"]
