"""T2, delayed feedback: conversion-rate models trained on a stream whose labels arrive late.

ES-DFM's streaming protocol (Yang et al., AAAI 2021): clicks enter the stream before their
conversion is known; each method is an ingestion strategy plus importance weights that correct the
fake negatives (FNW, FSIW, ES-DFM, DEFER, DEFUSE), against the talk's pre-conversion-aware weights
that also read the signals a click emits before it converts. Claims C4-C5 of the keynote (see README).

Modules: :mod:`.config` (params), :mod:`.conversions` (conversion tables), :mod:`.build` (building
them, the simulator), :mod:`.stream` (the protocol: timeline, ingestion strategies),
:mod:`.methods`, :mod:`.weights`, :mod:`.auxiliary` (models of the weights' probabilities),
:mod:`.models` (networks), :mod:`.metrics`; :mod:`.loop` (fitting), :mod:`.evaluate` (testing,
summaries over seeds), :mod:`.experiment` (one stream run, wiring both), :mod:`.results` (the metrics
files' schema), :mod:`.sweep`, :mod:`.figures`, :mod:`.bench`; :mod:`.stage` holds every stage's ``main``.
"""
