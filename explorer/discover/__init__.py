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

import importlib

# names -> submodule, imported on first use: the CLI lists strategies without loading scikit-learn
_EXPORTS = {
    "active": ("DEFAULT_STRATEGY", "STRATEGIES", "ClusterMargin", "DiverseMargin", "Entropy", "Margin",
               "RandomChoice", "make_strategy", "suggest_next"),
    "anomaly": ("AnomalyRanker", "feedback_vector", "rank_anomalies"),
    "classifier": ("AccuracyEstimate", "Classifier", "estimate_accuracy"),
    "feedback": ("FEEDBACK_ORIGIN", "feedback_path", "read_feedback", "save_feedback"),
    "vectors": ("DiscoverInput", "LabelTable", "label_vector", "labelled_mask", "load_vectors", "prepare_vectors",
                "read_label_table"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'explorer.discover' has no attribute {name!r}")
    return getattr(importlib.import_module(f"explorer.discover.{_WHERE[name]}"), name)
