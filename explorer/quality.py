"""How good is a map for a label column: kNN accuracy in the full space and in 2-D, trustworthiness.

The protocol (kept fixed so figures compare across representations, catalogs and sessions):

- kNN5: standardise (z-score fitted inside each training fold, then the representation's column
  weights), 5-nearest-neighbour classifier, 5-fold stratified cross-validation shuffled with seed 0,
  mean accuracy. In 2-D the same on the map coordinates.
- trustworthiness@10 (``sklearn.manifold.trustworthiness``) between the prepared full space and the
  map, on every mapped object (a seeded sample of ``trust_max`` when the catalog is larger).

Only objects with a label (and a position) count; classes with fewer members than folds are left out
and named in ``excluded``, as are labels the caller excludes (e.g. a catch-all "Other"). Above
``max_objects`` labelled objects (20,000) the kNN figures use a seeded random sample of that many, so
rating a million-object map stays a matter of seconds (``n_used`` says how many counted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

__all__ = ["MapQuality", "map_quality", "knn_accuracy", "usable_labels"]


@dataclass
class MapQuality:
    """Quality figures of one map for one label column (None where not computable)."""

    knn_full: float | None
    knn_2d: float | None
    trustworthiness: float | None
    n_labelled: int
    classes: dict = field(default_factory=dict)
    excluded: dict = field(default_factory=dict)
    k: int = 5
    folds: int = 5
    seed: int = 0
    trust_k: int = 10
    n_trust: int = 0
    column: str | None = None
    n_used: int = 0

    def as_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return asdict(self)

    def summary(self) -> str:
        """One readable line, e.g. ``kNN5 full 0.859 · 2-D 0.852 · trustworthiness@10 0.94 (2549 objects, 4 classes)``."""
        def f(v):
            return "n/a" if v is None else f"{v:.3f}"

        text = (f"kNN{self.k} full {f(self.knn_full)} · 2-D {f(self.knn_2d)} · "
                f"trustworthiness@{self.trust_k} {f(self.trustworthiness)} "
                f"({self.n_labelled} labelled objects, {len(self.classes)} classes")
        if self.excluded:
            text += f"; left out: {', '.join(f'{k} ({v})' for k, v in self.excluded.items())}"
        if self.n_used and self.n_used < self.n_labelled:
            text += f"; kNN on a seeded sample of {self.n_used}"
        return text + ")"


def usable_labels(labels, *, folds: int = 5, exclude=()) -> tuple[np.ndarray, dict, dict]:
    """``(mask of rows that count, class counts, excluded {label: count})`` for a label column."""
    s = pd.Series(list(labels) if not isinstance(labels, (pd.Series, np.ndarray)) else labels).reset_index(drop=True)
    text = s.astype("string").str.strip()
    ok = (~s.isna() & text.fillna("").ne("")).to_numpy()
    excluded: dict = {}
    for lab in exclude:
        hit = ok & (text == str(lab)).fillna(False).to_numpy()
        if hit.any():
            excluded[str(lab)] = int(hit.sum())
        ok &= ~hit
    counts = text[ok].value_counts()
    small = counts[counts < folds]
    for lab, n in small.items():
        excluded[f"{lab} (fewer than {folds})"] = int(n)
        ok &= ~(text == lab).fillna(False).to_numpy()
    classes = {str(k): int(v) for k, v in text[ok].value_counts().items()}
    return ok, classes, excluded


def knn_accuracy(X, labels, *, k: int = 5, folds: int = 5, seed: int = 0, column_weights=None,
                 standardize: bool = True) -> float:
    """Mean 5-fold stratified accuracy of a kNN classifier on ``X`` (rows already filtered)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    steps = []
    if standardize:
        steps.append(StandardScaler())
    if column_weights is not None:
        w = np.asarray(column_weights, np.float64)
        steps.append(FunctionTransformer(lambda a, w=w: a * w))
    steps.append(KNeighborsClassifier(n_neighbors=k))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(make_pipeline(*steps), np.asarray(X, np.float64), np.asarray(labels, str),
                                 cv=cv).mean())


def _impute_column_means(X: np.ndarray) -> np.ndarray:
    """Missing values (a block an object lacks) at the column mean, as the map does."""
    X = np.array(X, np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        with np.errstate(all="ignore"):
            means = np.nanmean(np.where(bad, np.nan, X), axis=0)
        X[bad] = np.take(np.where(np.isfinite(means), means, 0.0), np.nonzero(bad)[1])
    return X


def map_quality(labels, X=None, xy=None, *, column_weights=None, standardize: bool = True, exclude=(),
                k: int = 5, folds: int = 5, seed: int = 0, trust_k: int = 10, trust_max: int = 5000,
                max_objects: int = 20_000, column: str | None = None) -> MapQuality:
    """Quality of a representation ``X`` and/or its map ``xy`` for ``labels`` (one per row; see module doc).

    Either may be None (only the other's figures are computed). Rows without a usable vector or
    position are not counted.
    """
    labels = list(labels) if not isinstance(labels, (pd.Series, np.ndarray)) else labels
    n = len(labels)
    rows = np.ones(n, bool)
    if X is not None:
        X = np.asarray(X, np.float64)
        if len(X) != n:
            raise ValueError(f"X has {len(X)} rows but there are {n} labels")
        rows &= np.isfinite(X).any(axis=1)
    if xy is not None:
        xy = np.asarray(xy, np.float64)
        if xy.ndim != 2 or xy.shape != (n, 2):
            raise ValueError(f"xy must be [n, 2] with one row per label ({n}), got {xy.shape}")
        rows &= np.isfinite(xy).all(axis=1)
    lab = pd.Series(labels).reset_index(drop=True).where(rows, None)
    ok, classes, excluded = usable_labels(lab, folds=folds, exclude=exclude)
    n_labelled = int(ok.sum())
    y = pd.Series(labels).astype("string").str.strip().to_numpy(dtype=str)
    used = np.flatnonzero(ok)
    if len(used) > max_objects:  # brute-force kNN cross-validation is quadratic: rate a seeded sample
        used = np.sort(np.random.default_rng(seed).choice(used, max_objects, replace=False))
    ok = np.zeros(n, bool)
    ok[used] = True
    knn_full = knn_2d = trust = None
    enough = len(classes) >= 2 and ok.sum() >= folds
    if enough and X is not None:
        knn_full = knn_accuracy(_impute_column_means(X[ok]), y[ok], k=k, folds=folds, seed=seed,
                                column_weights=column_weights, standardize=standardize)
    if enough and xy is not None:
        knn_2d = knn_accuracy(xy[ok], y[ok], k=k, folds=folds, seed=seed)
    n_trust = 0
    if X is not None and xy is not None:
        from sklearn.manifold import trustworthiness

        from explorer.projection import prepare_matrix

        prepared, usable = prepare_matrix(X, standardize=standardize, column_weights=column_weights)
        both = np.flatnonzero(usable & np.isfinite(xy).all(axis=1))
        if len(both) > trust_max:
            both = np.sort(np.random.default_rng(seed).choice(both, trust_max, replace=False))
        if len(both) > 2 * trust_k + 1:
            trust = float(trustworthiness(prepared[both], xy[both], n_neighbors=trust_k))
            n_trust = int(len(both))
    return MapQuality(knn_full=knn_full, knn_2d=knn_2d, trustworthiness=trust, n_labelled=n_labelled,
                      classes=classes, excluded=excluded, k=k, folds=folds, seed=seed, trust_k=trust_k,
                      n_trust=n_trust, column=column, n_used=int(ok.sum()))
