"""SMILE's network on its own: shapes, simplex, shared gradients, the SR head learning."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hubench.methods.smile.degradation import Degradation
from hubench.methods.smile.network import SmileNetwork


def make_network(n_bands: int = 12, p: int = 3, scale: int = 2, image_shape: tuple[int, int] = (9, 7),
                 seed: int = 0) -> SmileNetwork:
    torch.manual_seed(seed)
    return SmileNetwork(torch.rand(p, n_bands), image_shape=image_shape, scale=scale, hidden=8,
                        leaky_slope=0.1, data_scale=0.5)


def smooth_cube(n_bands: int = 12, size: int = 16, seed: int = 1) -> torch.Tensor:
    """A spatially smooth image ``(1, L, size, size)``: smooth maps times fixed spectra."""
    gen = torch.Generator().manual_seed(seed)
    grid = torch.linspace(0, 1, size)
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")
    maps = torch.stack([torch.sin(2 * math.pi * rows) * torch.cos(math.pi * cols),
                        torch.cos(2 * math.pi * (rows + cols)),
                        rows * cols])  # (3, size, size)
    spectra = torch.rand(3, n_bands, generator=gen)
    return 0.5 + 0.2 * torch.einsum("khw,kl->lhw", maps, spectra)[None]


def test_shapes_and_simplex() -> None:
    net = make_network(scale=3)
    cube = torch.rand(2, 12, 9, 6)
    maps = net.abundance_maps(cube)
    assert maps.shape == (2, 3, 9, 6)
    assert (maps >= 0).all()
    torch.testing.assert_close(maps.sum(dim=1), torch.ones(2, 9, 6))
    assert net(cube).shape == cube.shape
    assert net.super_resolve(torch.rand(2, 12, 3, 5)).shape == (2, 12, 9, 15)
    padded = torch.rand(1, 12, 12, 9)  # (9, 7) padded to multiples of 3
    A = net.abundances(padded)
    assert A.shape == (9 * 7, 3)
    # C pixel order of the cropped (9, 7) map
    torch.testing.assert_close(A[7 * 2 + 4], net.abundance_maps(padded)[0, :, 2, 4])
    assert net.endmembers().shape == (3, 12)


def test_linear_decoder_is_abundances_times_endmembers() -> None:
    net = make_network()
    maps = torch.softmax(torch.randn(1, 3, 4, 4), dim=1)
    expected = torch.einsum("bkhw,kl->blhw", maps, net.endmembers())
    torch.testing.assert_close(net.decode(maps), expected)


def test_both_losses_train_the_shared_encoder_only() -> None:
    net = make_network()
    with torch.no_grad():  # the SR projection starts at zero; move it off so gradients pass
        net.sr_head.project.weight.normal_(0.0, 0.1)
    cube = torch.rand(1, 12, 8, 8)
    low = Degradation(2).apply(cube)

    def grads(loss: torch.Tensor) -> dict[str, bool]:
        net.zero_grad(set_to_none=True)
        loss.backward()
        return {part: any(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(net, part).parameters())
                for part in ("encoder", "unmixing_head", "decoder", "sr_head")}

    unmix = grads(F.mse_loss(net(cube), cube))
    sr = grads(F.mse_loss(net.super_resolve(low), cube))
    assert unmix == {"encoder": True, "unmixing_head": True, "decoder": True, "sr_head": False}
    assert sr == {"encoder": True, "unmixing_head": False, "decoder": False, "sr_head": True}


def sr_training(seed: int = 0, cube_seed: int = 1, steps: int = 150, lr: float = 1e-2) -> tuple[list[float], float]:
    """Train the encoder and SR head alone to super-resolve a blurred, downsampled smooth cube.

    Returns the loss of every step and the loss of bilinear upsampling. Shared with
    ``benchmarks/threshold_spread.py``, which runs it over seeds and threads.
    """
    cube = smooth_cube(seed=cube_seed)
    op = Degradation(2)
    low = op.apply(cube)
    net = make_network(image_shape=(16, 16), seed=seed)
    params = list(net.encoder.parameters()) + list(net.sr_head.parameters())
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(net.super_resolve(low), cube)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    bilinear = float(F.mse_loss(F.interpolate(low, scale_factor=2, mode="bilinear", align_corners=False), cube))
    return losses, bilinear


#: Last / first SR loss: 1.5 x the worst value measured over the network seeds 0-9 at 1
#: and 2 threads (0.041-0.132, the same at both) and seeds 0-4 with generic CPU kernels
#: (up to 0.244), rounded up (benchmarks/threshold_spread.py; docs/dev/deep-methods.md
#: "Test thresholds of deep methods"). Was 0.25 (one run: 0.049). An SR head that does
#: not learn (lr=0) gives 1.0 and fails.
SR_LOSS_RATIO_LIMIT = 0.37


def test_sr_head_reduces_the_sr_loss_on_a_smooth_image() -> None:
    losses, bilinear = sr_training()
    # The zero-initialised residual branch starts at bilinear upsampling (exactly equal in
    # every measured run: seeds, 1 and 2 threads, generic CPU kernels)...
    assert losses[0] == pytest.approx(bilinear, rel=1e-5)
    # ...and learns to undo much of the blur.
    assert losses[-1] < SR_LOSS_RATIO_LIMIT * losses[0]
