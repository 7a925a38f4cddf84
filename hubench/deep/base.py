"""``DeepMethod``: the torch base every deep unmixing method derives from.

It owns, once, what each deep method needs: device choice, seeding and deterministic
kernels, the float32 copy of ``Y`` on the device, the decoder's initial endmembers
(VCA or random), the training loop (early stopping, LR schedule, gradient clipping,
projection after each step), per-epoch loss history, wall time, peak memory, progress
reporting, and turning the trained network into an :class:`~hubench.scene.Estimate`
(float64 abundances on the simplex). A method module then holds only its network,
its loss and its hyperparameters; see ``docs/dev/deep-methods.md`` for a worked example.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from hubench.deep.device import DEVICE_RULE, resolve_device, resolve_seed, seeded
from hubench.deep.layers import UnmixingNetwork
from hubench.deep.training import CHECKPOINTS, CheckpointHook, ProgressHook, StoppingRule, train
from hubench.memory import PeakMemory
from hubench.method import Method
from hubench.params import Choice, Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.vca import vca

INITS = ("vca", "random")

Scorer = Callable[[Estimate], Mapping[str, float]]
"""``scorer(estimate)``: quality of an estimate against a reference (the harness's; a
method never sees the reference itself, only these scores on its learning curve)."""

#: The hyperparameters every deep method has, in this order. Their types are the
#: annotations of :class:`DeepMethod`, their rules its ``param_rules``, their defaults
#: its ``shared_defaults`` merged with the method's.
SHARED_PARAMS = (
    "epochs", "batch_size", "lr", "lr_step", "lr_gamma", "grad_clip", "stop_tol",
    "stop_window", "init", "device", "random_state",
)


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

    Hyperparameters
    ---------------
    The shared ones (:data:`SHARED_PARAMS`: ``epochs``, ``batch_size``, ``lr``,
    ``lr_step``, ``lr_gamma``, ``grad_clip``, ``stop_tol``, ``stop_window``, ``init``,
    ``device``, ``random_state``) are declared here once: their types (the annotations
    below), rules (``param_rules``) and defaults (``shared_defaults``). A subclass writes

    ``shared_defaults``
        Its defaults for the shared ones: ``epochs``, ``batch_size`` and ``lr`` (they
        have none here), and any other whose default differs from this class's
        (``lr_step=0``, ``lr_gamma=0.5``, ``grad_clip=None``, ``stop_tol=1e-3``,
        ``stop_window=10``, ``init="vca"``, ``device="auto"``, ``random_state=None``).
        Merged along the class hierarchy, like ``param_rules``.
    ``shared_fixed`` (rarely)
        Shared ones that are not hyperparameters of the method, with the value they
        always hold (DEQ-Unmix: ``{"batch_size": 1}``, the image is the one batch).
    ``__init__(self, *, <its own hyperparameters, with defaults>, **shared)``
        Stores its own under their names and passes ``**shared`` on to
        ``super().__init__``; a method with no hyperparameters of its own needs none.
    ``param_rules``
        One rule per hyperparameter of its own (merged with these, see
        :meth:`Method.rules`); checks that need several values go in
        :meth:`check_param_combinations` (calling ``super()`` first).

    When the subclass is created, :meth:`__init_subclass__` gives its ``__init__`` the
    complete signature (its ``__signature__``): ``self``, every shared hyperparameter
    (keyword-only, with the subclass's default), then its own (and those of a deep
    method it derives from). So ``inspect.signature`` and everything built on it
    (:meth:`Method.param_names`, :meth:`Method.defaults`, ``get_params``, ``repr``,
    the presets' and rules' checks, the driver) see every hyperparameter as if it were
    written out; at a call, :meth:`__init__` here stores the shared ones given, the
    defaults for the others, and refuses an unknown name with ``TypeError``.

    Attributes
    ----------
    progress : callable or None
        Not a hyperparameter: set it after construction to
        ``progress(epoch, n_epochs, loss)`` to follow training.
    scorer : callable or None
        Not a hyperparameter: the harness sets it to ``scorer(estimate) -> {metric:
        value}`` (scores against its reference) to record quality on the learning
        curve (``info["learning_curve"]``); the estimate scored at a checkpoint is the
        method's usual output at that point of training.
    """

    requires: ClassVar[tuple[str, ...]] = ("torch",)
    # An ensemble of a deep method varies its random start and batches (hubench.ensemble).
    ensemble_mode: ClassVar[str] = "seeds"
    progress: ProgressHook | None = None
    scorer: Scorer | None = None
    #: About how many learning-curve checkpoints a fit records (see
    #: :func:`~hubench.deep.training.checkpoint_every`); fewer where a forward pass of
    #: the whole image is dear against an epoch.
    curve_points: ClassVar[int] = CHECKPOINTS
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "epochs": Int(min=1),
        "batch_size": Int(min=1),
        "lr": Real(0, open_lo=True),
        "lr_step": Int(min=0, hint="(0 = constant LR)"),
        "lr_gamma": Real(0, open_lo=True),
        "grad_clip": Real(0, open_lo=True, none_ok="no clipping"),
        "stop_tol": Real(0, hint="(relative improvement of the smoothed loss; 0 = train to the epochs cap)"),
        "stop_window": Int(min=1),
        "init": Choice(*INITS),
        "device": DEVICE_RULE,
        "random_state": Int(none_ok="a fresh seed"),
    }
    shared_defaults: ClassVar[Mapping[str, Any]] = {
        "lr_step": 0, "lr_gamma": 0.5, "grad_clip": None, "stop_tol": 1e-3, "stop_window": 10,
        "init": "vca", "device": "auto", "random_state": None,
    }
    shared_fixed: ClassVar[Mapping[str, Any]] = {}
    #: The method's own hyperparameters (its ``__init__``'s and its deep bases'), in order.
    own_params: ClassVar[tuple[inspect.Parameter, ...]] = ()

    # The shared hyperparameters, stored by __init__ (SHARED_PARAMS, the same order).
    epochs: int
    batch_size: int
    lr: float
    lr_step: int
    lr_gamma: float
    grad_clip: float | None
    stop_tol: float
    stop_window: int
    init: str
    device: str
    random_state: int | None

    def __init__(self, **shared: Any) -> None:
        """Store the shared hyperparameters: those given, the class's defaults for the rest."""
        cls = type(self)
        defaults, fixed = cls.shared_values()
        unknown = [name for name in shared if name not in SHARED_PARAMS or name in fixed]
        if unknown:
            raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {unknown[0]!r}")
        values = {**fixed, **defaults, **shared}
        missing = [name for name in SHARED_PARAMS if name not in values]
        if missing:
            raise TypeError(f"{cls.__name__}.__init__() missing required keyword-only argument(s) {missing}")
        for name in SHARED_PARAMS:
            setattr(self, name, values[name])

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give the subclass's ``__init__`` the complete signature (see the class docstring)."""
        super().__init_subclass__(**kwargs)
        for attribute in ("shared_defaults", "shared_fixed"):
            stray = [name for name in vars(cls).get(attribute, {}) if name not in SHARED_PARAMS]
            if stray:
                raise TypeError(f"{cls.__qualname__}.{attribute}: {stray} are not shared hyperparameters "
                                f"({', '.join(SHARED_PARAMS)})")
        own = {p.name: p for p in cls.own_params}  # a deep base's, inherited
        init: Any = vars(cls).get("__init__")
        if init is None:
            init = _forwarding_init(cls)
            cls.__init__ = init  # type: ignore[method-assign]
        else:
            own.update((p.name, p) for p in _own_parameters(cls, init))
        cls.own_params = tuple(own.values())
        init.__signature__ = cls._full_signature(inspect.signature(init).return_annotation)

    @classmethod
    def shared_values(cls) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(defaults, fixed)``: the shared hyperparameters with their defaults here, and
        the shared names that are not hyperparameters with their values
        (``shared_defaults`` and ``shared_fixed`` merged along the class hierarchy)."""
        defaults: dict[str, Any] = {}
        fixed: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            defaults.update(vars(klass).get("shared_defaults", {}))
            fixed.update(vars(klass).get("shared_fixed", {}))
        return {name: value for name, value in defaults.items() if name not in fixed}, fixed

    @classmethod
    def _full_signature(cls, return_annotation: Any) -> inspect.Signature:
        """``(self, *, <shared, with this class's defaults>, <own>)``."""
        defaults, fixed = cls.shared_values()
        annotations = inspect.get_annotations(DeepMethod)
        shared = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotations[name],
                              default=defaults.get(name, inspect.Parameter.empty))
            for name in SHARED_PARAMS if name not in fixed
        ]
        self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return inspect.Signature([self_param, *shared, *cls.own_params], return_annotation=return_annotation)

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
            scorer = self.scorer
            checkpoint: CheckpointHook | None = None
            if scorer is not None:
                def checkpoint() -> Mapping[str, float]:
                    return scorer(self.checkpoint_estimate(network, data))
            result = train(
                network,
                batches=lambda _epoch: self.batches(data, generator),
                loss_fn=self.loss,
                optimizer=optimizer,
                scheduler=self.make_scheduler(optimizer),
                epochs=self.epochs,
                stopping=StoppingRule(float(self.stop_tol), int(self.stop_window)),
                grad_clip=self.grad_clip,
                constrain=network.constrain_,
                progress=self.progress,
                checkpoint=checkpoint,
                checkpoints=self.curve_points,
            )
            estimate = self.current_estimate(network, data)
        info = {
            "loss_history": result.loss_history,
            "epochs": result.epochs,
            "training_converged": result.converged,
            "learning_curve": result.curve,
            "checkpoint_seconds": result.checkpoint_seconds,
            "final_loss": result.loss_history[-1] if result.loss_history else None,
            "device": str(device),
            "seed": seed,
            "init": self.init,
            "train_seconds": result.seconds,
            "wall_seconds": time.perf_counter() - start,
            "peak_mem_mb": memory.peak_mb,
            "n_parameters": sum(p.numel() for p in network.parameters()),
        }
        return Estimate(A=estimate.A, E=estimate.E, Y_hat=estimate.Y_hat, info=info)

    def checkpoint_estimate(self, network: UnmixingNetwork, data: Any) -> Estimate:
        """The estimate a learning-curve checkpoint scores: :meth:`current_estimate`
        unless a method's read-out is much dearer than its training forward pass
        (DEQ-Unmix solves to its training cap here, to ``eval_max_iter`` at the end)."""
        return self.current_estimate(network, data)

    def current_estimate(self, network: UnmixingNetwork, data: Any) -> Estimate:
        """The network's estimate now (its forward pass, eval mode): the fit's output at
        the end, a learning-curve checkpoint's during training. ``info`` is empty."""
        with torch.no_grad():
            A = network.abundances(data).double().cpu().numpy()
            E = network.endmembers().double().cpu().numpy()
            Y_hat_t = network.reconstruction(data)
            Y_hat = None if Y_hat_t is None else Y_hat_t.double().cpu().numpy()
        return Estimate(A=to_simplex(A), E=E, Y_hat=Y_hat, info={})


def _own_parameters(cls: type, init: Any) -> list[inspect.Parameter]:
    """The hyperparameters ``init`` (``(self, *, own..., **shared)``) declares itself."""
    where = f"{cls.__qualname__}.__init__"
    params = list(inspect.signature(init).parameters.values())[1:]  # after self
    if not params or params[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        raise TypeError(
            f"{where} must end with **shared and pass it to super().__init__: DeepMethod declares "
            "the shared hyperparameters; set their defaults in shared_defaults "
            "(docs/dev/deep-methods.md, 'Adding a deep method')"
        )
    own = params[:-1]
    positional = [p.name for p in own if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if positional:
        raise TypeError(f"{where}: hyperparameters {positional} must be keyword-only (after *)")
    shared = [p.name for p in own if p.name in SHARED_PARAMS]
    if shared:
        raise TypeError(f"{where} declares the shared hyperparameter(s) {shared}; "
                        "give their defaults in shared_defaults instead")
    return own


def _forwarding_init(cls: type[DeepMethod]) -> Any:
    """An ``__init__`` for a deep method that declares none: it passes everything to its
    base's, and carries the class's own signature (defaults may differ from the base's)."""

    def __init__(self: DeepMethod, **params: Any) -> None:
        super(cls, self).__init__(**params)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    return __init__


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
