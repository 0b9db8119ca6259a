from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recsys_challenges.uncertainty.density import (
    LOG_COUNT_FLOOR,
    fit_field_density,
    kde_log_density,
    log_kernel_counts,
    logsumexp_rows,
    select_bandwidth,
)
from recsys_challenges.uncertainty.estimators import DensityPosterior, EnsembleMLP, beta_score_and_inverse_evidence


def test_log_kernel_counts_by_hand():
    # query (0, 0); centres (1, 0) with 3 rows and (0, 2) with 1 row; h = 1:
    # 3 exp(-1/2) + 1 exp(-4/2) = 1.81959 + 0.13534 = 1.95493
    counts = log_kernel_counts(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 2.0]]),
                               torch.log(torch.tensor([3.0, 1.0])), bandwidth=1.0)
    assert counts.item() == pytest.approx(math.log(3 * math.exp(-0.5) + math.exp(-2.0)), rel=1e-6)
    # as h -> 0 the kernel count at a value is its row count
    at_centre = log_kernel_counts(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 2.0]]),
                                  torch.log(torch.tensor([3.0, 1.0])), bandwidth=0.01)
    assert at_centre.item() == pytest.approx(math.log(3.0), abs=1e-4)  # float32, exponents of 1e4 cancelling


def test_logsumexp_rows_is_torchs_bit_for_bit():
    """Spread wide enough that most terms underflow (the case the clamp speeds up), plus rows of
    -inf only, a +inf, a NaN and a row whose every term is tiny."""
    values = torch.randn(64, 3000, generator=torch.Generator().manual_seed(0)) * 200.0
    values[1] = -math.inf
    values[2, 5] = math.inf
    values[3, 7] = math.nan
    values[4] = torch.linspace(-120.0, -100.0, 3000)
    values[5, :2] = torch.tensor([0.0, -86.9])  # exp(-86.9) is a normal float: added as torch does
    expected = torch.logsumexp(values, 1)
    assert torch.equal(logsumexp_rows(values.clone()).isnan(), expected.isnan())
    assert torch.equal(logsumexp_rows(values.clone()).nan_to_num(), expected.nan_to_num())
    # by hand: log(e^0 + e^-1) = 0.31326
    assert logsumexp_rows(torch.tensor([[0.0, -1.0]])).item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)


def test_kde_log_density_normalises_the_count():
    # one centre, N = 1, d = 1, h = 2: the density at the centre is 1 / sqrt(2 pi 4)
    density = kde_log_density(torch.tensor([0.0]), total=1.0, dim=1, bandwidth=2.0)
    assert density.item() == pytest.approx(-0.5 * math.log(2 * math.pi * 4.0))


def test_select_bandwidth_rejects_too_narrow_and_too_wide_kernels():
    generator = torch.Generator().manual_seed(0)
    train = torch.randn(2000, 1, generator=generator)
    held = torch.randn(500, 1, generator=generator)
    chosen = select_bandwidth(held, torch.ones(500), train, torch.zeros(2000), [0.001, 0.3, 30.0])
    assert chosen == 0.3  # Silverman's rule for N(0, 1), N = 2000: 0.23


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_density_evidence_grows_with_training_density(seed):
    """Property: values (and numeric regions) with more training rows get more evidence, and a value
    no training row holds gets the least; the numeric field's interpolated grid agrees with the exact
    kernel count."""
    rng = np.random.default_rng(seed)
    embedding = torch.from_numpy(rng.normal(size=(6, 4)).astype(np.float32))  # code 0 = missing, 1..5 values
    train_codes = np.repeat([1, 2, 3, 4], [800, 150, 40, 10])  # code 5: never in training
    holdout_codes = rng.choice([1, 2, 3, 4, 5], size=400, p=[0.6, 0.2, 0.1, 0.05, 0.05])
    train_numeric = rng.normal(size=(1000, 1)).astype(np.float32)
    holdout_numeric = rng.normal(size=(400, 1)).astype(np.float32)
    density = fit_field_density([embedding], train_numeric, train_codes[:, None], holdout_numeric,
                                holdout_codes[:, None], [0.25, 0.5, 1.0, 2.0])
    by_code = density.categorical[0](torch.tensor([1, 2, 3, 4, 5]))
    assert (by_code[:-1].diff() < 0).all() and by_code[-1] < by_code[-2]
    values = torch.tensor([0.0, 1.0, 2.0, 3.0])
    by_value = density.numeric[0](values)
    assert (by_value.diff() < 0).all()
    field = density.numeric[0]
    exact = log_kernel_counts(values[:, None], torch.from_numpy(train_numeric), torch.zeros(1000),
                              density.bandwidths[1])
    assert by_value.numpy() == pytest.approx(exact.numpy(), abs=0.05)  # binning + interpolation error
    assert field.log_counts.min() >= LOG_COUNT_FLOOR - 100  # finite everywhere on the grid
    evidence = density.log_evidence(torch.tensor([[0.0], [0.0]]), torch.tensor([[1], [5]]))
    assert evidence[0] > evidence[1]  # the geometric mean over fields


def test_density_posterior_beta_by_hand():
    """alpha = n0 pi + n p, beta = n0 (1 - pi) + n (1 - p); score alpha / (alpha + beta), uncertainty
    1 / (alpha + beta). Classifier: logit 0 (p = 1/2); evidence e^log(6) = 6; prior 2 rows at pi = 0.25:
    alpha = 0.5 + 3 = 3.5, beta = 1.5 + 3 = 4.5, score 3.5 / 8 = 0.4375, uncertainty 1 / 8."""

    classifier = EnsembleMLP(1, numeric_features=1, cardinalities=(), embedding_dim=2, hidden=(), dropout=0.0)
    torch.nn.init.zeros_(classifier.layers[0].weight)
    torch.nn.init.zeros_(classifier.layers[0].bias)

    class SixRows:
        def log_evidence(self, numeric, categorical):
            return torch.full((len(numeric),), math.log(6.0))

    posterior = DensityPosterior(classifier, SixRows(), prior_rate=0.25, prior_count=2.0)
    concentrations = posterior(torch.zeros(1, 1), torch.zeros(1, 0, dtype=torch.long)).detach().numpy()
    assert concentrations[0] == pytest.approx([4.5, 3.5])
    score, uncertainty = beta_score_and_inverse_evidence(concentrations)
    assert score[0] == pytest.approx(0.4375) and uncertainty[0] == pytest.approx(0.125)
