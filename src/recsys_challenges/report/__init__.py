"""Figures and the claims report: shared figure style, verdicts computed from metrics files."""
