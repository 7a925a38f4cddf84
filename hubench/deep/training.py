"""The one training loop every deep method uses.

One epoch = one pass over the batches a method yields; after every optimiser step the
method's constraints are re-imposed (e.g. non-negative decoder weights), the gradient
norm is clipped first when asked. The epoch's loss is the mean of its step losses;
the learning-rate schedule steps once per epoch; training stops early when the epoch
loss has not improved by at least ``min_delta`` for ``patience`` epochs in a row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

ProgressHook = Callable[[int, int, float], None]
"""``progress(epoch, n_epochs, loss)``: called after every epoch (``epoch`` from 1)."""


@dataclass
class EarlyStopping:
    """Stop when the loss has not improved by ``min_delta`` for ``patience`` epochs.

    ``patience=0`` never stops. ``min_delta`` is absolute, in the loss's own units
    (radians for a SAD loss).
    """

    patience: int
    min_delta: float
    best: float = math.inf
    stale_epochs: int = 0

    def update(self, loss: float) -> bool:
        """Record one epoch's loss; return True when training should stop."""
        if loss < self.best - self.min_delta:
            self.best = loss
            self.stale_epochs = 0
            return False
        self.best = min(self.best, loss)
        self.stale_epochs += 1
        return self.patience > 0 and self.stale_epochs >= self.patience


@dataclass
class TrainResult:
    """What the loop reports: per-epoch losses, epochs run, why it stopped, seconds."""

    loss_history: list[float] = field(default_factory=list)
    epochs: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


def train(
    network: nn.Module,
    *,
    batches: Callable[[int], Iterable[Any]],
    loss_fn: Callable[[Any, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    epochs: int,
    early_stopping: EarlyStopping,
    grad_clip: float | None = None,
    constrain: Callable[[], None] | None = None,
    progress: ProgressHook | None = None,
) -> TrainResult:
    """Train ``network`` in place and return its loss history.

    Parameters
    ----------
    network : nn.Module
        Put in train mode for the loop; left in eval mode at the end.
    batches : callable
        ``batches(epoch)`` yields the batches of one epoch (0-based epoch index).
    loss_fn : callable
        ``loss_fn(network, batch)`` returns a scalar tensor to minimise.
    optimizer, scheduler
        A torch optimiser and an optional LR scheduler, stepped once per epoch
        (``ReduceLROnPlateau`` is given the epoch loss).
    epochs : int
        Maximum number of epochs.
    early_stopping : EarlyStopping
        The plateau rule.
    grad_clip : float or None
        Clip the global gradient norm to this value before each step.
    constrain : callable or None
        Called under ``no_grad`` after every optimiser step (projection onto the
        feasible set, e.g. clamping decoder weights to be non-negative).
    progress : callable or None
        ``progress(epoch, epochs, loss)`` after every epoch.

    Raises
    ------
    FloatingPointError
        The loss became NaN or infinite; the message names the epoch and suggests a
        smaller learning rate.
    """
    result = TrainResult()
    start = time.perf_counter()
    params = [p for p in network.parameters() if p.requires_grad]
    network.train()
    for epoch in range(epochs):
        total, steps = 0.0, 0
        for batch in batches(epoch):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network, batch)
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(params, grad_clip)
            optimizer.step()
            if constrain is not None:
                with torch.no_grad():
                    constrain()
            total += float(loss.detach())
            steps += 1
        epoch_loss = total / max(steps, 1)
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(
                f"training diverged: the loss is {epoch_loss} at epoch {epoch + 1}; "
                "lower the learning rate (lr) or set grad_clip"
            )
        result.loss_history.append(epoch_loss)
        result.epochs = epoch + 1
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(epoch_loss)
            else:
                scheduler.step()
        if progress is not None:
            progress(epoch + 1, epochs, epoch_loss)
        if early_stopping.update(epoch_loss):
            result.stopped_early = epoch + 1 < epochs
            break
    network.eval()
    result.seconds = time.perf_counter() - start
    return result
