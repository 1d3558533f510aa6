"""Histogram-binning calibration: how often the model was right at each confidence on a held-out split.

The manifest's optional ``calibration`` section (docs/bundle-format.md) is what the runtime's health monitor needs to
estimate accuracy without labels: a prediction with top-label probability ``c`` counts as ``accuracy[bin(c)]``, and
the estimate is the mean of that over a window's predictions (confidence-based performance estimation). Bins hold
equal numbers of held-out examples (quantile edges) rather than equal widths: a trained model puts most predictions
near 1, so equal-width bins would leave the upper bins crowded and the lower ones nearly empty, with accuracies
measured on a handful of examples.

A bin is half-open, ``edges[i] <= c < edges[i + 1]``, except the last, which also holds ``c == 1`` (and anything a
float32 probability rounds above it). No torch import: the exporter and ``calibrate`` both use it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

METHOD = "histogram-binning"
DEFAULT_BINS = 10
# Edges and accuracies are written with 6 decimals, like the manifest's other statistics, so two runs on the same
# scores write the same bytes.
DECIMALS = 6


def top_probabilities(scores: np.ndarray, role: str) -> np.ndarray:
    """The top label's probability per row of ``scores`` [n, labels]: the softmax of logits (in float64, as the
    runtime computes it from float32 outputs), or the outputs themselves when ``role`` is ``probabilities``.

    Raises ValueError for an unknown role or a shape other than [n, labels >= 2]."""
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(f"scores must be [examples, labels >= 2], got shape {list(values.shape)}")
    if role == "probabilities":
        return values.max(axis=1)
    if role != "logits":
        raise ValueError(f'unknown output role {role!r}; expected "logits" or "probabilities"')
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).max(axis=1)


def bin_of(edges: Sequence[float], confidences: Sequence[float] | np.ndarray) -> np.ndarray:
    """The bin index of each confidence: ``i`` with ``edges[i] <= c < edges[i + 1]``; the last bin is closed."""
    bounds = np.asarray(edges, dtype=np.float64)
    index = np.searchsorted(bounds, np.asarray(confidences, dtype=np.float64), side="right") - 1
    return np.clip(index, 0, len(bounds) - 2)


def quantile_edges(confidences: np.ndarray, bins: int = DEFAULT_BINS) -> List[float]:
    """Edges of ``bins`` equal-mass bins: 0, the inner quantiles rounded to 6 decimals, 1; an edge that rounds onto
    another (many confidences at the same value, or fewer examples than bins) is merged, so edges stay strictly
    ascending and there may be fewer bins."""
    inner = np.quantile(confidences, [i / bins for i in range(1, bins)]) if len(confidences) else []
    rounded = sorted({round(float(q), DECIMALS) for q in inner} - {0.0, 1.0})
    return [0.0] + [q for q in rounded if 0.0 < q < 1.0] + [1.0]


def compute_calibration(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    split: str = "validation",
    bins: int = DEFAULT_BINS,
) -> Dict[str, Any]:
    """The manifest's ``calibration`` section from each held-out example's top-label probability and whether the
    prediction was right: ``{split, examples, method, edges, counts, accuracy}`` (key order as written).

    Default 10 bins. Raises ValueError when there are no examples, the two sequences differ in length, a confidence
    is outside [0, 1] (beyond float32 rounding) or ``bins`` is below 1."""
    conf = np.asarray(confidences, dtype=np.float64)
    hits = np.asarray(correct, dtype=bool)
    if conf.ndim != 1 or conf.shape != hits.shape or conf.size == 0:
        raise ValueError(f"need one correctness flag per confidence (at least one), got {conf.size} and {hits.size}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if not np.all(np.isfinite(conf)) or conf.min() < 0.0 or conf.max() > 1.0 + 1e-6:
        raise ValueError(f"confidences must be probabilities in [0, 1], got {conf.min()!r} .. {conf.max()!r}")
    conf = np.clip(conf, 0.0, 1.0)
    edges = quantile_edges(conf, bins)
    index = bin_of(edges, conf)
    k = len(edges) - 1
    counts = np.bincount(index, minlength=k)
    right = np.bincount(index, weights=hits.astype(np.float64), minlength=k)
    accuracy = [round(float(r / n), DECIMALS) if n else 0.0 for r, n in zip(right, counts)]
    return {
        "split": split,
        "examples": int(conf.size),
        "method": METHOD,
        "edges": edges,
        "counts": [int(n) for n in counts],
        "accuracy": accuracy,
    }


def estimated_accuracy(calibration: Mapping[str, Any], confidences: Sequence[float] | np.ndarray) -> float:
    """The label-free accuracy estimate the runtime computes: the mean of ``accuracy[bin(c)]`` over predictions."""
    conf = np.asarray(confidences, dtype=np.float64)
    if conf.size == 0:
        raise ValueError("no predictions to estimate the accuracy of")
    table = np.asarray(calibration["accuracy"], dtype=np.float64)
    return float(table[bin_of(calibration["edges"], conf)].mean())


def expected_calibration_error(
    edges: Sequence[float], confidences: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
) -> float:
    """ECE over the bins ``edges`` defines: sum over bins of (examples in bin / all) * |accuracy - mean confidence|."""
    conf = np.asarray(confidences, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    if conf.size == 0 or conf.shape != hits.shape:
        raise ValueError(f"need one correctness flag per confidence (at least one), got {conf.size} and {hits.size}")
    index = bin_of(edges, conf)
    k = len(edges) - 1
    counts = np.bincount(index, minlength=k)
    gap = np.abs(np.bincount(index, weights=hits, minlength=k) - np.bincount(index, weights=conf, minlength=k))
    return float(gap.sum() / counts.sum())


def check_calibration(section: Mapping[str, Any]) -> None:
    """Raises ValueError unless ``section`` is a well-formed calibration section: the keys in the exporter's order,
    method histogram-binning, edges strictly ascending from 0 to 1, one count and one accuracy in [0, 1] per bin,
    counts summing to ``examples``."""
    keys = ["split", "examples", "method", "edges", "counts", "accuracy"]
    if not isinstance(section, Mapping) or list(section) != keys:
        raise ValueError(f"calibration must have the keys {keys} in this order, got {list(section or {})}")
    if section["method"] != METHOD:
        raise ValueError(f'calibration.method must be "{METHOD}", got {section["method"]!r}')
    edges, counts, accuracy = section["edges"], section["counts"], section["accuracy"]
    if len(edges) < 2 or edges[0] != 0 or edges[-1] != 1 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"calibration.edges must ascend strictly from 0 to 1, got {edges}")
    if len(counts) != len(edges) - 1 or len(accuracy) != len(edges) - 1:
        raise ValueError(f"calibration needs one count and one accuracy per bin ({len(edges) - 1})")
    bad_count = any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts)
    if bad_count or sum(counts) != section["examples"]:
        raise ValueError(f"calibration.counts must be non-negative integers summing to examples, got {counts}")
    if any(not 0 <= a <= 1 for a in accuracy):
        raise ValueError(f"calibration.accuracy must lie in [0, 1], got {accuracy}")
