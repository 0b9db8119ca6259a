"""Linear layers whose matrix products run in OpenBLAS (numpy's BLAS), pinned to its Haswell kernels.

Why: torch sends a CPU ``float32`` linear layer to MKL, and the only MKL branch that computes the
same bits on Intel and AMD CPUs is ``MKL_CBWR=COMPATIBLE``, i.e. SSE2 (``determinism.py``). For the
T1 encoders' tall products, ``(n, 32) x (32, 32)`` with ``n`` = every node of the graph, that branch
is about 3x slower than OpenBLAS's AVX2 kernels on one thread (Subelj Cora, ``n = 23166``: 1.64 vs
0.55 ms forward, 2.01 vs 0.60 ms for the weight gradient). OpenBLAS picks its kernels by the core
type that ``determinism.apply`` pins (``OPENBLAS_CORETYPE=Haswell``, one thread), not by the CPU's
vendor, and its blocking is fixed per core type, so these products are as reproducible across CPUs
as the rest of the pinned run. With the pins off it uses the machine's own kernels, like torch would.

:func:`affine` is ``x @ right + bias`` with the forward and both backward products through
:func:`numpy.matmul` (a stack of matrices: one BLAS call each); :func:`linear` applies a linear
layer's ``weight`` and ``bias`` with it. T3's batched ensemble products, ``(5, 2048, 54) x (5, 54,
64)``, gain as much (2.13 vs 0.80 ms). Small products lose: the numpy round trip costs ~50 us a layer,
so T2's streaming MLPs (batches of 64 rows: 0.15 vs 0.12 ms a layer, forward and backward) stay on torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

_NUMPY_DTYPES = (torch.float32, torch.float64)


def matmul(left: Tensor, right: Tensor) -> Tensor:
    """``left @ right`` of CPU matrices by OpenBLAS: ``(..., m, k) x (..., k, n) -> (..., m, n)``, a
    stack of matrices one BLAS call each; transposed views are passed to BLAS as transposes, not copied."""
    return torch.from_numpy(np.matmul(left.detach().numpy(), right.detach().numpy()))


class _OpenBLASAffine(torch.autograd.Function):
    """``x @ right + bias`` with ``x`` ``(..., n, in)``, ``right`` ``(..., in, out)`` and ``bias``
    broadcasting to ``(..., n, out)`` or None; the backward gives ``dx = g right^T`` and
    ``dright = x^T g`` by :func:`matmul`, ``dbias`` = ``g`` summed to the bias's shape."""

    @staticmethod
    def forward(ctx, x: Tensor, right: Tensor, bias: Tensor | None) -> Tensor:  # noqa: D102
        ctx.save_for_backward(x, right)
        ctx.bias_shape = None if bias is None else bias.shape
        out = matmul(x, right)  # (..., n, out)
        return out.add_(bias) if bias is not None else out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:  # noqa: D102
        x, right = ctx.saved_tensors
        grad = grad.contiguous()  # (..., n, out)
        grad_x = matmul(grad, right.mT) if ctx.needs_input_grad[0] else None  # (..., n, in)
        grad_right = matmul(x.mT, grad) if ctx.needs_input_grad[1] else None  # (..., in, out)
        grad_bias = grad.sum_to_size(ctx.bias_shape) if ctx.needs_input_grad[2] else None
        return grad_x, grad_right, grad_bias


def affine(x: Tensor, right: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ right + bias`` (``(..., n, in) x (..., in, out) -> (..., n, out)``), its products in
    OpenBLAS; tensors numpy cannot take (not on the CPU, not ``float32``/``float64``) go to torch."""
    if x.device.type != "cpu" or right.device.type != "cpu" or x.dtype not in _NUMPY_DTYPES or x.dtype != right.dtype:
        out = torch.matmul(x, right)
        return out if bias is None else out + bias
    return _OpenBLASAffine.apply(x.contiguous(), right, bias)


def linear(x: Tensor, layer: nn.Module) -> Tensor:
    """``layer(x)`` for a linear ``layer`` (``weight`` ``(out, in)``, ``bias`` ``(out,)`` or None),
    its products in OpenBLAS: ``(..., in) -> (..., out)``."""
    flat = x.reshape(-1, x.shape[-1])  # (n, in)
    return affine(flat, layer.weight.T, layer.bias).view(*x.shape[:-1], layer.weight.shape[0])
