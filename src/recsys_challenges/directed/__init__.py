"""T1, directed graphs: dual-embedding GNN with degree-adaptive neighbour sampling.

BLADE (Virinchi & Saladi, WSDM 2023) and DAEMON (Virinchi, Saladi & Mondal, ECML-PKDD 2022,
arXiv 2211.11583): every node has a source and a target embedding learned by message passing,
``score(u -> v) = s_u . t_v``, trained with an asymmetric loss; neighbourhoods are sampled with
fan-outs that shrink with the degree. Claims C1-C3 of the keynote (see README).

Modules: :mod:`.config` (params sections, output paths), :mod:`.sampling` (fan-out rules,
vectorised sampler), :mod:`.models` (encoders, decoders), :mod:`.losses`, :mod:`.splits`,
:mod:`.metrics`; :mod:`.module` (the LightningModule), :mod:`.loop` (fitting: every method on every
seed), :mod:`.evaluate` (test metrics), :mod:`.results` (the result files' types), :mod:`.figures`,
:mod:`.control` (planted C3 control), :mod:`.search` (validation grid), :mod:`.bench`; :mod:`.stage`
holds every stage's ``main`` (``directed-train``, ``-evaluate``, ``-figures``, ``-control``,
``-search``, ``-bench``).
"""
