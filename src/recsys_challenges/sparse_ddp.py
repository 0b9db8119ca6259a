"""DDP for models with sparse embedding gradients (``nn.Embedding(sparse=True)``: T2's hashed MLP, T3's tables).

DDP would send those gradients through gloo's sparse all-reduce, which corrupted the heap in about one
run in 20 on a 2-core CPU (glibc: "malloc(): unaligned tcache chunk detected", a DDP worker killed).
:func:`keep_sparse_out_of_ddp` hides the sparse tables from DDP before it wraps the model, and after
each backward pass :func:`average_sparse_gradients` averages their gradients with dense all-gathers
(:func:`mean_sparse_gradient`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def keep_sparse_out_of_ddp(module: nn.Module) -> list[nn.Parameter]:
    """``module``'s sparse embedding tables, hidden from the DDP wrapper that will wrap ``module``.

    Call in every process after the process group starts and before DDP wraps ``module``. DDP
    broadcasts rank 0's parameters only for what it keeps, so the tables are broadcast here.
    """
    names = [f"{name}.weight" for name, child in module.named_modules()
             if isinstance(child, nn.Embedding) and child.sparse]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(module, names)
    tables = [module.get_parameter(name) for name in names]
    for table in tables:
        torch.distributed.broadcast(table.data, src=0)
    return tables


def mean_sparse_gradient(grad: torch.Tensor, all_gather: Callable[[torch.Tensor], torch.Tensor],
                         world_size: int) -> torch.Tensor:
    """The mean over processes of each one's sparse row gradient, as DDP would average a dense one.

    ``grad``: this process's ``nn.Embedding(sparse=True)`` gradient ``(N, d)`` with ``nnz_r`` entries
    -> the uncoalesced sparse ``(N, d)`` holding every process's entries (``sum_r nnz_r``), each
    divided by ``world_size``. ``all_gather`` (Fabric's or a LightningModule's) stacks every
    process's tensor ``(W, ...)``; entries are exchanged padded to the largest ``nnz_r``.
    """
    rows, values = grad._indices()[0], grad._values()  # (nnz_r,), (nnz_r, d)
    counts = all_gather(rows.new_tensor([rows.numel()])).flatten()  # (W,), on the gradient's device (NCCL)
    longest = int(counts.max())
    padding = longest - rows.numel()
    all_rows = all_gather(torch.cat([rows, rows.new_zeros(padding)]))  # (W, longest)
    all_values = all_gather(torch.cat([values, values.new_zeros(padding, values.shape[1])]))  # (W, longest, d)
    real = torch.arange(longest, device=rows.device) < counts[:, None]  # (W, longest): the padding is dropped
    return torch.sparse_coo_tensor(all_rows[real][None], all_values[real] / world_size, grad.shape,
                                   check_invariants=True)


def average_sparse_gradients(tables: list[nn.Parameter], all_gather: Callable[[torch.Tensor], torch.Tensor],
                             world_size: int) -> None:
    """Replace each table's gradient by its :func:`mean_sparse_gradient` over the processes."""
    for table in tables:
        table.grad = mean_sparse_gradient(table.grad, all_gather, world_size)
