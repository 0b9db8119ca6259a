"""The equi-weight grid of EW-DPMT and MIST (uncertainty levels x score bins per level), chosen on
the hold-out by cross-validation.

Arora, Merugu, Saladi & Rastogi, ICLR 2024 (arXiv 2311.11723), sections 5.2-5.3, treat the number
of uncertainty levels and of score bins as hyperparameters and do not say how to pick them; the rule
of :func:`choose_grid` is the package's choice, reconstructed. Its jobs: the support of each
candidate's top score bins on the whole hold-out (:func:`top_bin_support`), EW-DPMT's selections on
held folds (:func:`stratified_folds`, :func:`held_fold_selections`), the admissibility of each
candidate (:func:`score_candidates`) and the pick among them (:func:`pick_grid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recsys_challenges.uncertainty.boundaries import (
    LevelSort,
    bins_per_level,
    check_bound,
    check_inputs,
    ew_dpmt_bounds,
    meets_bound,
    uncertainty_levels,
)


@dataclass(frozen=True)
class GridScore:
    """One candidate grid of :func:`choose_grid`, scored for one precision bound.

    Attributes:
        levels, rows_per_bin: the candidate; ``bins`` its score bins per level on the whole hold-out.
        top_bin_positives: the fewest positives in the top score bin of any level (whole hold-out).
        selected_positives, selected_rows: EW-DPMT's selections on the held folds, pooled over folds.
        recall: ``selected_positives`` over the hold-out's positives (the cross-validated recall).
        admissible: enough top-bin positives, and a non-empty pooled selection whose point
            precision meets the bound.
    """

    levels: int
    rows_per_bin: int
    bins: int
    top_bin_positives: float
    selected_positives: float
    selected_rows: int
    recall: float
    admissible: bool


@dataclass(frozen=True)
class GridChoice:
    """The grid :func:`choose_grid` chose for one precision bound: ``levels`` x ``bins`` score bins
    per level on the whole hold-out; ``fallback`` when no candidate was admissible and the default
    grid was taken; ``candidates`` every candidate's score, in the order given."""

    bound: float
    levels: int
    bins: int
    fallback: bool
    candidates: tuple[GridScore, ...]


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """``(N,)`` fold index of each row: a seeded random permutation, dealt round-robin after a
    stable sort by label, so every fold holds the same share of positives (to within one row)."""
    permutation = np.random.default_rng(seed).permutation(len(labels))  # (N,)
    by_label = permutation[np.argsort(labels[permutation], kind="stable")]  # (N,)
    fold = np.empty(len(labels), dtype=np.int64)
    fold[by_label] = np.arange(len(labels)) % folds
    return fold


def top_bin_support(
    score: np.ndarray, uncertainty: np.ndarray, labels: np.ndarray, grids: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], float]:
    """``{(levels, bins): the fewest positives in the top score bin of any level}`` of the whole
    hold-out's binning, once per distinct grid (in the order given)."""
    support: dict[tuple[int, int], float] = {}
    level_sorts: dict[int, LevelSort] = {}  # levels -> the hold-out cut and sorted (shared by bin counts)
    for levels, bins in grids:
        if (levels, bins) not in support:
            if levels not in level_sorts:
                level_sorts[levels] = LevelSort.of(score, uncertainty, labels, levels)
            support[levels, bins] = float(level_sorts[levels].binning(bins).positives[:, -1].min())
    return support


def held_fold_selections(
    score: np.ndarray,
    uncertainty: np.ndarray,
    labels: np.ndarray,
    fold: np.ndarray,
    bounds: Sequence[float],
    candidates: Sequence[tuple[int, int]],
    max_bins: int,
    confidence: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """EW-DPMT's selections on the held folds, pooled over the folds: ``(positives, rows)``, each
    ``(bounds, candidates)``.

    For every fold (``fold (N,)``: each row's fold index), the other folds are binned with the
    candidate's grid (``(levels, rows_per_bin)``, :func:`bins_per_level` of their rows), EW-DPMT's
    boundary is chosen on them at each bound with ``confidence`` and applied to the held fold.
    Candidates whose grids the ``max_bins`` cap makes equal share their work.
    """
    folds = int(fold.max()) + 1
    selected_positives = np.zeros((len(bounds), len(candidates)))  # (bounds, C), pooled over folds
    selected_rows = np.zeros((len(bounds), len(candidates)), dtype=np.int64)
    for held_fold in range(folds):
        train, held = fold != held_fold, fold == held_fold
        train_rows = int(train.sum())
        score_train, uncertainty_train, labels_train = score[train], uncertainty[train], labels[train]  # (N - N_k,)
        score_held, uncertainty_held, labels_held = score[held], uncertainty[held], labels[held]  # (N_k,)
        fold_selection: dict[tuple[int, int], list[tuple[float, int]]] = {}  # (levels, bins) -> per bound
        level_sorts: dict[int, LevelSort] = {}  # levels -> the training folds cut and sorted (shared by bin counts)
        held_levels: dict[int, np.ndarray] = {}  # levels -> (N_k,) each held row's level under those edges
        for c, (levels, per_bin) in enumerate(candidates):
            grid = (levels, bins_per_level(train_rows, levels, per_bin, max_bins))
            if grid not in fold_selection:
                if levels not in level_sorts:
                    level_sorts[levels] = LevelSort.of(score_train, uncertainty_train, labels_train, levels)
                    held_levels[levels] = uncertainty_levels(level_sorts[levels].level_edges, uncertainty_held)
                binning = level_sorts[levels].binning(grid[1])
                fold_selection[grid] = []
                for boundary in ew_dpmt_bounds(binning, bounds, confidence):  # level edges: the level sort's
                    selected = boundary.predict_at_levels(score_held, held_levels[levels])
                    fold_selection[grid].append((float(labels_held[selected].sum()), int(selected.sum())))
            for b, (positives, rows) in enumerate(fold_selection[grid]):
                selected_positives[b, c] += positives
                selected_rows[b, c] += rows
    return selected_positives, selected_rows


def score_candidates(
    bound: float,
    candidates: Sequence[tuple[int, int]],
    full_bins: Sequence[int],
    support: dict[tuple[int, int], float],
    selected_positives: np.ndarray,
    selected_rows: np.ndarray,
    total_positives: float,
    min_positives: int,
) -> tuple[GridScore, ...]:
    """Every candidate's :class:`GridScore` at one bound (``selected_positives``, ``selected_rows``:
    ``(C,)`` pooled held-fold selections at that bound; ``full_bins (C,)`` score bins per level on
    the whole hold-out). Admissible: ``support`` of its top bins >= ``min_positives``, and a non-empty
    pooled selection whose point precision meets the bound."""
    return tuple(
        GridScore(
            levels=levels,
            rows_per_bin=per_bin,
            bins=bins,
            top_bin_positives=support[levels, bins],
            selected_positives=float(selected_positives[c]),
            selected_rows=int(selected_rows[c]),
            recall=float(selected_positives[c] / total_positives),
            admissible=bool(
                support[levels, bins] >= min_positives
                and selected_rows[c] > 0
                and meets_bound(selected_positives[c], selected_rows[c], bound)
            ),
        )
        for c, ((levels, per_bin), bins) in enumerate(zip(candidates, full_bins, strict=True))
    )


def pick_grid(
    bound: float, scored: tuple[GridScore, ...], default: tuple[int, int], rows: int, max_bins: int
) -> GridChoice:
    """The admissible candidate with the most pooled selected positives (ties: fewer cells
    ``levels x bins``, then the earlier candidate); ``default`` (a ``(levels, rows_per_bin)`` pair,
    binned over ``rows`` rows) with ``fallback=True`` when none is admissible."""
    admissible = [g for g in scored if g.admissible]
    if admissible:
        # max() keeps the first of equals: most positives, then fewest cells, then candidate order
        best = max(admissible, key=lambda g: (g.selected_positives, -g.levels * g.bins))
        return GridChoice(bound, best.levels, best.bins, fallback=False, candidates=scored)
    levels, per_bin = default
    bins = bins_per_level(rows, levels, per_bin, max_bins)
    return GridChoice(bound, levels, bins, fallback=True, candidates=scored)


def choose_grid(
    score: np.ndarray,
    uncertainty: np.ndarray,
    labels: np.ndarray,
    bounds: Sequence[float],
    candidates: Sequence[tuple[int, int]],
    default: tuple[int, int],
    *,
    max_bins: int,
    folds: int,
    min_positives: int,
    confidence: float | None,
    seed: int,
) -> list[GridChoice]:
    """Per precision bound, the equi-weight grid (levels, score bins per level) of EW-DPMT and MIST,
    chosen on the hold-out by ``folds``-fold cross-validation.

    ``candidates`` are ``(levels, rows_per_bin)`` pairs; a grid of ``n`` rows has
    :func:`bins_per_level` ``(n, levels, rows_per_bin, max_bins)`` score bins per level. For every
    fold, the other folds are binned (:func:`~.boundaries.equi_weight_binning`), EW-DPMT's boundary is chosen on
    them at the bound with ``confidence`` (:func:`ew_dpmt`) and applied to the held fold; selected
    positives and rows are pooled over the folds (:func:`held_fold_selections`). A candidate is
    admissible (:func:`score_candidates`) when

    (a) on the whole hold-out's binning, the top score bin of every level holds at least
        ``min_positives`` positives: enough support where high-precision boundaries fall, and
    (b) its pooled held-fold selection is non-empty and its point precision meets the bound
        (:func:`meets_bound` without confidence).

    The admissible candidate with the most pooled selected positives wins (ties: fewer cells
    ``levels x bins``, then the earlier candidate); when none is admissible, ``default`` (a
    ``(levels, rows_per_bin)`` pair) is taken with ``fallback=True`` (:func:`pick_grid`). Folds come
    from :func:`stratified_folds` with ``seed``, so the same inputs give the same choice. MIST uses
    the grid chosen here; no separate search is run for it. The boundary of each fold is chosen as
    on the whole hold-out (the same ``confidence``), on ``(folds - 1) / folds`` of its rows, so the
    held-fold recall is a slightly pessimistic estimate of the final boundary's.

    Cost: every distinct fold grid is binned once per fold (one O(N log N) sort each) and runs one
    DP per bound (O(L . K_max . min(B, K_max)), :func:`ew_dpmt`), plus one binning of the whole
    hold-out per distinct grid for (a); candidates that the ``max_bins`` cap makes equal share
    their work.
    """
    score = np.asarray(score, dtype=np.float64)
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    check_inputs(score, labels, uncertainty)
    for bound in bounds:
        check_bound(bound)
    if folds < 2 or len(score) < folds:
        raise ValueError(f"need 2 <= folds <= rows, got folds={folds} for {len(score)} rows")
    by_score = np.argsort(score, kind="stable")  # (N,): sorted rows make every binning's sort O(N)
    score, uncertainty, labels = score[by_score], uncertainty[by_score], labels[by_score]
    rows = len(score)
    full_bins = [bins_per_level(rows, levels, per_bin, max_bins) for levels, per_bin in candidates]  # (C,)
    support = top_bin_support(
        score, uncertainty, labels, [(levels, bins) for (levels, _), bins in zip(candidates, full_bins, strict=True)]
    )
    fold = stratified_folds(labels, folds, seed)  # (N,)
    selected_positives, selected_rows = held_fold_selections(
        score, uncertainty, labels, fold, bounds, candidates, max_bins, confidence
    )
    total_positives = max(float(labels.sum()), 1e-12)
    return [
        pick_grid(
            bound,
            score_candidates(
                bound, candidates, full_bins, support, selected_positives[b], selected_rows[b], total_positives,
                min_positives,
            ),
            default,
            rows,
            max_bins,
        )
        for b, bound in enumerate(bounds)
    ]
