"""``DeepMethod``: the torch base every deep unmixing method derives from.

It owns, once, what each deep method needs: device choice, seeding and deterministic
kernels, the float32 copy of ``Y`` on the device, the decoder's initial endmembers
(VCA or random), the training loop (early stopping, LR schedule, gradient clipping,
projection after each step), per-epoch loss history, wall time, peak memory, progress
reporting, and turning the trained network into an :class:`~hubench.scene.Estimate`
(float64 abundances on the simplex). A method module then holds only its network,
its loss and its hyperparameters; see ``docs/deep-methods.md`` for a worked example.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from hubench.deep.device import DEVICE_RULE, resolve_device, resolve_seed, seeded
from hubench.deep.layers import UnmixingNetwork
from hubench.deep.training import EarlyStopping, ProgressHook, train
from hubench.memory import PeakMemory
from hubench.method import Method
from hubench.params import Choice, Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.vca import vca

INITS = ("vca", "random")


class DeepMethod(Method):
    """Base class of torch methods; subclasses implement the four hooks below.

    Hooks
    -----
    ``build_network(observation, E_init)``
        Return an :class:`~hubench.deep.layers.UnmixingNetwork`; ``E_init`` is a
        ``(n_endmembers, n_bands)`` float32 tensor on the device.
    ``loss(network, batch)``
        Scalar training loss of one batch.
    ``prepare_data(Y, observation)`` (optional)
        What the network reads: by default ``Y`` itself, ``(n_pixels, n_bands)``.
    ``batches(data, generator)`` (optional)
        The batches of one epoch: by default shuffled row blocks of ``batch_size``.
    ``make_optimizer`` / ``make_scheduler`` (optional)
        RMSprop(lr) and StepLR(lr_step, lr_gamma) unless overridden. A decoder with a
        learning rate of its own: hyperparameter ``decoder_lr_scale`` and
        :func:`decoder_param_groups` (the decoder learns at ``lr * decoder_lr_scale``).

    Hyperparameters: the shared ones have their rules in ``param_rules`` below; a
    subclass declares rules for its own in its ``param_rules`` (they are merged, see
    :meth:`Method.rules`) and puts checks that need several values in
    :meth:`check_param_combinations` (calling ``super()`` first).

    Attributes
    ----------
    progress : callable or None
        Not a hyperparameter: set it after construction to
        ``progress(epoch, n_epochs, loss)`` to follow training.
    """

    requires: ClassVar[tuple[str, ...]] = ("torch",)
    progress: ProgressHook | None = None
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "epochs": Int(min=1),
        "batch_size": Int(min=1),
        "lr": Real(0, open_lo=True),
        "lr_step": Int(min=0, hint="(0 = constant LR)"),
        "lr_gamma": Real(0, open_lo=True),
        "grad_clip": Real(0, open_lo=True, none_ok="no clipping"),
        "patience": Int(min=0, hint="(0 = never stop early)"),
        "min_delta": Real(0),
        "init": Choice(*INITS),
        "device": DEVICE_RULE,
        "random_state": Int(none_ok="a fresh seed"),
    }

    def __init__(
        self,
        *,
        epochs: int,
        batch_size: int,
        lr: float,
        lr_step: int,
        lr_gamma: float,
        grad_clip: float | None,
        patience: int,
        min_delta: float,
        init: str,
        device: str,
        random_state: int | None,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_step = lr_step
        self.lr_gamma = lr_gamma
        self.grad_clip = grad_clip
        self.patience = patience
        self.min_delta = min_delta
        self.init = init
        self.device = device
        self.random_state = random_state

    # ---- hooks a method implements ---------------------------------------------------
    def build_network(self, observation: Observation, E_init: torch.Tensor) -> UnmixingNetwork:
        raise NotImplementedError

    def loss(self, network: UnmixingNetwork, batch: Any) -> torch.Tensor:
        raise NotImplementedError

    def prepare_data(self, Y: torch.Tensor, observation: Observation) -> torch.Tensor:
        return Y

    def batches(self, data: torch.Tensor, generator: torch.Generator) -> Iterable[Any]:
        return iterate_batches(data, self.batch_size, generator)

    def make_optimizer(self, network: UnmixingNetwork) -> torch.optim.Optimizer:
        return torch.optim.RMSprop(network.parameters(), lr=self.lr)

    def make_scheduler(self, optimizer: torch.optim.Optimizer) -> Any | None:
        if self.lr_step <= 0:
            return None
        return torch.optim.lr_scheduler.StepLR(optimizer, self.lr_step, gamma=self.lr_gamma)

    @classmethod
    def check_param_combinations(cls, params: Mapping[str, Any]) -> None:
        """A named device must exist here: ``device="cuda"`` without a GPU is refused
        (:class:`~hubench.errors.UnavailableError`), as :func:`resolve_device` does at fit."""
        super().check_param_combinations(params)
        if "device" in params:
            resolve_device(params["device"])

    # ---- shared machinery ------------------------------------------------------------
    def initial_endmembers(self, observation: Observation, seed: int) -> np.ndarray:
        """Decoder initialisation, ``(n_endmembers, n_bands)``, non-negative.

        ``init="vca"``: the endmembers VCA extracts (real pixels, so with the data's
        scale). ``init="random"``: uniform on ``[0, 1)`` per entry, each spectrum scaled
        to the mean norm of the pixels.
        """
        p = observation.n_endmembers
        if self.init == "vca":
            # The vertex search with the ``vca`` method's defaults (snr_input=None,
            # n_restarts=1, endmember_source="projected"): the same endmembers that
            # ``get_method("vca", random_state=seed).fit(observation).E`` returns,
            # without the FCLS abundances that the method adds and this would discard.
            found = vca(observation.Y, p, random_state=seed)
            return np.clip(found.E, 0.0, None)
        rng = np.random.default_rng(seed)
        E = rng.random((p, observation.n_bands))
        scale = np.linalg.norm(observation.Y, axis=1).mean()
        return E * (scale / np.linalg.norm(E, axis=1, keepdims=True))

    def _fit(self, observation: Observation) -> Estimate:
        device = resolve_device(self.device)
        seed = resolve_seed(self.random_state)
        start = time.perf_counter()
        with seeded(seed, device), PeakMemory(device) as memory:
            E_init = self.initial_endmembers(observation, seed)
            Y = torch.as_tensor(observation.Y, dtype=torch.float32, device=device)
            data = self.prepare_data(Y, observation)
            network = self.build_network(
                observation, torch.as_tensor(E_init, dtype=torch.float32, device=device)
            ).to(device)
            optimizer = self.make_optimizer(network)
            generator = torch.Generator().manual_seed(seed)
            result = train(
                network,
                batches=lambda _epoch: self.batches(data, generator),
                loss_fn=self.loss,
                optimizer=optimizer,
                scheduler=self.make_scheduler(optimizer),
                epochs=self.epochs,
                early_stopping=EarlyStopping(self.patience, float(self.min_delta)),
                grad_clip=self.grad_clip,
                constrain=network.constrain_,
                progress=self.progress,
            )
            with torch.no_grad():
                A = network.abundances(data).double().cpu().numpy()
                E = network.endmembers().double().cpu().numpy()
                Y_hat_t = network.reconstruction(data)
                Y_hat = None if Y_hat_t is None else Y_hat_t.double().cpu().numpy()
        info = {
            "loss_history": result.loss_history,
            "epochs": result.epochs,
            "stopped_early": result.stopped_early,
            "final_loss": result.loss_history[-1] if result.loss_history else None,
            "device": str(device),
            "seed": seed,
            "init": self.init,
            "train_seconds": result.seconds,
            "wall_seconds": time.perf_counter() - start,
            "peak_mem_mb": memory.peak_mb,
            "n_parameters": sum(p.numel() for p in network.parameters()),
        }
        return Estimate(A=to_simplex(A), E=E, Y_hat=Y_hat, info=info)


def to_simplex(A: np.ndarray) -> np.ndarray:
    """Clip tiny negatives and renormalise rows, in float64: ``(n, p) -> (n, p)``.

    A network's abundance head already satisfies ANC/ASC up to float32 rounding; this
    makes it hold to float64 precision. An all-zero row becomes uniform.
    """
    A = np.clip(np.asarray(A, dtype=np.float64), 0.0, None)
    sums = A.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    A[empty] = 1.0
    sums[empty] = A.shape[1]
    return A / sums


def decoder_param_groups(
    network: torch.nn.Module, lr: float, decoder_lr_scale: float, decoder: str = "decoder"
) -> list[dict[str, Any]]:
    """Optimiser parameter groups ``[everything else, decoder]``: the decoder learns at
    ``lr * decoder_lr_scale``, everything else at ``lr``.

    The one way a deep method gives its decoder (its endmembers) a learning rate of its
    own: the hyperparameter ``decoder_lr_scale`` and this helper, whatever the optimiser
    (``torch.optim.RMSprop(decoder_param_groups(...))``, ``Adam``, ``AdamW``, ...).
    ``decoder`` is the decoder's path in ``network.named_parameters()``: the parameter
    of that name (CNNAEU's kernel ``"decoder"``, DEQ-Unmix's ``"layer.M"``) or every
    parameter of the submodule of that name (``"decoder"`` matches ``decoder.weight``,
    not ``decoder_gate.weight``). Raises ``ValueError`` when nothing matches.

    A VCA-initialised decoder is already close to the answer while the encoder starts
    from random weights; a smaller decoder rate lets the encoder catch up before the
    endmembers move. RMSprop has no bias correction, so its first steps are about
    ``10 * lr`` per weight, which is large against reflectances of order 0.1-1.
    """
    named = list(network.named_parameters())
    inside = [name == decoder or name.startswith(decoder + ".") for name, _ in named]
    if not any(inside):
        raise ValueError(f"{type(network).__name__} has no parameter {decoder!r} or under it")
    others = [p for (_, p), dec in zip(named, inside, strict=True) if not dec]
    decoder_params = [p for (_, p), dec in zip(named, inside, strict=True) if dec]
    return [{"params": others, "lr": lr}, {"params": decoder_params, "lr": lr * decoder_lr_scale}]


def iterate_batches(data: torch.Tensor, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Shuffled row blocks of ``data`` (``(n, ...)``), the last one possibly smaller.

    A last block of a single row is merged into the one before: batch normalisation
    cannot train on one sample.
    """
    order = torch.randperm(data.shape[0], generator=generator).to(data.device)
    blocks = list(torch.split(order, batch_size))
    if len(blocks) > 1 and blocks[-1].numel() == 1:
        blocks[-2:] = [torch.cat(blocks[-2:])]
    for idx in blocks:
        yield data[idx]


def crop_windows(image: torch.Tensor, top: torch.Tensor, left: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Windows of ``image`` ``(C, H, W)``: ``(n, C, height, width)``, window ``i`` at
    ``(top[i], left[i])``.

    Slices, stacked: much cheaper than one advanced-indexing gather of every pixel (a
    loop over the few windows of a batch, not over pixels).
    """
    return torch.stack(
        [image[:, t : t + height, s : s + width] for t, s in zip(top.tolist(), left.tolist(), strict=True)]
    )
