"""Headline numbers and plot rows for DVC, derived from the committed payloads.

Stages ``<technique>_headline`` read ``reports/metrics/<technique>/*.json`` (the full payloads, DVC
``outs``) and write ``reports/headline/<technique>.json`` (about ten numbers per dataset, the DVC
``metrics`` that ``dvc metrics show`` / ``diff`` and ``dvc exp show`` print) and
``reports/plots/<technique>.json`` (rows that ``dvc plots show`` draws with the templates in
``.dvc/plots``). The verdict of each claim is ``reports/headline/claims.json``, written by the
``report`` stage.
"""
