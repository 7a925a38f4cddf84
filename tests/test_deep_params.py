"""The deep methods' hyperparameters: names, defaults and decoder learning rates pinned.

Recorded from commit eb76c9f, before the decoder rate had one name and the shared
hyperparameters were declared once (docs/dev/deep-methods.md, "Adding a deep method"):
every name and default is as it was there, except the decoder rate, now
``decoder_lr_scale`` everywhere (the decoder learns at ``lr * decoder_lr_scale``):

- smile: ``decoder_lr=1e-4`` -> ``decoder_lr_scale=1/30`` (``3e-3 / 30 == 1e-4``);
- ws-net: ``lr_decoder=5e-5`` -> ``decoder_lr_scale=0.025`` (``2e-3 * 0.025 == 5e-5``);
- deq-unmix: ``lr_endmembers=0.007`` -> ``decoder_lr_scale=0.7``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import torch

import hubench.methods  # noqa: F401  (registers the methods)
from hubench.deep.base import decoder_param_groups
from hubench.method import METHODS, PROFILES, get_method
from hubench.scene import Observation

DEFAULTS: dict[str, dict[str, Any]] = {
    "daeu": {
        "epochs": 100, "batch_size": 20, "lr": 0.001, "lr_step": 0, "lr_gamma": 0.5, "grad_clip": None,
        "stop_tol": 0.001, "stop_window": 10, "init": "vca", "device": "auto", "random_state": None,
        "leaky_slope": 0.1, "dropout": 0.0045, "decoder_lr_scale": 1.0,
    },
    "cnnaeu": {
        "epochs": 320, "batch_size": 15, "lr": 0.0003, "lr_step": 0, "lr_gamma": 0.5, "grad_clip": None,
        "stop_tol": 0.001, "stop_window": 10, "init": "random", "device": "auto", "random_state": None,
        "n_patches": 250, "patch_draw": "fixed", "patch_size": 40, "kernel_size": 11, "hidden": 48, "leaky_slope": 0.02,
        "dropout": 0.2, "softmax_scale": 3.0, "decoder_lr_scale": 1.0,
    },
    "deq-unmix": {  # no batch_size: the whole image is the one batch
        "epochs": 100, "lr": 0.01, "lr_step": 15, "lr_gamma": 0.8, "grad_clip": 1.0,
        "stop_tol": 0.001, "stop_window": 10, "init": "vca", "device": "auto", "random_state": None,
        "eta": None, "max_iter": 10, "tol": 0.0001, "eval_max_iter": None, "anderson_m": 5,
        "anderson_lam": 0.1, "backward": "implicit", "backward_max_iter": 40, "backward_tol": 1e-06,
        "alpha": 0.2, "decoder_lr_scale": 0.7, "weight_decay": 1e-05, "hidden": 32,
        "n_superpixels": None, "compactness": 1.0, "prox_pixel_weight": 0.99,
    },
    "smile": {
        "epochs": 250, "batch_size": 2, "lr": 0.003, "lr_step": 0, "lr_gamma": 0.5, "grad_clip": None,
        "stop_tol": 0.001, "stop_window": 25, "init": "vca", "device": "auto", "random_state": None,
        "sr_weight": 1.0, "scale": 2, "kernel": "gaussian", "sigma": None, "hidden": 32,
        "unmix_loss": "mse", "n_patches": 2, "patch_size": 32, "decoder_lr_scale": 1 / 30,
        "leaky_slope": 0.1,
    },
    "ws-net": {
        "epochs": 60, "batch_size": 128, "lr": 0.002, "lr_step": 0, "lr_gamma": 0.5, "grad_clip": 1.0,
        "stop_tol": 0.001, "stop_window": 10, "init": "vca", "device": "auto", "random_state": None,
        "decoder_lr_scale": 0.025, "width": 16, "d_state": 8, "expand": 2, "patch": 4, "heads": 2,
        "wavelet": "db2", "levels": 2, "wavelet_mode": "symmetric", "use_wavelet": True,
        "use_mamba": True, "use_attention": True, "use_gate": True, "ls_prior": True,
        "kl_weight": 0.01, "sad_weight": 0.1,
    },
}

#: (network lr, decoder lr) of each method's optimiser per profile, as they were with
#: the absolute decoder rates: ``lr * decoder_lr_scale`` gives these exactly in float64,
#: except deq-unmix's 0.007, for which no float64 scale exists (0.01 * 0.7 is one ulp
#: below; AdamW's float32 steps are the same, checked over the paper's 300 epochs).
RATES: dict[str, dict[str, tuple[float, float]]] = {
    "daeu": {"ci": (1e-3, 1e-3), "quick": (2e-3, 2e-3 * 0.01), "full": (1e-3, 1e-3)},
    "cnnaeu": {"ci": (3e-4, 3e-4), "quick": (3e-3, 3e-3 * 0.01), "full": (3e-4, 3e-4)},
    "deq-unmix": {"ci": (0.01, 0.006999999999999999), "quick": (0.01, 1e-3),
                  "full": (0.01, 0.006999999999999999)},
    "smile": {"ci": (3e-3, 1e-4), "quick": (5e-3, 1e-4), "full": (3e-3, 1e-4)},
    "ws-net": {"ci": (2e-3, 5e-5), "quick": (2e-3, 5e-5), "full": (2e-3, 5e-5)},
}


def typed(params: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    """``name -> (type, value)``: 1 and True, 1 and 1.0 differ."""
    return {name: (type(value), value) for name, value in params.items()}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_parameters_and_defaults_are_pinned(name: str) -> None:
    cls = METHODS.get(name)
    assert typed(cls.defaults()) == typed(DEFAULTS[name])
    assert sorted(cls.param_names()) == sorted(DEFAULTS[name])
    method = cls()
    assert typed(method.get_params()) == typed(DEFAULTS[name])
    assert repr(method).startswith(f"{cls.__name__}(") and all(f"{k}=" in repr(method) for k in DEFAULTS[name])


def test_every_deep_method_is_pinned() -> None:
    from hubench.deep.base import DeepMethod

    deep = {name for name in METHODS.names() if issubclass(METHODS.get(name), DeepMethod)}
    assert deep == set(DEFAULTS) == set(RATES)


def _optimizer(name: str, profile: str) -> torch.optim.Optimizer:
    rng = np.random.default_rng(0)
    E = rng.uniform(0.1, 1.0, (3, 16))
    A = rng.dirichlet(np.ones(3), size=8 * 8)
    observation = Observation(Y=A @ E, image_shape=(8, 8), n_endmembers=3)
    method = get_method(name, profile=profile, random_state=0, device="cpu")
    E_init = torch.as_tensor(method.initial_endmembers(observation, 0), dtype=torch.float32)
    method.prepare_data(torch.as_tensor(observation.Y, dtype=torch.float32), observation)
    return method.make_optimizer(method.build_network(observation, E_init))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(RATES))
def test_decoder_learns_at_lr_times_decoder_lr_scale(name: str, profile: str) -> None:
    """Two groups, ``[network, decoder]``, at the rates the absolute values gave."""
    method = get_method(name, profile=profile)
    lr, decoder_lr = RATES[name][profile]
    assert (method.lr, method.lr * method.decoder_lr_scale) == (lr, decoder_lr)
    groups = _optimizer(name, profile).param_groups
    assert [group["lr"] for group in groups] == [lr, decoder_lr]
    assert len(groups[1]["params"]) == 1  # the decoder is one weight in each method


def test_decoder_param_groups_matches_a_path_not_a_prefix() -> None:
    net = torch.nn.Module()
    net.decoder = torch.nn.Linear(2, 3)
    net.decoder_gate = torch.nn.Linear(2, 1)
    net.layer = torch.nn.Module()
    net.layer.M = torch.nn.Parameter(torch.ones(2))
    net.layer.Mx = torch.nn.Parameter(torch.ones(2))

    def names(groups: list[dict[str, Any]]) -> list[list[str]]:
        by_id = {id(p): n for n, p in net.named_parameters()}
        return [[by_id[id(p)] for p in group["params"]] for group in groups]

    groups = decoder_param_groups(net, 0.5, 0.25)
    assert names(groups)[1] == ["decoder.weight", "decoder.bias"]
    assert [g["lr"] for g in groups] == [0.5, 0.125]
    assert names(decoder_param_groups(net, 1.0, 0.1, decoder="layer.M"))[1] == ["layer.M"]
    assert "decoder.weight" in names(decoder_param_groups(net, 1.0, 0.1, decoder="layer.M"))[0]
    with pytest.raises(ValueError, match="no parameter 'encoder'"):
        decoder_param_groups(net, 1.0, 0.1, decoder="encoder")


# ---- the shared hyperparameters, declared once (DeepMethod.__init_subclass__) -------------

def test_shared_values_are_stored_and_unknown_names_refused() -> None:
    from hubench.methods.daeu import DAEU
    from hubench.methods.deq_unmix import DEQUnmix

    method = DAEU(epochs=7, lr_gamma=0.25, dropout=0.0)
    assert (method.epochs, method.lr_gamma, method.dropout, method.batch_size) == (7, 0.25, 0.0, 20)
    assert type(method)(**method.get_params()).get_params() == method.get_params()
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        DAEU(epoch=7)
    with pytest.raises(TypeError):
        DAEU(7)  # keyword-only, as written out
    assert DEQUnmix().batch_size == 1  # shared_fixed: not a hyperparameter of deq-unmix
    with pytest.raises(TypeError, match="unexpected keyword argument 'batch_size'"):
        DEQUnmix(batch_size=4)


def test_a_subclass_gets_its_own_signature_and_leaves_its_base_alone() -> None:
    import inspect

    from hubench.methods.daeu import DAEU

    before = inspect.signature(DAEU.__init__)

    class ShortDAEU(DAEU):  # no __init__: shared defaults only
        shared_defaults: ClassVar[dict[str, Any]] = {"epochs": 5, "lr_step": 2}

    class GatedDAEU(ShortDAEU):  # one more hyperparameter of its own
        def __init__(self, *, gate: float = 0.5, **shared: Any) -> None:
            super().__init__(**shared)
            self.gate = gate

    assert inspect.signature(DAEU.__init__) == before
    assert ShortDAEU.defaults() == {**DAEU.defaults(), "epochs": 5, "lr_step": 2}
    assert GatedDAEU.defaults() == {**ShortDAEU.defaults(), "gate": 0.5}
    assert GatedDAEU.param_names()[-4:] == ["leaky_slope", "dropout", "decoder_lr_scale", "gate"]
    made = GatedDAEU(gate=0.1, dropout=0.0, epochs=2)
    assert made.get_params() == {**GatedDAEU.defaults(), "gate": 0.1, "dropout": 0.0, "epochs": 2}
    assert ShortDAEU().get_params() == ShortDAEU.defaults()


def test_mistakes_in_a_subclass_fail_when_it_is_defined() -> None:
    from hubench.deep.base import DeepMethod

    with pytest.raises(TypeError, match=r"must end with \*\*shared"):
        class Written(DeepMethod):  # the shared ones written out again
            def __init__(self, *, epochs: int = 3, hidden: int = 4) -> None:
                super().__init__(epochs=epochs)

    with pytest.raises(TypeError, match=r"declares the shared hyperparameter\(s\) \['lr'\]"):
        class Repeated(DeepMethod):
            def __init__(self, *, lr: float = 0.1, **shared: Any) -> None:
                super().__init__(**shared)

    with pytest.raises(TypeError, match=r"\['epoch'\] are not shared hyperparameters"):
        class Misspelt(DeepMethod):
            shared_defaults: ClassVar[dict[str, Any]] = {"epoch": 3}


def test_a_shared_hyperparameter_without_default_is_required() -> None:
    import inspect

    from hubench.deep.base import DeepMethod

    class Open(DeepMethod):  # a base that leaves the schedule to its subclasses
        pass

    assert inspect.signature(Open.__init__).parameters["epochs"].default is inspect.Parameter.empty
    assert "epochs" not in Open.defaults() and Open.defaults()["stop_window"] == 10
    with pytest.raises(TypeError, match="missing required keyword-only argument"):
        Open(batch_size=2, lr=0.1)
    assert Open(epochs=1, batch_size=2, lr=0.1).epochs == 1
