"""Distributed training settings shared by every training stage (``trainer`` in params.yaml).

One process by default. With ``strategy: ddp`` Lightning starts ``devices`` processes per node
(``num_nodes`` nodes) and joins them with the gloo backend on CPUs or NCCL on GPUs; each process
trains on its own shard of the rows (:func:`shard`), and the gradients are averaged across them;
:func:`gather_rows` puts the shards' outputs (test predictions) back together on every process.
To keep the result of ``W`` processes equal to the result of one, a stage splits each *global*
batch into ``W`` equal shards (:func:`shard`) rather than giving every process a full batch.

Launch: ``dvc repro`` with ``trainer.strategy=ddp`` starts the processes itself on one machine;
on a cluster start ``python -m recsys_challenges <stage> ...`` under ``torchrun`` or SLURM, whose
environment Lightning detects (see README, "Distributed training").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from recsys_challenges.config import require

if TYPE_CHECKING:
    from lightning import Fabric


@dataclass(frozen=True)
class TrainerParams:
    """``trainer`` in params.yaml: Lightning's accelerator, strategy, devices and nodes."""

    accelerator: Literal["cpu", "gpu", "auto"] = "cpu"
    strategy: Literal["auto", "ddp"] = "auto"
    devices: int = 1
    num_nodes: int = 1

    def __post_init__(self) -> None:
        require(self.devices >= 1, f"devices must be >= 1, got {self.devices}")
        require(self.num_nodes >= 1, f"num_nodes must be >= 1, got {self.num_nodes}")
        require(
            self.strategy == "ddp" or self.devices * self.num_nodes == 1,
            f"devices={self.devices}, num_nodes={self.num_nodes} need strategy: ddp",
        )

    @property
    def world_size(self) -> int:
        """Number of training processes."""
        return self.devices * self.num_nodes

    def trainer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``lightning.Trainer`` / ``lightning.Fabric``."""
        return {
            "accelerator": self.accelerator,
            "strategy": "ddp" if self.strategy == "ddp" else "auto",
            "devices": self.devices,
            "num_nodes": self.num_nodes,
        }


def shard(rows: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rows ``rank, rank + W, rank + 2W, ...`` of ``rows`` ``(n, ...)``: process ``rank``'s shard.

    Strided rather than contiguous so that every shard sees the same mix of a time-ordered batch.
    """
    require(0 <= rank < world_size, f"rank {rank} outside [0, {world_size})")
    return rows[rank::world_size]


def gather_rows(fabric: Fabric, own_rows: torch.Tensor, rows: int) -> torch.Tensor:
    """The inverse of :func:`shard`: every process's strided shard ``(m_r, ...)`` of ``rows`` rows ->
    all the rows ``(rows, ...)`` in their order, on every process."""
    if fabric.world_size == 1:
        return own_rows
    length = -(-rows // fabric.world_size)  # the longest shard; shorter ones are padded at their end
    padded = torch.cat([own_rows, own_rows.new_zeros(length - own_rows.shape[0], *own_rows.shape[1:])])
    gathered = fabric.all_gather(padded)  # (W, length, ...): row i * W + r is shard r's i-th
    return gathered.transpose(0, 1).reshape(length * fabric.world_size, *own_rows.shape[1:])[:rows]
