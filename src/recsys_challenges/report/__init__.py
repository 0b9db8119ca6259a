"""The claims report: the seven claims of the talk, each with the rule that turns the metrics files
(``reports/metrics/**.json``) into its verdict, rendered as Markdown, JSON and an offline page.

Modules: :mod:`.evidence` (the metrics files, paired per-seed comparisons, the verdict records and
:func:`~.evidence.decide`), :mod:`.claims` (each claim's text next to its rule, by technique:
``claims/directed.py`` C1-C3, ``claims/delayed.py`` C4-C5, ``claims/uncertainty.py`` C6-C7),
:mod:`.stability` (each verdict under re-drawn seeds), :mod:`.render` (claims.md, claims.json, the
verdict summary, the gallery); stages :mod:`.stage` (``report``, ``report_gallery``) and
:mod:`.screenshot` (``make screenshot``). The report reads no technique code: only the techniques'
config modules, for the numbers its texts quote.
"""
