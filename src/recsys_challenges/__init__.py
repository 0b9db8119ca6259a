"""recsys-challenges: reference replication of the three techniques of Rajeev Rastogi's RecSys 2023 keynote.

Subpackages: ``data`` (catalog, fetch, prepare), ``directed`` (T1: dual-embedding GNN on directed
graphs), ``delayed`` (T2: delayed-feedback importance weighting), ``uncertainty`` (T3:
uncertainty-aware decision boundaries), ``report`` (figures and claim verdicts).
"""

__version__ = "0.1.0"
