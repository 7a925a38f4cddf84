"""Shared torch machinery for deep unmixing methods.

A deep method subclasses :class:`DeepMethod` and provides its network (an
:class:`UnmixingNetwork`), its loss and its hyperparameters; everything else (device,
seeding, determinism, training loop, early stopping, timing, peak memory, progress,
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
from hubench.deep.training import EarlyStopping, ProgressHook, TrainResult, train
from hubench.memory import PeakMemory

__all__ = [
    "SHARED_PARAMS",
    "DeepMethod",
    "EarlyStopping",
    "LinearDecoder",
    "PeakMemory",
    "ProgressHook",
    "TrainResult",
    "UnmixingNetwork",
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
