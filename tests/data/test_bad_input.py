"""Bad input fails early with a DataError naming the file and the problem."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from recsys_challenges.data.prepare import PARSERS, DatasetSpec, prepare
from recsys_challenges.errors import DataError


def write_taobao(folder, lines: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "UserBehavior.csv").write_text("\n".join(lines) + "\n")


GOOD = "1,2268318,2520377,pv,1511544070"


@pytest.mark.parametrize(
    "line, message",
    [
        ("1,2268318,2520377,pv", "4 columns, expected 5"),
        ("x1,2268318,2520377,pv,1511544070", "column 'user_id' has 1 non-integer value.*'x1'"),
        ("1,2268318,2520377,click,1511544070", "column 'behavior' has 1 value.* outside"),
        ("1,2268318,2520377,pv,4102444800", "column 'timestamp' has 1 value.* outside"),
        ("1,2268318,,pv,1511544070", "column 'category_id' has 1 non-integer"),
    ],
)
def test_taobao_bad_rows(tmp_path, line, message):
    write_taobao(tmp_path, [GOOD, line] if "columns" not in message else [line, line])
    with pytest.raises(DataError, match=rf"UserBehavior.csv: {message}"):
        PARSERS["taobao_user_behavior"](tmp_path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_kddcup_nan_or_infinite_feature_is_an_error(tmp_path, mirror, bad):
    frame = pd.read_parquet(mirror / "classification/kddcup2004_protein_homology_widedeep/bio_train.parquet.brotli")
    frame = frame.head(50).copy()
    frame.loc[7, "12"] = bad
    frame.to_parquet(tmp_path / "bio_train.parquet.brotli")
    with pytest.raises(DataError, match=r"bio_train.parquet.brotli: column '12' has 1 NaN or infinite value\(s\), first at row 7"):
        PARSERS["kddcup2004_protein"](tmp_path)


def test_kddcup_missing_column_is_an_error(tmp_path, mirror):
    frame = pd.read_parquet(mirror / "classification/kddcup2004_protein_homology_widedeep/bio_train.parquet.brotli")
    frame.head(20).drop(columns=["target"]).to_parquet(tmp_path / "bio_train.parquet.brotli")
    with pytest.raises(DataError, match="missing column 'target'"):
        PARSERS["kddcup2004_protein"](tmp_path)


def test_criteo_line_with_too_many_fields(tmp_path):
    (tmp_path / "train.txt").write_text("0" + "\t1" * 45 + "\n")
    with pytest.raises(DataError, match="train.txt: line 1 has 46 fields"):
        PARSERS["criteo_tsv"](tmp_path)


def test_criteo_non_integer_count(tmp_path):
    (tmp_path / "train.txt").write_text("0\t1.5" + "\t" * 38 + "\n")
    with pytest.raises(DataError, match="column 'I1' row 0: '1.5' is not an integer"):
        PARSERS["criteo_tsv"](tmp_path)


def test_graph_with_non_numeric_id(tmp_path):
    (tmp_path / "subelj_cora.csv").write_text("0,1\n1,two\n")
    with pytest.raises(DataError, match="subelj_cora.csv: column 'dst' has 1 non-integer value"):
        PARSERS["subelj_cora"](tmp_path)


def test_jlg_with_fewer_edges_than_its_header(tmp_path, mirror):
    folder = mirror / "citation/snap_cit_hep_snapdatasetsjl"
    with gzip.open(folder / "arxiv-cit-hep-th.jlg", "rt") as handle:
        lines = handle.read().splitlines()[:1000]
    with gzip.open(tmp_path / "arxiv-cit-hep-th.jlg", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    shutil.copy(folder / "arxiv-cit-hep-th-ids.csv", tmp_path)
    with pytest.raises(DataError, match="header announces 352807 edges, read 999"):
        PARSERS["snap_cit_hepth"](tmp_path)


def test_corrupt_gzip_in_the_middle_is_an_error(tmp_path, mirror):
    data = bytearray((mirror / "citation/snap_cit_hep_snapdatasetsjl/arxiv-cit-hep-th.jlg").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    (tmp_path / "arxiv-cit-hep-th.jlg").write_bytes(bytes(data))
    with pytest.raises(DataError, match="arxiv-cit-hep-th.jlg: (unreadable compressed stream|not a valid CSV file)"):
        PARSERS["snap_cit_hepth"](tmp_path)


def test_failed_prepare_leaves_no_output(tmp_path):
    write_taobao(tmp_path / "raw", [GOOD, "1,2,3,pv,oops"])
    out = tmp_path / "prepared" / "taobao"
    spec = DatasetSpec(source="taobao_userbehavior_subset", parser="taobao_user_behavior")
    with pytest.raises(DataError):
        prepare("taobao", spec, tmp_path / "raw", out)
    assert not out.exists() and not (tmp_path / "prepared").exists()


def test_prepare_of_an_unfetched_source_says_which_stage_to_run(tmp_path):
    spec = DatasetSpec(source="taobao_userbehavior_subset", parser="taobao_user_behavior")
    with pytest.raises(DataError, match=r"run `dvc repro fetch@taobao_userbehavior_subset`"):
        prepare("taobao", spec, tmp_path / "missing", tmp_path / "out")


def test_taobao_is_parsed_in_chunks_and_errors_name_the_row_of_the_whole_file(tmp_path, monkeypatch):
    from recsys_challenges.data.sources import events

    monkeypatch.setattr(events, "CHUNK_ROWS", 2)
    write_taobao(tmp_path, [GOOD] * 5)
    assert len(PARSERS["taobao_user_behavior"](tmp_path).frame) == 5
    write_taobao(tmp_path, [GOOD] * 3 + ["1,2,3,pv,oops", GOOD])
    with pytest.raises(DataError, match="column 'timestamp' has 1 non-integer value.*first at row 3: 'oops'"):
        PARSERS["taobao_user_behavior"](tmp_path)


WIDEDEEP = {  # parser -> (mirror folder, member file, label column, a value outside its two)
    "adult_census": ("classification/adult_census_widedeep", "adult.parquet.brotli", "income", ">50K."),
    "womens_reviews": (
        "classification/womens_ecommerce_reviews_widedeep", "WomensClothingE-CommerceReviews.parquet.brotli",
        "Recommended IND", 2,
    ),
    "movielens_100k": ("ratings/movielens100k_widedeep", "MovieLens100k_data.parquet.brotli", "rating", 6),
}


def _copy_member_heads(mirror, folder: str, tmp_path, rows: int = 200) -> None:
    for path in (mirror / folder).iterdir():
        frame = pd.read_parquet(path)
        (frame.head(rows) if "items" not in path.name and "users" not in path.name else frame).to_parquet(
            tmp_path / path.name
        )


@pytest.mark.parametrize("parser", sorted(WIDEDEEP))
def test_widedeep_label_outside_its_two_values_names_the_file(tmp_path, mirror, parser):
    folder, member, column, bad = WIDEDEEP[parser]
    _copy_member_heads(mirror, folder, tmp_path)
    frame = pd.read_parquet(tmp_path / member)
    frame[column] = frame[column].astype(object)
    frame.loc[3, column] = bad
    frame.to_parquet(tmp_path / member)
    with pytest.raises(DataError, match=rf"{member}: column {column!r} has 1 value\(s\) outside .*first at row 3"):
        PARSERS[parser](tmp_path)


@pytest.mark.parametrize("parser", sorted(WIDEDEEP))
def test_widedeep_missing_member_names_the_file(tmp_path, mirror, parser):
    folder, member, _, _ = WIDEDEEP[parser]
    _copy_member_heads(mirror, folder, tmp_path)
    (tmp_path / member).unlink()
    with pytest.raises(DataError, match=rf"{member}: file not found"):
        PARSERS[parser](tmp_path)


def test_failed_widedeep_prepare_writes_nothing(tmp_path, mirror):
    folder, member, column, bad = WIDEDEEP["adult_census"]
    raw = tmp_path / "raw"
    raw.mkdir()
    _copy_member_heads(mirror, folder, raw)
    frame = pd.read_parquet(raw / member)
    frame.loc[0, column] = bad
    frame.to_parquet(raw / member)
    out = tmp_path / "prepared" / "adult_census"
    with pytest.raises(DataError, match="outside"):
        prepare("adult_census", DatasetSpec(source="adult_census_widedeep", parser="adult_census"), raw, out)
    assert not out.exists() and not (tmp_path / "prepared").exists()
