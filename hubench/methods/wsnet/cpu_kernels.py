"""Compiled CPU loops (numba): the selective scan's recurrence, biased attention, adjoints.

**Selective scan.**

Time-major, for one sequence of ``T`` steps per pixel ``b``, channel ``d`` and state
``n`` (``decay = exp(delta A)``, computed by the caller with torch's vectorised ``exp``,
which numba without Intel's SVML cannot match)::

    h[t, b, n, d] = decay[t, b, n, d] * h[t-1, b, n, d] + B[t, b, n] * du[t, b, d]     h[-1] = 0
    y[t, b, d]    = sum_n C[t, b, n] * h[t, b, n, d]

:func:`scan_forward` fills ``h`` and ``y``; :func:`scan_backward`, given ``gy = dL/dy``,
runs the adjoint ``g_t = C_t gy_t + decay_{t+1} * g_{t+1}`` backwards in time and returns
in one pass what torch needs a dozen full-size temporaries for: ``dL/dC``, ``dL/dB``,
``dL/d(du)`` and, through the decays, ``s = g_t * h_{t-1} * decay_t`` (``t >= 1``)
contracted with ``A`` (``dL/ddelta``, the part through the decays) and with ``delta``
(``dL/dA``). The running adjoint lives in an ``(N, D)`` buffer per pixel, so nothing of
size ``T x batch x N x D`` is written in the backward.

**Biased attention** (:func:`attention_forward`, :func:`attention_backward`): per pixel
and head, over ``T`` tokens of ``dh`` channels, ``S = q k^T / sqrt(dh) + beta_h w``
(``w`` the per-key weakness), ``P = softmax_s(S)``, ``O = P v``; the backward, for
``gO``: ``dP = gO v^T``, ``gv = P^T gO``, ``dS = P * (dP - sum_s P dP)``,
``gq = dS k / sqrt(dh)``, ``gk = dS^T q / sqrt(dh)``, ``gbeta_h = sum dS w``. A few
hundred multiply-adds per pixel and head: torch spends far more dispatching the
tiny matrix products and softmaxes than computing them.

**Causal depthwise convolution** (:func:`conv_forward`, :func:`conv_backward`) of the
Mamba block, ``xc_t = bias + sum_j w_j * x_{t-K+1+j}``, reading the input projection's
``(batch, T, 2 Di)`` output directly and writing time-major ``(T, batch, Di)`` copies.

**Token weakness** (:func:`token_weakness`): WS-Net's windowed ``1 - cos`` of a pixel
against its dominant pattern, averaged over each token's bands (see
:mod:`~hubench.methods.wsnet.attention`); no gradient flows through it.

Why numba: at WS-Net's sizes the eager torch version of the scan's two loops is some forty
operations over ``(T, batch, N, D)`` tensors, each a pass through memory plus a
dispatch; compiled, the forward and backward recurrences take about a fifth of that
time (measured in ``docs/dev/ws-net.md``). The loops run on one thread (numba's
``parallel`` is not used), so the numbers do not depend on the thread count; the
backward sums over ``D`` may be reassociated by the compiler (``fastmath`` reassoc and
contract), a fixed order for a given build. Compiled on first use and cached on disk
(``cache=True``): about six seconds for all of them once per machine and dtype, then a
load.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit


def compiled(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)``, or without the disk cache where numba finds
    no writable place for one (a read-only install with no writable user cache
    directory): then each process compiles for itself (~6 s) instead of failing."""

    def decorate(function: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return njit(**options)(function)

    return decorate


@compiled()
def scan_forward(decay: np.ndarray, du: np.ndarray, B: np.ndarray, C: np.ndarray,
                 h: np.ndarray, y: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fill ``h`` ``(T, batch, N, D)`` and ``y`` ``(T, batch, D)`` (see the module docstring).

    ``decay`` ``(T, batch, N, D)``, ``du`` ``(T, batch, D)``, ``B``/``C`` ``(T, batch, N)``;
    all C-contiguous, one dtype.
    """
    length, batch, n_state, width = decay.shape
    for t in range(length):
        for b in range(batch):
            for d in range(width):
                y[t, b, d] = 0.0
            for n in range(n_state):
                bn = B[t, b, n]
                cn = C[t, b, n]
                if t > 0:
                    for d in range(width):
                        s = decay[t, b, n, d] * h[t - 1, b, n, d] + bn * du[t, b, d]
                        h[t, b, n, d] = s
                        y[t, b, d] += cn * s
                else:
                    for d in range(width):
                        s = bn * du[t, b, d]
                        h[t, b, n, d] = s
                        y[t, b, d] += cn * s


@compiled(fastmath={"reassoc", "contract"})
def scan_backward(gy: np.ndarray, delta: np.ndarray, du: np.ndarray, A_t: np.ndarray, B: np.ndarray,
                  C: np.ndarray, decay: np.ndarray, h: np.ndarray, g_du: np.ndarray, g_delta: np.ndarray,
                  g_B: np.ndarray, g_C: np.ndarray, g_A: np.ndarray) -> None:  # pragma: no cover - compiled
    """The adjoint of :func:`scan_forward`; fills the ``g_*`` outputs.

    ``gy``, ``delta``, ``du``: ``(T, batch, D)``; ``A_t``: ``(N, D)``; ``B``, ``C``:
    ``(T, batch, N)``; ``decay``, ``h``: as saved by the forward. Outputs: ``g_du``
    ``(T, batch, D)`` (``dL/d(du)``), ``g_delta`` ``(T, batch, D)`` (the part of
    ``dL/ddelta`` through the decays only), ``g_B``, ``g_C`` ``(T, batch, N)``, ``g_A``
    ``(N, D)`` (``dL/dA``).
    """
    length, batch, n_state, width = decay.shape
    adjoint = np.zeros((n_state, width), dtype=decay.dtype)
    g_A[:] = 0.0
    for b in range(batch):
        adjoint[:] = 0.0
        for t in range(length - 1, -1, -1):
            for d in range(width):
                g_du[t, b, d] = 0.0
                g_delta[t, b, d] = 0.0
            for n in range(n_state):
                cn = C[t, b, n]
                bn = B[t, b, n]
                if t + 1 < length:
                    for d in range(width):
                        adjoint[n, d] = cn * gy[t, b, d] + decay[t + 1, b, n, d] * adjoint[n, d]
                else:
                    for d in range(width):
                        adjoint[n, d] = cn * gy[t, b, d]
                acc_c = 0.0
                acc_b = 0.0
                for d in range(width):
                    g = adjoint[n, d]
                    acc_c += h[t, b, n, d] * gy[t, b, d]
                    acc_b += g * du[t, b, d]
                    g_du[t, b, d] += g * bn
                g_C[t, b, n] = acc_c
                g_B[t, b, n] = acc_b
                if t > 0:
                    for d in range(width):
                        s = adjoint[n, d] * h[t - 1, b, n, d] * decay[t, b, n, d]
                        g_delta[t, b, d] += s * A_t[n, d]
                        g_A[n, d] += s * delta[t, b, d]


@compiled()
def attention_forward(qkv_in: np.ndarray, weakness_in: np.ndarray, beta: np.ndarray, qkv: np.ndarray,
                      probs: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fill ``qkv`` ``(3, H, T, dh, batch)``, ``probs`` ``(H, T, T, batch)`` and ``out``
    ``(batch, T, H, dh)``.

    ``qkv_in`` ``(batch, T, 3, H, dh)`` (queries, keys, values), ``weakness_in``
    ``(batch, T)``, ``beta`` ``(H,)``; all C-contiguous, one dtype. The inputs are first
    copied with the pixel axis innermost (``qkv``, kept for the backward), so that every
    loop over pixels is a contiguous, vectorisable row.
    """
    batch, n_tokens, _, heads, dh = qkv_in.shape
    scale = 1.0 / math.sqrt(dh)
    weakness = np.empty((n_tokens, batch), dtype=probs.dtype)
    for b in range(batch):
        for t in range(n_tokens):
            weakness[t, b] = weakness_in[b, t]
            for j in range(3):
                for hh in range(heads):
                    for k in range(dh):
                        qkv[j, hh, t, k, b] = qkv_in[b, t, j, hh, k]
    mixed = np.empty((dh, batch), dtype=probs.dtype)
    top = np.empty(batch, dtype=probs.dtype)
    total = np.empty(batch, dtype=probs.dtype)
    for hh in range(heads):
        for t in range(n_tokens):
            row = probs[hh, t]
            for s in range(n_tokens):
                for b in range(batch):
                    row[s, b] = 0.0
                for k in range(dh):
                    for b in range(batch):
                        row[s, b] += qkv[0, hh, t, k, b] * qkv[1, hh, s, k, b]
                for b in range(batch):
                    row[s, b] = row[s, b] * scale + beta[hh] * weakness[s, b]
            for b in range(batch):
                top[b] = row[0, b]
                total[b] = 0.0
            for s in range(1, n_tokens):
                for b in range(batch):
                    top[b] = max(top[b], row[s, b])
            for s in range(n_tokens):
                for b in range(batch):
                    e = math.exp(row[s, b] - top[b])
                    row[s, b] = e
                    total[b] += e
            for s in range(n_tokens):
                for b in range(batch):
                    row[s, b] /= total[b]
            for k in range(dh):
                for b in range(batch):
                    mixed[k, b] = 0.0
                for s in range(n_tokens):
                    for b in range(batch):
                        mixed[k, b] += row[s, b] * qkv[2, hh, s, k, b]
            for b in range(batch):
                for k in range(dh):
                    out[b, t, hh, k] = mixed[k, b]


@compiled()
def attention_backward(grad_out_in: np.ndarray, qkv: np.ndarray, weakness_in: np.ndarray, probs: np.ndarray,
                       grad_qkv_out: np.ndarray, grad_beta: np.ndarray) -> None:  # pragma: no cover - compiled
    """The adjoint of :func:`attention_forward`: fills ``grad_qkv_out`` ``(batch, T, 3, H,
    dh)`` and ``grad_beta`` ``(H,)``.

    ``grad_out_in`` ``(batch, T, H, dh)``; ``qkv`` and ``probs`` as the forward left them;
    ``weakness_in`` ``(batch, T)``.
    """
    _, heads, n_tokens, dh, batch = qkv.shape
    scale = 1.0 / math.sqrt(dh)
    grad_out = np.empty((heads, n_tokens, dh, batch), dtype=probs.dtype)
    weakness = np.empty((n_tokens, batch), dtype=probs.dtype)
    for b in range(batch):
        for t in range(n_tokens):
            weakness[t, b] = weakness_in[b, t]
            for hh in range(heads):
                for k in range(dh):
                    grad_out[hh, t, k, b] = grad_out_in[b, t, hh, k]
    g_row = np.empty((n_tokens, batch), dtype=probs.dtype)
    weighted = np.empty(batch, dtype=probs.dtype)
    grad_qkv = np.zeros(qkv.shape, dtype=probs.dtype)
    for hh in range(heads):
        g_beta = np.zeros(batch, dtype=probs.dtype)
        for t in range(n_tokens):
            row = probs[hh, t]
            for b in range(batch):
                weighted[b] = 0.0
            for s in range(n_tokens):
                for b in range(batch):
                    g_row[s, b] = 0.0
                for k in range(dh):
                    for b in range(batch):
                        g_row[s, b] += grad_out[hh, t, k, b] * qkv[2, hh, s, k, b]
                        grad_qkv[2, hh, s, k, b] += row[s, b] * grad_out[hh, t, k, b]
                for b in range(batch):
                    weighted[b] += row[s, b] * g_row[s, b]
            for s in range(n_tokens):
                for b in range(batch):
                    g = row[s, b] * (g_row[s, b] - weighted[b])
                    g_beta[b] += g * weakness[s, b]
                    g_row[s, b] = g * scale
                for k in range(dh):
                    for b in range(batch):
                        grad_qkv[0, hh, t, k, b] += g_row[s, b] * qkv[1, hh, s, k, b]
                        grad_qkv[1, hh, s, k, b] += g_row[s, b] * qkv[0, hh, t, k, b]
        grad_beta[hh] = g_beta.sum()
    for b in range(batch):
        for t in range(n_tokens):
            for j in range(3):
                for hh in range(heads):
                    for k in range(dh):
                        grad_qkv_out[b, t, j, hh, k] = grad_qkv[j, hh, t, k, b]


@compiled()
def conv_forward(xz: np.ndarray, weight: np.ndarray, bias: np.ndarray, x: np.ndarray, z: np.ndarray,
                 xc: np.ndarray) -> None:  # pragma: no cover - compiled
    """Split ``xz`` ``(batch, T, 2 Di)`` into time-major ``x``, ``z`` ``(T, batch, Di)`` and
    fill ``xc`` ``(T, batch, Di)`` with the causal convolution of ``x`` by ``weight``
    ``(K, Di)`` (tap ``K - 1`` on the current step) plus ``bias`` ``(Di,)``."""
    batch, length, two_di = xz.shape
    di = two_di // 2
    width = weight.shape[0]
    for t in range(length):
        for b in range(batch):
            for d in range(di):
                x[t, b, d] = xz[b, t, d]
                z[t, b, d] = xz[b, t, di + d]
    for t in range(length):
        for b in range(batch):
            for d in range(di):
                xc[t, b, d] = bias[d]
            for j in range(width):
                src = t - (width - 1) + j
                if src >= 0:
                    for d in range(di):
                        xc[t, b, d] += weight[j, d] * x[src, b, d]


@compiled()
def conv_backward(g_xc: np.ndarray, g_z: np.ndarray, x: np.ndarray, weight: np.ndarray, g_xz: np.ndarray,
                  g_weight: np.ndarray, g_bias: np.ndarray) -> None:  # pragma: no cover - compiled
    """The adjoint of :func:`conv_forward`: fills ``g_xz`` ``(batch, T, 2 Di)`` (the ``x``
    half from ``g_xc``, the ``z`` half copied from ``g_z``), ``g_weight`` ``(K, Di)`` and
    ``g_bias`` ``(Di,)``."""
    length, batch, di = x.shape
    width = weight.shape[0]
    g_weight[:] = 0.0
    g_bias[:] = 0.0
    for b in range(batch):
        for t in range(length):
            for d in range(di):
                g_xz[b, t, d] = 0.0
                g_xz[b, t, di + d] = g_z[t, b, d]
    for t in range(length):
        for b in range(batch):
            for d in range(di):
                g_bias[d] += g_xc[t, b, d]
            for j in range(width):
                src = t - (width - 1) + j
                if src >= 0:
                    for d in range(di):
                        g_xz[b, src, d] += weight[j, d] * g_xc[t, b, d]
                        g_weight[j, d] += g_xc[t, b, d] * x[src, b, d]


@compiled()
def token_weakness(x: np.ndarray, r: np.ndarray, window: int, patch: int, eps: float,
                   out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fill ``out`` ``(batch, T)``: per token of ``patch`` bands (the last band repeated past
    the end), the mean over its bands of ``1 - cos(x, r)`` over ``window`` bands centred on
    the band (truncated at the ends); ``x``, ``r`` ``(batch, L)``.

    The three windowed sums slide along the bands in float64 (one band in, one out: the
    rounding error stays near 1e-16 of the largest product, far below the float32 the
    network computes in); the cosine is that of
    :func:`~hubench.methods.wsnet.attention.band_weakness`, whose ``eps`` floors the
    product of the two windowed *means*.
    """
    batch, n_bands = x.shape
    n_tokens = out.shape[1]
    half = window // 2
    floor = eps * window * window  # eps on the means = eps * window^2 on the sums
    band = np.empty(n_bands)
    for b in range(batch):
        xr = 0.0
        xx = 0.0
        rr = 0.0
        for j in range(min(half, n_bands)):
            xj = np.float64(x[b, j])
            rj = np.float64(r[b, j])
            xr += xj * rj
            xx += xj * xj
            rr += rj * rj
        for i in range(n_bands):
            j = i + half  # enters the window
            if j < n_bands:
                xj = np.float64(x[b, j])
                rj = np.float64(r[b, j])
                xr += xj * rj
                xx += xj * xj
                rr += rj * rj
            j = i - half - 1  # leaves it
            if j >= 0:
                xj = np.float64(x[b, j])
                rj = np.float64(r[b, j])
                xr -= xj * rj
                xx -= xj * xj
                rr -= rj * rj
            cosine = xr / math.sqrt(max(xx * rr, floor))
            band[i] = 1.0 - min(1.0, max(-1.0, cosine))
        for t in range(n_tokens):
            total = 0.0
            for k in range(t * patch, (t + 1) * patch):
                total += band[min(k, n_bands - 1)]
            out[b, t] = total / patch


def load() -> None:
    """Compile (first time on this machine) or load from the disk cache every kernel for
    float32, the dtype WS-Net trains in, by running each once on tiny inputs. About a
    second in a fresh process; the harness does it before a cell's clock starts
    (``WSNet.prepare``)."""
    f32 = np.float32
    T, B, N, D = 2, 1, 1, 1
    scan_forward(np.ones((T, B, N, D), f32), np.ones((T, B, D), f32), np.ones((T, B, N), f32),
                 np.ones((T, B, N), f32), np.empty((T, B, N, D), f32), np.empty((T, B, D), f32))
    scan_backward(np.ones((T, B, D), f32), np.ones((T, B, D), f32), np.ones((T, B, D), f32), np.ones((N, D), f32),
                  np.ones((T, B, N), f32), np.ones((T, B, N), f32), np.ones((T, B, N, D), f32),
                  np.ones((T, B, N, D), f32), np.empty((T, B, D), f32), np.empty((T, B, D), f32),
                  np.empty((T, B, N), f32), np.empty((T, B, N), f32), np.empty((N, D), f32))
    qkv = np.ones((B, T, 3, 1, 1), f32)
    probs, qkv_t = np.empty((1, T, T, B), f32), np.empty((3, 1, T, 1, B), f32)
    attention_forward(qkv, np.ones((B, T), f32), np.ones(1, f32), qkv_t, probs, np.empty((B, T, 1, 1), f32))
    attention_backward(np.ones((B, T, 1, 1), f32), qkv_t, np.ones((B, T), f32), probs, np.empty_like(qkv),
                       np.empty(1, f32))
    xz = np.ones((B, T, 2 * D), f32)
    x, z, xc = (np.empty((T, B, D), f32) for _ in range(3))
    conv_forward(xz, np.ones((2, D), f32), np.zeros(D, f32), x, z, xc)
    conv_backward(xc, z, x, np.ones((2, D), f32), np.empty_like(xz), np.empty((2, D), f32), np.empty(D, f32))
    token_weakness(np.ones((B, 4), f32), np.ones((B, 4), f32), 3, 2, 1e-12, np.empty((B, 2), f32))
