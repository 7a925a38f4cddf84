"""Score one estimate against its scene: align once, then every metric on aligned arrays.

The exact definitions and edge cases are in docs/guide/metrics.md. A scene with a
partial reference (:attr:`hubench.Scene.reference`) gets every metric key all the same;
those that need the missing part are NaN (:func:`applies` says which):

- reference endmembers only (``"E"``): ``msad``, ``sad_em{k}``, ``weak_em_recall``,
  ``weak_msad`` and ``rmse_y``;
- reference abundances only (``"A"``): the abundance and weak-detection metrics and
  ``rmse_y``; estimated endmembers are matched to the true ones by their abundance maps
  (:func:`~hubench.metrics.alignment.align_abundances`);
- no reference (``"none"``): ``rmse_y`` only (the harness adds time and memory).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from hubench.errors import ParameterError, ValidationError
from hubench.metrics import weak as weak_metrics
from hubench.metrics.abundance import armse, rmse_linear, rmse_per_endmember, rmse_y, sre
from hubench.metrics.alignment import align, align_abundances, aligned_columns, identity_alignment
from hubench.metrics.endmember import sad_aligned
from hubench.metrics.library import library_metrics
from hubench.scene import Estimate, Scene

NAN = float("nan")


@dataclass(frozen=True)
class Evaluation:
    """The scores of one estimate on one scene.

    Attributes
    ----------
    metrics : dict of str to float
        Every scalar metric (``armse``, ``msad``, ..., ``rmse_em{k}``, ``sad_em{k}``,
        then ``weak_recall_em{k}``, ``weak_ap_em{k}`` for the weak ``k`` only).
    alignment : tuple of int, length p_true
        For each true endmember ``k``, the index of the matched estimated endmember,
        ``-1`` if none.
    per_endmember : dict of str to tuple of float
        ``rmse`` and ``sad`` per true endmember (length p_true).
    weak : tuple of bool
        Which true endmembers the scene marks weak.
    supervised : bool
        True when the estimate carried no endmembers (alignment is the identity).
    library : bool
        True for an estimate over the scene's library (its ``E`` is the library): the
        alignment is ``scene.library_index``, no SAD, and the ``lib_*`` metrics.
    tau, sad_threshold : float
        The detection and recovery thresholds used.
    """

    metrics: dict[str, float]
    alignment: tuple[int, ...]
    per_endmember: dict[str, tuple[float, ...]]
    weak: tuple[bool, ...] = ()
    supervised: bool = False
    tau: float = 0.05
    library: bool = False
    sad_threshold: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only (floats may be NaN/inf, which :mod:`json` writes as
        ``NaN``/``Infinity``)."""
        return {
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "alignment": [int(j) for j in self.alignment],
            "per_endmember": {k: [float(x) for x in v] for k, v in self.per_endmember.items()},
            "weak": [bool(w) for w in self.weak],
            "supervised": bool(self.supervised),
            "tau": float(self.tau),
            "sad_threshold": float(self.sad_threshold),
            "library": bool(self.library),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Inverse of :meth:`to_dict`."""
        return cls(
            metrics={k: float(v) for k, v in data["metrics"].items()},
            alignment=tuple(int(j) for j in data["alignment"]),
            per_endmember={k: tuple(float(x) for x in v) for k, v in data["per_endmember"].items()},
            weak=tuple(bool(w) for w in data.get("weak", ())),
            supervised=bool(data.get("supervised", False)),
            tau=float(data.get("tau", 0.05)),
            sad_threshold=float(data.get("sad_threshold", 0.2)),
            library=bool(data.get("library", False)),
        )


def _check_inputs(scene: Scene, estimate: Estimate, tau: float, sad_threshold: float) -> None:
    if not isinstance(scene, Scene):
        raise ValidationError(f"scene: expected a hubench Scene, got {type(scene).__name__}")
    if not isinstance(estimate, Estimate):
        raise ValidationError(f"estimate: expected a hubench Estimate, got {type(estimate).__name__}")
    if not (isinstance(tau, numbers.Real) and 0.0 < tau <= 1.0):
        raise ParameterError(f"tau: the presence threshold must be in (0, 1], got {tau!r}")
    if not (isinstance(sad_threshold, numbers.Real) and 0.0 <= sad_threshold <= math.pi):
        raise ParameterError(
            f"sad_threshold: must be an angle in [0, pi] radians, got {sad_threshold!r}"
        )
    n_pixels, p = scene.n_pixels, scene.n_endmembers
    if estimate.A.shape[0] != n_pixels:
        raise ValidationError(
            f"estimate A: has {estimate.A.shape[0]} pixels but the scene has {n_pixels}"
        )
    if estimate.E is None and estimate.A.shape[1] != p:
        raise ValidationError(
            f"estimate A: a supervised estimate (E=None) needs one column per true endmember "
            f"({p}), got {estimate.A.shape[1]}; return E as well to be aligned"
        )
    if estimate.E is not None and estimate.E.shape[1] != scene.n_bands:
        raise ValidationError(
            f"estimate E: has {estimate.E.shape[1]} bands but the scene has {scene.n_bands}"
        )
    if estimate.Y_hat is not None and estimate.Y_hat.shape != scene.Y.shape:
        raise ValidationError(
            f"estimate Y_hat: has shape {estimate.Y_hat.shape}, expected {scene.Y.shape} like Y"
        )


def evaluate(
    scene: Scene, estimate: Estimate, *, tau: float = 0.05, sad_threshold: float = 0.2
) -> Evaluation:
    """Align the estimate to the scene once, then compute every scalar metric.

    Parameters
    ----------
    scene : Scene
        The truth: ``A`` (n_pixels, p), ``E`` (p, n_bands), ``Y``, ``weak`` (p,).
    estimate : Estimate
        ``A`` (n_pixels, p_hat) and, for blind methods, ``E`` (p_hat, n_bands); ``p_hat``
        may differ from ``p``. ``E=None`` means supervised: the identity alignment.
    tau : float
        Presence threshold of the weak-detection metrics, in (0, 1].
    sad_threshold : float
        Largest SAD (radians) at which a weak endmember counts as recovered.

    Returns
    -------
    Evaluation
    """
    _check_inputs(scene, estimate, tau, sad_threshold)
    p = scene.n_endmembers
    supervised = estimate.E is None
    E_ref, A_ref = scene.E, scene.A
    library = is_library_estimate(scene, estimate)
    if library:
        # Each material's column is its atom's; the spectra are the library's, not the
        # method's, so no spectral angle is scored.
        alignment = tuple(int(j) for j in scene.library_index)  # type: ignore[union-attr]
    elif estimate.E is None:
        alignment = identity_alignment(p)
    elif E_ref is not None:
        alignment = align(E_ref, estimate.E)
    elif A_ref is not None:
        alignment = align_abundances(A_ref, estimate.A)
    else:  # nothing to match against: the estimate's own order
        alignment = tuple(k if k < estimate.A.shape[1] else -1 for k in range(p))
    if library or E_ref is None or estimate.E is None:
        sad_values = np.full(p, NAN)
    else:
        sad_values = sad_aligned(E_ref, estimate.E, alignment)
    # The reconstruction does not depend on the alignment: use the estimate as returned.
    if estimate.Y_hat is not None:
        reconstruction_error = rmse_y(scene.Y, estimate.Y_hat)
    else:
        E_used = E_ref if estimate.E is None else estimate.E
        reconstruction_error = NAN if E_used is None else rmse_linear(scene.Y, estimate.A, E_used)
    A_hat = aligned_columns(estimate.A, alignment)
    # Without reference abundances the abundance metrics do not apply: NaN columns.
    A = A_ref if A_ref is not None else np.full_like(A_hat, NAN)
    rmse_values = rmse_per_endmember(A, A_hat) if A_ref is not None else np.full(p, NAN)

    metrics: dict[str, float] = {
        "armse": armse(A, A_hat) if A_ref is not None else NAN,
        "msad": NAN if supervised or library or E_ref is None else float(np.mean(sad_values)),
        "sre": sre(A, A_hat) if A_ref is not None else NAN,
        "rmse_y": reconstruction_error,
    }
    matched = np.asarray(alignment) >= 0
    weak = _weak_metrics(A, A_hat, sad_values, matched, scene.weak, tau, sad_threshold,
                         has_abundances=A_ref is not None)
    if E_ref is None:  # matched by abundance maps: no spectral angle to judge recovery by
        weak.update(weak_em_recall=NAN, weak_msad=NAN)
    metrics.update(weak)
    for k in range(p):
        metrics[f"rmse_em{k}"] = float(rmse_values[k])
    for k in range(p):
        metrics[f"sad_em{k}"] = float(sad_values[k])
    metrics.update(_weak_per_endmember(A, A_hat, scene.weak, tau, has_abundances=A_ref is not None))
    if estimate.uncertainty is not None and A_ref is not None:  # an ensemble's or the method's own
        from hubench.metrics.uncertainty import estimate_uncertainty_metrics

        metrics.update(estimate_uncertainty_metrics(
            A_ref, estimate.A, estimate.uncertainty, alignment, scene.weak, tau))
    if library:
        metrics.update(library_metrics(
            scene.library_abundances(), estimate.A, scene.library_index, scene.weak, tau  # type: ignore[arg-type]
        ))
    return Evaluation(
        metrics=metrics,
        alignment=alignment,
        per_endmember={
            "rmse": tuple(float(x) for x in rmse_values),
            "sad": tuple(float(x) for x in sad_values),
        },
        weak=tuple(bool(w) for w in scene.weak),
        supervised=supervised,
        tau=float(tau),
        sad_threshold=float(sad_threshold),
        library=library,
    )


def is_library_estimate(scene: Scene, estimate: Estimate) -> bool:
    """True when ``estimate`` is over ``scene``'s library: its ``E`` is the library."""
    return (
        scene.library is not None
        and estimate.E is not None
        and estimate.E.shape == scene.library.shape
        and bool(np.array_equal(estimate.E, scene.library))
    )


#: Metrics that need reference endmembers (``E``) only; the other quality metrics but
#: ``rmse_y`` need reference abundances (``A``).
NEEDS_ENDMEMBERS = ("msad", "sad_em", "weak_em_recall", "weak_msad")
#: Metrics that need no reference at all.
REFERENCE_FREE = ("rmse_y", "fit_seconds", "peak_mem_mb")


def needs(metric: str) -> str:
    """What reference a metric column needs: ``"E"``, ``"A"`` or ``""`` (none).

    ``sad_em3`` is read as its family ``sad_em``; unknown names are taken to need ``A``.
    """
    family = metric.rstrip("0123456789")
    if metric in REFERENCE_FREE:
        return ""
    if metric in NEEDS_ENDMEMBERS or family in NEEDS_ENDMEMBERS:
        return "E"
    return "A"


def applies(metric: str, reference: str) -> bool:
    """Whether ``metric`` can be scored on a scene whose :attr:`~hubench.Scene.reference`
    is ``reference`` (``"A+E"``, ``"E"``, ``"A"`` or ``"none"``)."""
    need = needs(metric)
    return not need or need in reference.split("+")


WEAK_METRICS = (
    "weak_recall",
    "weak_precision",
    "weak_f1",
    "weak_ap",
    "weak_em_recall",
    "weak_armse",
    "weak_msad",
    "weak_recall_macro",
    "weak_precision_macro",
    "weak_f1_macro",
    "weak_ap_macro",
)


def _weak_metrics(
    A: np.ndarray,
    A_hat: np.ndarray,
    sad_values: np.ndarray,
    matched: np.ndarray,
    weak: np.ndarray,
    tau: float,
    sad_threshold: float,
    *,
    has_abundances: bool = True,
) -> dict[str, float]:
    """The ``weak_*`` metrics over the weak columns; all NaN when none is weak. Without
    reference abundances only the endmember ones (``weak_em_recall``, ``weak_msad``)."""
    if not np.any(weak):
        return dict.fromkeys(WEAK_METRICS, NAN)
    sad_w = sad_values[weak]
    if not has_abundances:
        out = dict.fromkeys(WEAK_METRICS, NAN)
        if np.all(np.isfinite(sad_w)):
            out["weak_em_recall"] = weak_metrics.em_recall(sad_w, sad_threshold, matched[weak])
            out["weak_msad"] = float(np.mean(sad_w))
        return out
    A_w, A_hat_w = A[:, weak], A_hat[:, weak]
    counts = weak_metrics.detection_counts(A_w, A_hat_w, tau)
    recall = weak_metrics.recall(counts)
    precision = weak_metrics.precision(counts)
    per_em = weak_metrics.per_endmember_detection(A_w, A_hat_w, tau)
    return {
        "weak_recall": recall,
        "weak_precision": precision,
        "weak_f1": weak_metrics.f1(precision, recall),
        "weak_ap": weak_metrics.average_precision(A_hat_w.ravel(), A_w.ravel() >= tau),
        "weak_em_recall": weak_metrics.em_recall(sad_w, sad_threshold, matched[weak]),
        "weak_armse": armse(A_w, A_hat_w),
        "weak_msad": float(np.mean(sad_w)),
        "weak_recall_macro": weak_metrics.macro_mean([d.recall for d in per_em]),
        "weak_precision_macro": weak_metrics.macro_mean([d.precision for d in per_em]),
        "weak_f1_macro": weak_metrics.macro_mean([d.f1 for d in per_em]),
        "weak_ap_macro": weak_metrics.macro_mean([d.ap for d in per_em]),
    }


def _weak_per_endmember(
    A: np.ndarray, A_hat: np.ndarray, weak: np.ndarray, tau: float, *, has_abundances: bool = True
) -> dict[str, float]:
    """``weak_recall_em{k}`` and ``weak_ap_em{k}`` for each weak true endmember ``k``."""
    indices = [int(k) for k in np.flatnonzero(weak)]
    if not has_abundances:
        return {f"{family}_em{k}": NAN for family in ("weak_recall", "weak_ap") for k in indices}
    per_em = weak_metrics.per_endmember_detection(A[:, indices], A_hat[:, indices], tau)
    out = {f"weak_recall_em{k}": d.recall for k, d in zip(indices, per_em, strict=True)}
    out.update({f"weak_ap_em{k}": d.ap for k, d in zip(indices, per_em, strict=True)})
    return out


def score(
    scene: Scene, estimate: Estimate, *, tau: float = 0.05, sad_threshold: float = 0.2
) -> dict[str, float]:
    """Every scalar metric as a flat dict: ``evaluate(...).metrics``."""
    return evaluate(scene, estimate, tau=tau, sad_threshold=sad_threshold).metrics
