"""OpenBLAS linear products (blas.py): values worked out by hand, gradients, the torch fallback."""

from __future__ import annotations

import torch
from torch import nn

from recsys_challenges.blas import affine, linear, matmul


def test_matmul_by_hand_and_transposed_views():
    left = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    right = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    assert matmul(left, right).tolist() == [[19.0, 22.0], [43.0, 50.0]]
    # a transposed view is read as the transpose: [[1, 3], [2, 4]] @ right
    assert matmul(left.T, right).tolist() == [[26.0, 30.0], [38.0, 44.0]]


def test_linear_forward_and_gradients_by_hand():
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 4.0]]))
        layer.bias.copy_(torch.tensor([0.5]))
    x = torch.tensor([[1.0, 2.0], [-1.0, 1.0]], requires_grad=True)
    out = linear(x, layer)  # 3 + 8 + 0.5 = 11.5; -3 + 4 + 0.5 = 1.5
    assert out.tolist() == [[11.5], [1.5]]
    (out[:, 0] * torch.tensor([1.0, 2.0])).sum().backward()
    assert x.grad.tolist() == [[3.0, 4.0], [6.0, 8.0]]  # g_i * w
    assert layer.weight.grad.tolist() == [[-1.0, 4.0]]  # 1 * [1, 2] + 2 * [-1, 1]
    assert layer.bias.grad.tolist() == [3.0]


def test_affine_matches_torch_in_double_precision_with_a_batch_of_members():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(3, 7, 5, dtype=torch.float64, generator=generator, requires_grad=True)  # (M, B, in)
    right = torch.randn(3, 5, 4, dtype=torch.float64, generator=generator, requires_grad=True)  # (M, in, out)
    bias = torch.randn(3, 4, dtype=torch.float64, generator=generator, requires_grad=True)  # (M, out)
    assert torch.autograd.gradcheck(lambda a, w, b: affine(a, w, b.unsqueeze(1)), (x, right, bias))
    ours = affine(x, right, bias.unsqueeze(1))
    assert torch.allclose(ours, torch.baddbmm(bias.unsqueeze(1), x, right))


def test_linear_without_bias_keeps_leading_axes():
    layer = nn.Linear(5, 3, bias=False).double()
    x = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    assert linear(x, layer).shape == (2, 4, 3)
    assert torch.autograd.gradcheck(lambda a, w: affine(a, w.T), (x.reshape(8, 5), layer.weight))
    assert torch.allclose(linear(x, layer), layer(x))


def test_types_numpy_cannot_take_go_to_torch():
    x = torch.randn(4, 3).to(torch.bfloat16)
    right = torch.randn(3, 2).to(torch.bfloat16)
    out = affine(x, right)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, x @ right)
