"""T3 datasets: a registry of loaders (prepared table -> features and labels), splits, down-sampling.

A loader reads one prepared table folder and returns a :class:`LabelledTable`. Adding a dataset is
one entry in :data:`LOADERS` plus one entry in ``uncertainty.datasets`` of params.yaml, e.g. the
Taobao view->buy table of T2 (loader ``conversions``). A user's own table (README "Your own data")
uses loader ``table`` (features + label) or ``scores`` (their model's score and uncertainty: the
estimator is skipped, see ``loop.given_scores``).

Splits: train / hold-out / test by *group* (KDD Cup 2004: the native protein sequence of a row,
whose examples are correlated; click logs: the row itself), so no group spans two splits; or by
*time* (``split.by: time``; MovieLens: train on the earliest ratings, hold-out the next, test the
last), where the groups (users) are the bootstrap's resampling unit only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer

from recsys_challenges.data.formats import load_table
from recsys_challenges.errors import DataError
from recsys_challenges.uncertainty.config import SplitParams


@dataclass(frozen=True)
class LabelledTable:
    """Features and binary labels of one dataset.

    Attributes:
        numeric: ``(N, F)`` float32 numeric features (raw scale; standardised on the train split).
        categorical: ``(N, C)`` int64 codes, ``0`` = missing, ``1..cardinality-1`` = values.
        cardinalities: ``(C,)`` number of codes per categorical field (missing included).
        labels: ``(N,)`` int8 in {0, 1}.
        groups: ``(N,)`` int64 split unit; rows of one group always share a split.
        truth: ``(N,)`` float64 true positive probability where the data are simulated, else None.
        times: ``(N,)`` int64 time of each row where the split may follow time, else None.
    """

    numeric: np.ndarray
    categorical: np.ndarray
    cardinalities: tuple[int, ...]
    labels: np.ndarray
    groups: np.ndarray
    truth: np.ndarray | None = None
    times: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if not (len(self.numeric) == len(self.categorical) == len(self.groups) == n):
            raise DataError("numeric, categorical, labels and groups differ in length")
        if self.categorical.shape[1] != len(self.cardinalities):
            raise DataError("one cardinality per categorical field expected")
        if not np.isfinite(self.numeric).all():
            raise DataError("numeric features must be finite")
        if not np.isin(self.labels, (0, 1)).all():
            raise DataError("labels must be 0 or 1")
        if self.truth is not None and (len(self.truth) != n or not ((self.truth >= 0) & (self.truth <= 1)).all()):
            raise DataError("truth must hold one probability in [0, 1] per row")
        if self.times is not None and len(self.times) != n:
            raise DataError("times must hold one time per row")

    def take(self, rows: np.ndarray) -> LabelledTable:
        return LabelledTable(
            self.numeric[rows],
            self.categorical[rows],
            self.cardinalities,
            self.labels[rows],
            self.groups[rows],
            None if self.truth is None else self.truth[rows],
            None if self.times is None else self.times[rows],
        )


def encode_categories(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(N, C)`` codes of ``columns`` (missing -> 0, values -> 1.. in order of appearance) and cardinalities."""
    codes, cardinalities = [], []
    for column in columns:
        values, uniques = pd.factorize(frame[column], use_na_sentinel=True)  # missing -> -1
        codes.append(values.astype(np.int64) + 1)
        cardinalities.append(len(uniques) + 1)
    stacked = np.stack(codes, axis=1) if codes else np.zeros((len(frame), 0), dtype=np.int64)
    return stacked, tuple(cardinalities)


def signed_log_counts(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``(N, 2 K)``: ``sign(x) log(1 + |x|)`` of integer count columns (missing -> 0), then missing flags."""
    values = frame[columns].astype("Float64")
    missing = values.isna().to_numpy()
    raw = values.fillna(0.0).to_numpy(dtype=np.float64)
    return np.concatenate([np.sign(raw) * np.log1p(np.abs(raw)), missing], axis=1).astype(np.float32)


def _labels(frame: pd.DataFrame, column: str, folder: Path) -> np.ndarray:
    if column not in frame.columns:
        raise DataError(f"{folder}: label column {column!r} missing (found: {', '.join(frame.columns)})")
    return frame[column].to_numpy().astype(np.int8)


def _require_features(frame: pd.DataFrame, columns: list[str], folder: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{folder}: missing columns {missing}")


def kddcup2004_protein(folder: Path) -> LabelledTable:
    """KDD Cup 2004 protein homology: 74 numeric features; groups = the 153 native sequences."""
    frame = load_table(folder)
    features = [str(i) for i in range(4, 78)]
    _require_features(frame, ["block_id", *features], folder)
    return LabelledTable(
        numeric=frame[features].to_numpy(dtype=np.float32),
        categorical=np.zeros((len(frame), 0), dtype=np.int64),
        cardinalities=(),
        labels=_labels(frame, "target", folder),
        groups=frame["block_id"].to_numpy(dtype=np.int64),
    )


def criteo(folder: Path) -> LabelledTable:
    """A Criteo-format click log (``label``, counts ``I*``, categories ``C*``): the Criteo DAC head or
    the simulated click log. Counts become signed log counts plus missing flags; one group per row;
    the simulator's ``true_ctr`` column, where present, is the truth."""
    frame = load_table(folder)
    counts = sorted((c for c in frame.columns if c[0] == "I" and c[1:].isdigit()), key=lambda c: int(c[1:]))
    categories = sorted((c for c in frame.columns if c[0] == "C" and c[1:].isdigit()), key=lambda c: int(c[1:]))
    if not counts and not categories:
        raise DataError(f"{folder}: no Criteo feature columns I1.. or C1..")
    codes, cardinalities = encode_categories(frame, categories)
    return LabelledTable(
        numeric=signed_log_counts(frame, counts),
        categorical=codes,
        cardinalities=cardinalities,
        labels=_labels(frame, "label", folder),
        groups=np.arange(len(frame), dtype=np.int64),
        truth=frame["true_ctr"].to_numpy(dtype=np.float64) if "true_ctr" in frame.columns else None,
    )


def conversions(folder: Path) -> LabelledTable:
    """A T2 conversion table (``data/delayed/conversions/<name>``, schema in
    ``recsys_challenges.delayed.conversions``; read from its files, so T3 does not import T2):
    did the click convert within the attribution window.

    Only clicks whose window closed before the log ends (``click_ts + window_s <= horizon_ts``)
    are kept: a later click's label is not final. Features are those known at click time (Taobao:
    user, item, category and hour of day as categories; numeric columns as ``log1p``); the
    pre-conversion signals are left out (they happen after the click and reveal the label).
    Groups: the user where there is one (Taobao), so no user spans two splits; else one per row.
    """
    meta = json.loads((folder / "meta.json").read_text())
    frame = pd.read_parquet(folder / "clicks.parquet")
    frame = frame[frame["click_ts"] + meta["window_s"] <= meta["horizon_ts"]].reset_index(drop=True)
    codes, cardinalities = encode_categories(frame, list(meta["categorical"]))
    groups = frame["user_id"] if "user_id" in frame.columns else np.arange(len(frame))
    return LabelledTable(
        numeric=np.log1p(frame[list(meta["numeric"])].to_numpy(dtype=np.float64)).astype(np.float32),
        categorical=codes,
        cardinalities=cardinalities,
        labels=frame["conversion_ts"].notna().to_numpy().astype(np.int8),
        groups=np.asarray(groups, dtype=np.int64),
    )


OBD_CATEGORIES = [
    "item_id",
    "position",
    "campaign",
    *(f"user_feature_{i}" for i in range(4)),
    *(f"item_feature_{i}" for i in (1, 2, 3)),
]


def open_bandit(folder: Path) -> LabelledTable:
    """Open Bandit Dataset (small): did the shown item get a click. One group per row."""
    frame = load_table(folder)
    codes, cardinalities = encode_categories(frame, OBD_CATEGORIES)
    return LabelledTable(
        numeric=frame[["user_item_affinity", "item_feature_0"]].to_numpy(dtype=np.float32),
        categorical=codes,
        cardinalities=cardinalities,
        labels=_labels(frame, "click", folder),
        groups=np.arange(len(frame), dtype=np.int64),
    )


def user_table(folder: Path) -> LabelledTable:
    """A user's table prepared by ``prepare-local`` (parser ``labelled_table``): ``label``, an optional
    ``group``, then features, numeric (float columns, as they are) or categorical (text columns)."""
    frame = load_table(folder)
    features = [c for c in frame.columns if c not in ("label", "group")]
    numeric = [c for c in features if pd.api.types.is_float_dtype(frame[c])]
    categorical = [c for c in features if c not in numeric]
    codes, cardinalities = encode_categories(frame, categorical)
    groups = frame["group"] if "group" in frame.columns else np.arange(len(frame))
    return LabelledTable(
        numeric=frame[numeric].to_numpy(dtype=np.float32).reshape(len(frame), len(numeric)),
        categorical=codes,
        cardinalities=cardinalities,
        labels=_labels(frame, "label", folder),
        groups=np.asarray(groups, dtype=np.int64),
    )


def adult_census(folder: Path) -> LabelledTable:
    """UCI Adult: does a person earn more than 50K a year. Features: the six numeric columns
    (``capital_gain``, ``capital_loss`` as log counts) and the eight categorical ones (missing ->
    code 0). Nothing is known to leak. One group per row."""
    frame = load_table(folder)
    numeric = ["age", "fnlwgt", "educational_num", "hours_per_week"]
    counts = ["capital_gain", "capital_loss"]
    categorical = ["workclass", "education", "marital_status", "occupation", "relationship", "race", "gender",
                   "native_country"]
    _require_features(frame, [*numeric, *counts, *categorical], folder)
    codes, cardinalities = encode_categories(frame, categorical)
    return LabelledTable(
        numeric=np.concatenate(
            [frame[numeric].to_numpy(dtype=np.float32), np.log1p(frame[counts].to_numpy(dtype=np.float32))], axis=1
        ),
        categorical=codes,
        cardinalities=cardinalities,
        labels=_labels(frame, "income_over_50k", folder),
        groups=np.arange(len(frame), dtype=np.int64),
    )


REVIEW_HASH_BUCKETS = 64  # hashed token buckets of a review's title + text


def review_text_features(title: pd.Series, text: pd.Series) -> np.ndarray:
    """``(N, 4 + REVIEW_HASH_BUCKETS)`` float32: ``log1p`` of the title's and the text's length in
    characters, their missing flags, then ``log1p`` counts of the lower-cased word tokens of title
    and text hashed into ``REVIEW_HASH_BUCKETS`` buckets (scikit-learn's ``HashingVectorizer``:
    MurmurHash3, the same on every machine)."""
    vectoriser = HashingVectorizer(n_features=REVIEW_HASH_BUCKETS, alternate_sign=False, norm=None)
    words = (title.fillna("") + " " + text.fillna("")).tolist()
    lengths = np.stack([title.fillna("").str.len(), text.fillna("").str.len()], axis=1).astype(np.float64)
    flags = np.stack([title.isna(), text.isna()], axis=1).astype(np.float64)
    tokens = vectoriser.transform(words).toarray()
    return np.concatenate([np.log1p(lengths), flags, np.log1p(tokens)], axis=1).astype(np.float32)


def womens_reviews(folder: Path) -> LabelledTable:
    """Women's clothing e-commerce reviews: does the reviewer recommend the product.

    Features: the product (``clothing_id``) and its division, department and class (categorical),
    the reviewer's age, and the review's text only through :func:`review_text_features` (lengths,
    missing flags, hashed token counts). Left out: ``rating`` (ratings 4-5 are 99% recommended,
    1-2 are 5%: it nearly is the label) and ``positive_feedback_count`` (other shoppers' votes on
    the review, gathered after it was posted). Groups: the product, so a product's reviews share a
    split."""
    frame = load_table(folder)
    categorical = ["clothing_id", "division_name", "department_name", "class_name"]
    _require_features(frame, [*categorical, "age", "title", "review_text"], folder)
    codes, cardinalities = encode_categories(frame, categorical)
    return LabelledTable(
        numeric=np.concatenate(
            [frame[["age"]].to_numpy(dtype=np.float32), review_text_features(frame["title"], frame["review_text"])],
            axis=1,
        ),
        categorical=codes,
        cardinalities=cardinalities,
        labels=_labels(frame, "recommended", folder),
        groups=frame["clothing_id"].to_numpy(dtype=np.int64),
    )


LIKED_RATING = 4  # MovieLens: a rating of 4 or 5 is "liked"


def movielens_100k(folder: Path) -> LabelledTable:
    """MovieLens 100K: will the user like the film (``rating >= 4``).

    Features: user and film ids, the user's gender, occupation and the first digit of the zip code
    (categorical); the user's age, the film's release year (0 where unknown, with a missing flag)
    and its 19 genre flags (numeric). ``rating`` gives the label only; ``timestamp`` orders the
    split only (``times``). Groups: the user (the bootstrap's resampling unit; the split follows
    time, so a user's early and late ratings may fall in different splits).
    """
    frame = load_table(folder)
    genres = [c for c in frame.columns if c.startswith("genre_")]
    categorical = ["user_id", "movie_id", "gender", "occupation"]
    _require_features(frame, [*categorical, "zip_code", "age", "release_date", "rating", "timestamp"], folder)
    if not genres:
        raise DataError(f"{folder}: no genre_* columns")
    if not frame["rating"].between(1, 5).all():
        raise DataError(f"{folder}: column 'rating' has values outside 1-5")
    features = frame[categorical].assign(zip_region=frame["zip_code"].str[:1])
    codes, cardinalities = encode_categories(features, [*categorical, "zip_region"])
    year = frame["release_date"].dt.year
    return LabelledTable(
        numeric=np.concatenate(
            [
                frame[["age"]].to_numpy(dtype=np.float32),
                np.stack([year.fillna(0).to_numpy(dtype=np.float32), year.isna().to_numpy(dtype=np.float32)], axis=1),
                frame[genres].to_numpy(dtype=np.float32),
            ],
            axis=1,
        ),
        categorical=codes,
        cardinalities=cardinalities,
        labels=(frame["rating"] >= LIKED_RATING).to_numpy().astype(np.int8),
        groups=frame["user_id"].to_numpy(dtype=np.int64),
        times=frame["timestamp"].to_numpy(dtype=np.int64),
    )


# loader name (uncertainty.datasets.<name>.loader) -> prepared folder -> features and labels
LOADERS: dict[str, Callable[[Path], LabelledTable]] = {
    "kddcup2004_protein": kddcup2004_protein,
    "criteo": criteo,
    "open_bandit": open_bandit,
    "conversions": conversions,
    "adult_census": adult_census,
    "womens_reviews": womens_reviews,
    "movielens_100k": movielens_100k,
    "table": user_table,
}
# loader of a user's own scores (parser ``scored_table``): no estimator, the boundaries only
SCORES = "scores"

SPLITS = ("train", "holdout", "test")


def split_by_group(
    groups: np.ndarray, train: float, holdout: float, seed: int, shuffle: bool = True
) -> dict[str, np.ndarray]:
    """Row indices of the train / hold-out / test splits; each group falls wholly in one split.

    Groups are shuffled with ``seed`` (or, ``shuffle=False``, kept in ascending order of their
    value: times, so train < hold-out < test) and laid end to end; a group goes to the split whose
    row fraction its midpoint falls in, so the row fractions are met to within one group.
    """
    unique, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(unique)) if shuffle else np.arange(len(unique))
    midpoint = (np.cumsum(sizes[order]) - sizes[order] / 2) / len(groups)  # (G,) in shuffled order
    split_of_group = np.empty(len(unique), dtype=np.int64)
    split_of_group[order] = np.searchsorted([train, train + holdout], midpoint, side="right")
    split_of_row = split_of_group[inverse]
    return {name: np.flatnonzero(split_of_row == i) for i, name in enumerate(SPLITS)}


def split_rows(table: LabelledTable, split: SplitParams, source: Path) -> dict[str, np.ndarray]:
    """:func:`split_by_group` on the table's groups, or (``split.by == "time"``) on its times in
    order, rows of one time kept together; every split must hold both labels (``source`` is named
    otherwise)."""
    if split.by == "time":
        if table.times is None:
            raise DataError(f"{source}: split by time, but its loader gives no times")
        rows = split_by_group(table.times, split.train, split.holdout, split.seed, shuffle=False)
    else:
        rows = split_by_group(table.groups, split.train, split.holdout, split.seed)
    for name, index in rows.items():
        positives = int(table.labels[index].sum())
        if positives == 0 or positives == len(index):
            raise DataError(
                f"{source}: the {name} split ({len(index)} rows) has {positives} positives: "
                "a split needs both labels"
            )
    return rows


def downsample_negatives(labels: np.ndarray, keep: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of all positives and of each negative kept with probability ``keep`` (in row order)."""
    kept = (labels == 1) | (rng.random(len(labels)) < keep)
    return np.flatnonzero(kept)


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale columns to zero mean and unit variance with the statistics of ``train`` (constant columns: 1)."""
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return [((x - mean) / std).astype(np.float32) for x in (train, *others)]
