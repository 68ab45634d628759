"""Discovery: classify a whole catalog from a few labels, choose what to label next, find the odd ones.

- ``vectors``: the prepared vectors (same space as the map) and the user's labels aligned to them;
- ``classifier``: ``Classifier`` (calibrated per-class probabilities for every object) and
  ``estimate_accuracy`` (cross-validated on the labels, with its uncertainty);
- ``active``: "label these next" strategies (``suggest_next``, ``make_strategy``);
- ``anomaly``: coniferest isolation forests with feedback (``AnomalyRanker``, ``rank_anomalies``);
- ``feedback``: the anomaly-feedback file beside the labels (``save_feedback``, ``read_feedback``);
- ``curves``: learning curves of a strategy against known classes (benchmarks, tests).

Every function takes vectors, labels (one entry per row; None / NaN / empty = unlabelled) and a seed,
and returns arrays or DataFrames: nothing here knows about a browser.
"""

from explorer.discover.active import (DEFAULT_STRATEGY, STRATEGIES, ClusterMargin, DiverseMargin, Entropy, Margin,
                                      RandomChoice, make_strategy, suggest_next)
from explorer.discover.anomaly import AnomalyRanker, feedback_vector, rank_anomalies
from explorer.discover.classifier import AccuracyEstimate, Classifier, estimate_accuracy, labelled_mask
from explorer.discover.feedback import FEEDBACK_ORIGIN, feedback_path, read_feedback, save_feedback
from explorer.discover.vectors import DiscoverInput, LabelTable, label_vector, load_vectors, prepare_vectors, \
    read_label_table

__all__ = [
    "DEFAULT_STRATEGY", "STRATEGIES", "ClusterMargin", "DiverseMargin", "Entropy", "Margin", "RandomChoice",
    "make_strategy", "suggest_next", "AnomalyRanker", "feedback_vector", "rank_anomalies", "AccuracyEstimate",
    "Classifier", "estimate_accuracy", "labelled_mask", "FEEDBACK_ORIGIN", "feedback_path", "read_feedback",
    "save_feedback", "DiscoverInput", "LabelTable", "label_vector", "load_vectors", "prepare_vectors",
    "read_label_table",
]
