import torch
import torch.distributed as dist
from torch import nn

from recsys_challenges.sparse_ddp import keep_sparse_out_of_ddp, mean_sparse_gradient


def _two_processes(other: list[torch.Tensor]):
    """Rank 0's ``all_gather`` of two, whose partner's tensors are ``other``: stacks (mine, other's)."""
    partner = iter(other)
    return lambda tensor: torch.stack([tensor, next(partner)])


def test_mean_sparse_gradient_by_hand():
    # rank 0 touched rows 1 and 3 (3 twice, uncoalesced), rank 1 only row 3: 3 entries vs 1, padded to 3
    mine = torch.sparse_coo_tensor([[1, 3, 3]], [[2.0, 4.0], [6.0, 8.0], [1.0, 1.0]], (5, 2),
                                   check_invariants=True)
    other = [torch.tensor([1]), torch.tensor([3, 0, 0]), torch.tensor([[10.0, 20.0], [0.0, 0.0], [0.0, 0.0]])]
    mean = mean_sparse_gradient(mine, _two_processes(other), world_size=2)
    assert mean._indices().tolist() == [[1, 3, 3, 3]]  # the padding rows are dropped
    expected = torch.zeros(5, 2)
    expected[1] = torch.tensor([1.0, 2.0])  # (2, 4) / 2
    expected[3] = torch.tensor([8.5, 14.5])  # (6 + 1 + 10, 8 + 1 + 20) / 2
    assert torch.equal(mean.to_dense(), expected)


def test_only_sparse_tables_are_kept_out_of_ddp(tmp_path):
    module = nn.ModuleDict({"inner": nn.ModuleDict({"table": nn.Embedding(4, 2, sparse=True)}),
                            "dense_table": nn.Embedding(4, 2), "linear": nn.Linear(2, 1)})
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        tables = keep_sparse_out_of_ddp(module)
        wrapped = nn.parallel.DistributedDataParallel(module)
    finally:
        dist.destroy_process_group()
    assert tables == [module["inner"]["table"].weight]
    assert wrapped.parameters_to_ignore == {"inner.table.weight"}  # the dense embedding stays in DDP
