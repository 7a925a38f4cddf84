"""The one training loop every deep method uses, its stopping rule and its learning curve.

One epoch = one pass over the batches a method yields; after every optimiser step the
method's constraints are re-imposed (e.g. non-negative decoder weights), the gradient
norm is clipped first when asked. The epoch's loss is the mean of its step losses;
the learning-rate schedule steps once per epoch.

Stopping (:class:`StoppingRule`, no ground truth): training ends when the training
loss, smoothed over ``window`` epochs, has not improved by more than ``tol`` (relative)
for ``window`` epochs (``training_converged``), or at the cap of ``epochs``.

Learning curve (:func:`checkpoint_every`): at epoch 0 (before any step), every ``k``
epochs and at the last epoch the loop records the epoch, the seconds of training so
far (checkpoint work excluded) and the epoch's loss (none at epoch 0); with a ``checkpoint`` callback
(the harness's scorer, which alone sees the reference) it adds what the callback
returns (e.g. ``armse``, ``msad``, ``weak_ap`` of the current estimate).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hubench.deep.flat import is_flat

ProgressHook = Callable[[int, int, float], None]
"""``progress(epoch, n_epochs, loss)``: called after every epoch (``epoch`` from 1)."""

CheckpointHook = Callable[[], Mapping[str, float]]
"""``checkpoint()``: scores of the network's current estimate (called in eval mode,
under ``no_grad``); the loop puts the network back in train mode afterwards."""

#: About this many checkpoints per run by default, whatever the budget (plus epoch 0).
CHECKPOINTS = 20


def checkpoint_every(epochs: int, points: int = CHECKPOINTS) -> int:
    """Epochs between two learning-curve checkpoints: ``max(1, ceil(epochs / points))``.

    About ``points`` checkpoints whatever the cap (plus epoch 0 and the last epoch), so
    scoring costs a fixed share of training: ``points`` forward passes of the whole
    image and scorings, against ``epochs`` epochs. A method whose forward pass is dear
    against an epoch (DEQ-Unmix's fixed-point solve) asks for fewer points.
    """
    return max(1, math.ceil(epochs / max(1, points)))


@dataclass(frozen=True)
class StoppingRule:
    """Stop when the training loss has stopped improving; uses no ground truth.

    The loss is smoothed by its mean over the last ``window`` epochs, ``s_t``. An epoch
    improves when ``s_t`` falls below the best smoothed loss so far by more than ``tol``
    of it (``s_t < (1 - tol) * best``). Converged at epoch ``t >= 2 * window`` when no
    epoch of the last ``window`` improved. Window means smooth the epoch-to-epoch noise of
    mini-batch losses; the test is one-sided, so a noisy loss that keeps making new lows
    trains on, and a chance near-equality of two window means does not stop it; the
    change is relative, so one ``tol`` fits a SAD loss in radians and an MSE alike. A
    loss that rises for a whole window also stops (no improvement). ``tol=0`` never
    stops (train to the cap).
    """

    tol: float
    window: int

    def converged(self, losses: Sequence[float]) -> bool:
        """Whether the rule holds after the last of ``losses`` (one per epoch)."""
        w, n = self.window, len(losses)
        if self.tol <= 0 or w < 1 or n < 2 * w:
            return False
        total = math.fsum(losses[:w])
        best, improved = total / w, w
        for t in range(w + 1, n + 1):  # s_t over epochs t-w+1 .. t (1-based)
            total += losses[t - 1] - losses[t - 1 - w]
            smoothed = total / w
            if smoothed < (1.0 - self.tol) * best:
                best, improved = smoothed, t
        return n - improved >= w


@dataclass
class TrainResult:
    """What the loop reports: per-epoch losses, epochs run, whether the stopping rule
    ended it (``converged``; False = the cap), the learning curve and its cost."""

    loss_history: list[float] = field(default_factory=list)
    epochs: int = 0
    converged: bool = False
    seconds: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)
    checkpoint_seconds: float = 0.0


def train(
    network: nn.Module,
    *,
    batches: Callable[[int], Iterable[Any]],
    loss_fn: Callable[[Any, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    epochs: int,
    stopping: StoppingRule,
    grad_clip: float | None = None,
    constrain: Callable[[], None] | None = None,
    progress: ProgressHook | None = None,
    checkpoint: CheckpointHook | None = None,
    checkpoints: int = CHECKPOINTS,
) -> TrainResult:
    """Train ``network`` in place and return its loss history and learning curve.

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
        The cap on epochs.
    stopping : StoppingRule
        The convergence rule on the loss.
    grad_clip : float or None
        Clip the global gradient norm to this value before each step.
    constrain : callable or None
        Called under ``no_grad`` after every optimiser step (projection onto the
        feasible set, e.g. clamping decoder weights to be non-negative).
    progress : callable or None
        ``progress(epoch, epochs, loss)`` after every epoch.
    checkpoint : callable or None
        ``checkpoint()`` at each learning-curve checkpoint (:func:`checkpoint_every`),
        in eval mode under ``no_grad``; its scores join the curve's entry. It must not
        touch the optimiser or a random generator, so training is the same with or
        without it.
    checkpoints : int
        About how many checkpoints (:func:`checkpoint_every`).

    Raises
    ------
    FloatingPointError
        The loss became NaN or infinite; the message names the epoch and suggests a
        smaller learning rate.
    """
    result = TrainResult()
    every = checkpoint_every(epochs, checkpoints)
    start = time.perf_counter()
    flat = is_flat(optimizer)  # packed groups: zero the gradients in place, clip the packs
    if flat:
        params = [p for group in optimizer.param_groups for p in group["params"]]
    else:
        params = [p for p in network.parameters() if p.requires_grad]

    def record(epoch: int, loss: float | None) -> None:
        tick = time.perf_counter()
        entry = {"epoch": float(epoch), "seconds": tick - start - result.checkpoint_seconds}
        if loss is not None:
            entry["loss"] = loss
        if checkpoint is not None:
            network.eval()
            with torch.no_grad():
                entry.update((str(k), float(v)) for k, v in checkpoint().items())
            network.train()
        result.curve.append(entry)
        result.checkpoint_seconds += time.perf_counter() - tick

    network.train()
    record(0, None)  # the start: no loss yet
    for epoch in range(epochs):
        total, steps = 0.0, 0
        for batch in batches(epoch):
            optimizer.zero_grad(set_to_none=not flat)
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
        result.converged = stopping.converged(result.loss_history)
        if result.converged or epoch + 1 == epochs or (epoch + 1) % every == 0:
            record(epoch + 1, epoch_loss)
        if result.converged:
            break
    network.eval()
    result.seconds = time.perf_counter() - start - result.checkpoint_seconds
    return result
