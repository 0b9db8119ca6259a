"""T3, uncertainty-aware decision boundaries (Arora, Merugu, Saladi & Rastogi, ICLR 2024, arXiv 2311.11723).

A classifier gives each example a score (the mean of a posterior over its positive-class
probability) and an uncertainty (that posterior's spread: by default the density posterior, whose
evidence is the training density near the example; a posterior network, a deep ensemble and MC
dropout are ablations, ``uncertainty.train`` in params.yaml); a decision boundary in the (score,
uncertainty) plane, chosen on a hold-out split, is measured once on a test split. Claims C6 (at a
fixed score, the positivity rate falls as uncertainty grows) and C7 (at high precision bounds,
per-level thresholds, EW-DPMT and MIST, recall more than one score threshold).

Modules: :mod:`.config`, :mod:`.datasets` (loaders, splits), :mod:`.estimators` and :mod:`.density`
(the models), :mod:`.loop` (fitting, writing :mod:`.predictions`), :mod:`.boundaries` (single
threshold, EW-DPMT, MIST, detrending), :mod:`.grid_cv` (their grid, cross-validated),
:mod:`.positivity` (C6), :mod:`.evaluate` (metrics), :mod:`.results` (the metrics file);
:mod:`.figures`, :mod:`.bench`; :mod:`.stage` holds the stages' mains.
"""
