"""The ``criteo_conversion_logs`` parser (data/sources/conversions.py) on a hand-made file in the exact format."""

from __future__ import annotations

import pytest

from recsys_challenges.data.prepare import PARSERS
from recsys_challenges.data.sources.conversions import criteo_conversion_logs
from recsys_challenges.errors import DataError

# click ts, conversion ts (empty: none), 8 numeric, 9 categorical (hashed, may be empty)
LINES = [
    "0\t\t5\t1\t\t0\t3\t7\t2\t9\t5E9C1B2A\t1A2B3C4D\t\tA1\tB2\tC3\tD4\tE5\tF6",
    "12\t3612\t0\t0\t1\t1\t0\t0\t0\t4\t5E9C1B2A\t77AA88BB\t99CC\tA1\tB2\tC3\tD4\tE5\tF6",
]


def write(tmp_path, lines):
    (tmp_path / "data.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_registered_as_a_parser():
    assert PARSERS["criteo_conversion_logs"] is criteo_conversion_logs


def test_parses_the_published_format(tmp_path):
    table = criteo_conversion_logs(write(tmp_path, LINES))
    frame = table.frame
    assert frame["click_ts"].tolist() == [0, 12]
    assert frame["conversion_ts"].isna().tolist() == [True, False]
    assert int(frame["conversion_ts"].iloc[1]) == 3612
    assert frame["I3"].isna().tolist() == [True, False]  # empty numeric field -> missing, not NaN
    assert frame["I1"].tolist() == [5.0, 0.0]
    assert frame["C3"].isna().tolist() == [True, False]
    assert frame["C1"].tolist() == ["5E9C1B2A", "5E9C1B2A"]
    assert table.stats["conversions"] == 1


def test_a_line_that_lost_its_trailing_empty_fields_reads_them_empty(tmp_path):
    frame = criteo_conversion_logs(write(tmp_path, [LINES[0], LINES[1].rsplit("\t", 2)[0]])).frame
    assert frame["C7"].tolist() == ["D4", "D4"] and frame["C8"].isna().tolist() == [False, True]


def test_bad_lines_are_errors_naming_the_line(tmp_path):
    with pytest.raises(DataError, match="18 fields per line, expected 19"):
        criteo_conversion_logs(write(tmp_path, [LINES[0].rsplit("\t", 1)[0]]))
    with pytest.raises(DataError, match="Expected 19 fields in line 2, saw 20"):
        criteo_conversion_logs(write(tmp_path, [LINES[0], LINES[1] + "\tX"]))
    with pytest.raises(DataError, match="column 'I1' row 1: 'x' is not a number"):
        criteo_conversion_logs(write(tmp_path, [LINES[0], LINES[1].replace("\t0\t0\t1", "\tx\t0\t1", 1)]))
    with pytest.raises(DataError, match="line 1: conversion before its click"):
        criteo_conversion_logs(write(tmp_path, ["100\t50" + LINES[0][2:]]))
    with pytest.raises(DataError, match="not an integer"):
        criteo_conversion_logs(write(tmp_path, ["1.5" + LINES[0][1:]]))
    with pytest.raises(DataError, match="not found"):
        criteo_conversion_logs(tmp_path / "missing")
