"""T3: uncertainty-aware decision boundaries (Arora, Merugu, Saladi & Rastogi, ICLR 2024, arXiv 2311.11723).

A classifier gives each example a score (mean predicted probability) and an uncertainty (its
variance over a deep ensemble or MC-dropout passes); a decision boundary in the (score,
uncertainty) plane, chosen on a hold-out split, is measured once on a test split.
Claims: C6 (at a fixed score, the positivity rate falls as uncertainty grows) and C7 (at high
precision bounds, per-level thresholds, EW-DPMT and MIST, recall more than one score threshold).
"""
