"""Shared torch machinery for deep unmixing methods.

A deep method subclasses :class:`DeepMethod` and provides its network (an
:class:`UnmixingNetwork`), its loss and its hyperparameters; everything else (device,
seeding, determinism, training loop, its stopping rule and learning curve, timing, peak memory, progress,
the returned Estimate) lives here. See ``docs/dev/deep-methods.md``.
"""

from __future__ import annotations

from hubench.deep.base import (
    SHARED_PARAMS,
    DeepMethod,
    decoder_param_groups,
    iterate_batches,
    to_simplex,
)
from hubench.deep.device import resolve_device, resolve_seed, seeded
from hubench.deep.layers import LinearDecoder, UnmixingNetwork, pad2d
from hubench.deep.losses import sad_loss, spectral_angle
from hubench.deep.training import ProgressHook, StoppingRule, TrainResult, checkpoint_every, train
from hubench.memory import PeakMemory

__all__ = [
    "SHARED_PARAMS",
    "DeepMethod",
    "LinearDecoder",
    "PeakMemory",
    "ProgressHook",
    "StoppingRule",
    "TrainResult",
    "UnmixingNetwork",
    "checkpoint_every",
    "decoder_param_groups",
    "iterate_batches",
    "pad2d",
    "resolve_device",
    "resolve_seed",
    "sad_loss",
    "seeded",
    "spectral_angle",
    "to_simplex",
    "train",
]
