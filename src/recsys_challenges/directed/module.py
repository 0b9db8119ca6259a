"""The thin LightningModule of ``directed_train``: training steps, and a validation every ``val_every`` epochs.

A step (:meth:`LinkPredictionModule.training_step`) draws the global batch's random negatives,
samples the batch nodes' neighbourhoods with each relation's fan-outs (:mod:`.sampling`), encodes
them (:mod:`.models`) and takes the asymmetric loss (:mod:`.losses`). A validation scores the
validation queries against their sampled candidates on the full-neighbourhood operator (the MRR of
:func:`.metrics.sampled_ranks`), keeps the best epoch's embeddings and stops early. The fit loop
around it (data, Trainer, checkpoints) is :mod:`.loop`.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning
import numpy as np
import torch
from torch import Tensor

from recsys_challenges.directed import config as cfg
from recsys_challenges.directed.losses import asymmetric_link_loss
from recsys_challenges.directed.metrics import mean_reciprocal_rank, sampled_ranks
from recsys_challenges.directed.models import DECODERS
from recsys_challenges.directed.sampling import Relation, SampledGraph, full_neighbourhood, sample_subgraph
from recsys_challenges.distributed import shard


def keyed_generator(*key: int) -> torch.Generator:
    """A generator seeded by a tuple of integers (seed, epoch, batch, ...): every random draw of a
    step depends on its position only, so resumed and distributed runs repeat it."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1))


def infer_embeddings(encoder: torch.nn.Module, graph: SampledGraph) -> tuple[Tensor, Tensor]:
    """``(N, d)`` source and target embeddings of every node on ``graph`` (:func:`full_neighbourhood`)."""
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        source, target = encoder(graph.node_ids, graph.adjacency)
    encoder.train(was_training)
    return source, target


def encoder_num_nodes(encoder: torch.nn.Module) -> int:
    """Number of nodes of an encoder's first embedding table."""
    return next(m for m in encoder.modules() if isinstance(m, torch.nn.Embedding)).num_embeddings


def validation_mrr(source: Tensor, target: Tensor, queries: Tensor, candidates: Tensor, pair_scores) -> float:
    """MRR of each query ``(u, v)`` against its sampled candidates ``(n, K)`` (the ranks of
    :func:`.metrics.sampled_ranks`, as ``directed_evaluate`` ranks the test edges)."""
    _, ranks = sampled_ranks(source, target, queries[0], queries[1], candidates, pair_scores)
    return mean_reciprocal_rank(ranks)


@dataclass(frozen=True)
class TrainingData:
    """What one run trains and validates on: the training graph's relations (with each method's
    fan-outs), its edges, and the validation queries with their candidates."""

    relations: dict[str, Relation]
    train_edges: Tensor  # (2, E_train)
    one_way_flags: Tensor  # (E_train,) bool: the reverse pair is a hard negative
    val_queries: Tensor  # (2, n)
    val_candidates: Tensor  # (n, K)


class LinkPredictionModule(lightning.LightningModule):
    """Thin Lightning wrapper: sampling, asymmetric loss, validation MRR, best-epoch embeddings.

    ``encoder_name`` picks the decoder (:data:`.models.DECODERS`); ``loss`` and ``train`` are the
    method's sections (:func:`.config.method_training`): the loss weights, the optimiser's learning
    rate and weight decay, and early stopping; ``num_hops`` is the sampled depth (the encoder's layers).
    """

    def __init__(
        self,
        encoder_name: str,
        encoder: torch.nn.Module,
        data: TrainingData,
        loss: cfg.LossParams,
        train: cfg.TrainParams,
        num_hops: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.relations = data.relations
        self.train_edges = data.train_edges  # (2, E_train)
        self.one_way_flags = data.one_way_flags  # (E_train,) bool: reverse pair is a hard negative
        self.val_queries, self.val_candidates = data.val_queries, data.val_candidates  # (2, n), (n, K)
        self.loss_params, self.train_params = loss, train
        self.num_hops, self.seed = num_hops, seed
        self.num_nodes = encoder_num_nodes(encoder)
        self.pair_scores = DECODERS[encoder_name][1]
        self.rank, self.world_size = 0, 1  # set by `setup` under a Trainer
        self.best_mrr, self.best_epoch, self.val_curve = -1.0, -1, []
        self.epochs_trained = 0
        self.epoch_loss, self.epoch_rows = torch.tensor(0.0), 0  # this epoch's loss x rows, and rows
        self.best_embeddings: tuple[Tensor, Tensor] | None = None
        self._full_graph: SampledGraph | None = None  # inference operator, built at the first validation

    @property
    def full_graph(self) -> SampledGraph:
        """Every node with the full-neighbourhood operator of each relation (:func:`full_neighbourhood`)."""
        if self._full_graph is None:
            self._full_graph = full_neighbourhood(self.relations, self.num_nodes)
        return self._full_graph

    def setup(self, stage: str) -> None:
        self.rank, self.world_size = self.global_rank, self.trainer.world_size

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        global_ids = batch[0]  # (B,) the global batch: the same on every process
        step_key = (self.seed, self.current_epoch, batch_idx)
        global_negatives = torch.randint(
            0, self.num_nodes, (global_ids.numel(), self.loss_params.num_negatives), generator=keyed_generator(*step_key)
        )  # (B, k)
        edge_ids = shard(global_ids, self.rank, self.world_size)  # (B / W,) this process's rows
        negatives = shard(global_negatives, self.rank, self.world_size)  # (B / W, k)
        source_ids, target_ids = self.train_edges[0, edge_ids], self.train_edges[1, edge_ids]  # (B / W,) each
        batch_nodes = torch.cat([source_ids, target_ids, negatives.flatten()])  # (B * (k + 2),)
        # a batch that touches about every node is cheaper to run on all of them (no relabelling)
        whole_graph = batch_nodes.numel() >= self.num_nodes
        seeds = torch.arange(self.num_nodes) if whole_graph else torch.unique(batch_nodes)  # sorted global ids
        sampler = keyed_generator(*step_key, self.rank)
        graph = sample_subgraph(self.relations, seeds, self.num_hops, sampler, transposes=True)
        source, target = self.encoder(graph.node_ids, graph.adjacency, graph.transposed)  # (n, d) each
        local = (lambda ids: ids) if whole_graph else (lambda ids: torch.searchsorted(seeds, ids))
        u, v, n = local(source_ids), local(target_ids), local(negatives.flatten())  # local ids
        s_u, t_v = source.index_select(0, u), target.index_select(0, v)  # (B, d)
        positive = self.pair_scores(s_u, t_v)  # (B,)
        negative = self.pair_scores(
            s_u[:, None, :], target.index_select(0, n).view(*negatives.shape, -1)
        )  # (B, k): (B, 1, d) against (B, k, d)
        reversed_score = self.pair_scores(source.index_select(0, v), target.index_select(0, u))  # (B,)
        loss = asymmetric_link_loss(
            positive,
            negative,
            reversed_score,
            self.one_way_flags[edge_ids],
            self.loss_params.negative_weight,
            self.loss_params.hard_negative_weight,
        )
        # the epoch's mean loss over this process's rows, accumulated as Lightning's on-epoch mean would and
        # logged once per epoch: a `self.log` per step cost ~1 ms, a quarter of a small graph's step
        self.epoch_loss = self.epoch_loss + loss.detach() * edge_ids.numel()
        self.epoch_rows += edge_ids.numel()
        # DDP averages the W shard gradients; weighting each shard's mean by its share of the global
        # batch makes that average the gradient of the global batch's mean even when W does not divide B
        return loss * (edge_ids.numel() * self.world_size / global_ids.numel())

    def on_train_epoch_start(self) -> None:
        self.epoch_loss, self.epoch_rows = torch.tensor(0.0), 0

    def on_train_epoch_end(self) -> None:
        self.log("train/loss", self.epoch_loss / torch.tensor(self.epoch_rows), on_step=False, on_epoch=True, batch_size=1)
        self.epochs_trained = self.current_epoch + 1

    def validation_step(self, batch: list[Tensor], batch_idx: int) -> None:
        source, target = infer_embeddings(self.encoder, self.full_graph)
        mrr = validation_mrr(source, target, self.val_queries, self.val_candidates, self.pair_scores)
        self.log("val/mrr", mrr, batch_size=1)
        self.val_curve.append(mrr)
        if mrr > self.best_mrr:
            self.best_mrr, self.best_epoch = mrr, self.current_epoch
            self.best_embeddings = (source.clone(), target.clone())
        # early stopping: `patience` epochs without a better validation MRR, never before min_epochs;
        # checked at validations only (every `val_every` epochs)
        # (Lightning's EarlyStopping keeps a stop decided during min_epochs and fires it right after)
        past_minimum = self.current_epoch + 1 >= self.train_params.min_epochs
        if past_minimum and self.current_epoch - self.best_epoch >= self.train_params.patience:
            self.trainer.should_stop = True

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # model selection and early-stopping state, so that a resumed run selects as an uninterrupted one
        checkpoint["selection"] = {
            "best_mrr": self.best_mrr,
            "best_epoch": self.best_epoch,
            "val_curve": self.val_curve,
            "best_embeddings": self.best_embeddings,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        selection = checkpoint["selection"]
        self.best_mrr, self.best_epoch = selection["best_mrr"], selection["best_epoch"]
        self.val_curve, self.best_embeddings = list(selection["val_curve"]), selection["best_embeddings"]

    def configure_optimizers(self) -> torch.optim.Optimizer:
        # torch's fused kernel: one pass over every tensor instead of a dozen ops each (the embedding
        # tables are dense, (N, d)); on Subelj Cora 3.3 -> 1.4 ms of a 90 ms step of the dual GNN
        return torch.optim.Adam(
            self.encoder.parameters(),
            lr=self.train_params.learning_rate,
            weight_decay=self.train_params.weight_decay,
            fused=True,
        )
