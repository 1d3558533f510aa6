"""Add the calibration section to a bundle exported before the manifest had one, without retraining.

    PYTHONPATH=training /usr/bin/python3 -m shipshape_train.calibrate artifacts/news-bag [--dry-run] [--seed N]

It rebuilds the splits exactly as ``train.py`` does (``corpus.make_splits`` with the seed, default the training
seed), runs the bundle's own ``model.onnx`` on the validation and test texts (onnxruntime-node, through
``onnx_run.mjs``, as the exporter's graph check does), and refuses to write unless the accuracy it measures on the
test split is the manifest's ``metrics.accuracy``: proof that the splits and preprocessing are the ones the model was
evaluated on. Then it writes the calibration from the validation split into ``manifest.json``, keeping every other
byte (the file must be in the exporter's format: ``json.dumps`` with the file's indent). ``manifest.json`` is not in
its own ``files`` hashes, so the bundle stays valid; its other files are only read. Running it again writes nothing.

It prints the bins, the expected calibration error (ECE) on validation and test, and how the label-free estimate
(the mean of the bin accuracy over the test split's predictions) compares with the true test accuracy.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence

import numpy as np

from .calibration import bin_of, compute_calibration, estimated_accuracy, expected_calibration_error, top_probabilities
from .corpus import DEFAULT_SEED, LABELS, Example, make_splits
from .export import ExportError, run_onnx, verify_bundle
from .tokenizer import encode, get_tokenizer, vocab_index
from .vocab import read_vocab

# Texts per onnxruntime run; all runs go through one node process.
RUN_BATCH = 256
# The report's windows: as many texts as the monitor needs for a verdict (minTexts, default 500), drawn this often.
WINDOW = 500
WINDOWS = 1000
# The report's subsets of the test split by token count: a shift in length is a shift in difficulty.
LENGTH_GROUPS = (("< 16 tokens", 0, 16), ("16-39", 16, 40), (">= 40", 40, 1 << 30))


class CalibrationError(ValueError):
    """The bundle cannot be calibrated from the training corpus (another corpus, seed or preprocessing)."""


@dataclass(frozen=True)
class Outcome:
    """What one split gave: each example's top-label probability and whether the prediction was right."""

    confidences: np.ndarray
    correct: np.ndarray
    lengths: np.ndarray  # tokens per text, before truncation

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    def part(self, rows: slice) -> "Outcome":
        return Outcome(self.confidences[rows], self.correct[rows], self.lengths[rows])


@functools.lru_cache(maxsize=2)
def _splits(seed: int) -> Dict[str, List[Example]]:
    """The corpus splits train.py trains and evaluates on (generating them is most of a calibrate run)."""
    return make_splits(seed=seed)


def _indent_of(text: str) -> int:
    """The indent of a pretty-printed JSON object: the leading spaces of its second line."""
    lines = text.split("\n")
    if len(lines) < 2:
        return 0
    return len(lines[1]) - len(lines[1].lstrip(" "))


def _dumps(manifest: Dict[str, Any], indent: int) -> str:
    return json.dumps(manifest, indent=indent or None, ensure_ascii=False, allow_nan=False) + "\n"


def score_split(bundle: str, manifest: Dict[str, Any], texts: Sequence[str], labels: Sequence[int]) -> Outcome:
    """Runs the bundle's model on ``texts`` with its own preprocessing; ``labels`` are label ids."""
    pre = manifest["preprocessing"]
    max_len = pre["maxLen"]
    index = vocab_index(read_vocab(os.path.join(bundle, pre["vocab"])))
    unk, pad = pre["specialTokens"]["unk"]["id"], pre["specialTokens"]["pad"]["id"]
    tokenize = get_tokenizer(pre["tokenizer"])
    tokenized = [tokenize(t) for t in texts]
    ids = np.asarray([encode(t, index, max_len, unk, pad) for t in tokenized], dtype=np.int64)
    inputs = {i["role"]: i["name"] for i in manifest["model"]["inputs"]}
    mask = None
    if "attention_mask" in inputs:
        lengths = np.minimum([len(t) for t in tokenized], max_len)
        mask = (np.arange(max_len)[None, :] < lengths[:, None]).astype(np.int64)
    feeds = []
    for start in range(0, len(texts), RUN_BATCH):
        feed = {inputs["input_ids"]: ids[start:start + RUN_BATCH]}
        if mask is not None:
            feed[inputs["attention_mask"]] = mask[start:start + RUN_BATCH]
        feeds.append(feed)
    output = manifest["model"]["outputs"][0]
    runs = run_onnx(os.path.join(bundle, manifest["model"]["file"]), feeds)
    failed = next((r for r in runs if isinstance(r, str)), None)
    if failed is not None:
        raise CalibrationError(f"running {bundle}/model.onnx failed: {failed}")
    scores = np.concatenate([r[output["name"]] for r in runs])
    correct = scores.argmax(axis=1) == np.asarray(labels)
    return Outcome(top_probabilities(scores, output["role"]), correct, np.asarray([len(t) for t in tokenized]))


def calibrate(bundle_dir: str, seed: int = DEFAULT_SEED, write: bool = True) -> Dict[str, Any]:
    """Computes the calibration section of the bundle in ``bundle_dir`` from the training corpus's validation split
    and, when ``write``, puts it into ``manifest.json`` (replacing one that is there, else after the last section).

    Returns ``{"calibration", "validation", "test", "changed"}`` (the two :class:`Outcome` values and whether the
    file changed). Raises :class:`CalibrationError` when the manifest's labels or test split are not the corpus's,
    the measured test accuracy differs from ``metrics.accuracy``, or the manifest is not in the exporter's format;
    AssertionError/ExportError when the bundle fails :func:`verify_bundle`."""
    bundle = os.fspath(bundle_dir)
    path = os.path.join(bundle, "manifest.json")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    manifest = json.loads(text)
    indent = _indent_of(text)
    if _dumps(manifest, indent) != text:
        raise CalibrationError(
            f"{path} is not formatted as the exporter writes it (json.dumps, indent {indent}, a final newline): "
            "rewriting it would change more than the calibration section; re-export the bundle instead"
        )
    verify_bundle(bundle)
    if manifest["labels"] != LABELS:
        raise CalibrationError(f"{path} has labels {manifest['labels']}, not the training corpus's {LABELS}")
    splits = _splits(seed)
    metrics = manifest["metrics"]
    if metrics["split"] != "test" or metrics["examples"] != len(splits["test"]):
        raise CalibrationError(
            f"{path} reports metrics on {metrics['examples']} {metrics['split']} examples, not on the corpus's "
            f"{len(splits['test'])} test examples; this module calibrates bundles that train.py made"
        )
    # One onnxruntime process for both splits.
    examples = splits["validation"] + splits["test"]
    both = score_split(bundle, manifest, [e.text for e in examples], [e.label for e in examples])
    held_out = len(splits["validation"])
    outcomes = {"validation": both.part(slice(0, held_out)), "test": both.part(slice(held_out, None))}
    measured = int(outcomes["test"].correct.sum())
    expected = round(metrics["accuracy"] * metrics["examples"])
    if measured != expected:
        raise CalibrationError(
            f"the model classifies {measured} of {metrics['examples']} test texts correctly, but {path} says "
            f"{metrics['accuracy']} ({expected}): the rebuilt splits or the preprocessing are not the ones it was "
            f"evaluated on (seed {seed}; pass the seed it was trained with as --seed)"
        )
    validation = outcomes["validation"]
    section = compute_calibration(validation.confidences, validation.correct, "validation")
    updated = dict(manifest)
    updated["calibration"] = section
    new_text = _dumps(updated, indent)
    changed = new_text != text
    if write and changed:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(new_text)
        os.replace(tmp, path)
    return {"calibration": section, "validation": validation, "test": outcomes["test"], "changed": changed}


def window_errors(calibration: Dict[str, Any], outcome: Outcome, windows: int = WINDOWS) -> np.ndarray:
    """|estimate - true accuracy| on ``windows`` seeded random samples of WINDOW texts (without replacement) of a
    split: how far the estimate strays on a window the size of the monitor's minimum."""
    rng = np.random.default_rng(0)
    table = np.asarray(calibration["accuracy"], dtype=np.float64)[bin_of(calibration["edges"], outcome.confidences)]
    size = min(WINDOW, len(table))
    picks = [rng.choice(len(table), size=size, replace=False) for _ in range(windows)]
    return np.asarray([abs(table[p].mean() - outcome.correct[p].mean()) for p in picks])


def report_lines(name: str, result: Dict[str, Any], status: str) -> List[str]:
    """The human-readable summary ``main`` prints; ``status`` says what happened to manifest.json."""
    section = result["calibration"]
    validation, test = result["validation"], result["test"]
    edges = section["edges"]
    lines = [f"{name}: {len(edges) - 1} bins from {section['examples']} {section['split']} texts"]
    lines.append("  bin  confidence           count  accuracy  mean confidence")
    bins = bin_of(edges, validation.confidences)
    for i, (count, accuracy) in enumerate(zip(section["counts"], section["accuracy"])):
        inside = bins == i
        mean = float(validation.confidences[inside].mean()) if count else float("nan")
        close = "]" if i == len(edges) - 2 else ")"
        lines.append(f"  {i:>3}  [{edges[i]:.6f}, {edges[i + 1]:.6f}{close}  {count:>5}  {accuracy:.6f}  {mean:.6f}")
    estimate = estimated_accuracy(section, test.confidences)
    lines.append(
        f"  ECE validation {expected_calibration_error(edges, validation.confidences, validation.correct):.4f}, "
        f"test {expected_calibration_error(edges, test.confidences, test.correct):.4f}"
    )
    lines.append(
        f"  test accuracy {test.accuracy:.4f} (the manifest's metrics.accuracy), estimated from confidence "
        f"{estimate:.4f} (error {estimate - test.accuracy:+.4f}); mean confidence {float(test.confidences.mean()):.4f}"
    )
    errors = window_errors(section, test)
    lines.append(
        f"  over {len(errors)} seeded windows of {WINDOW} test texts: |estimate - true accuracy| median "
        f"{float(np.median(errors)):.4f}, 95th percentile {float(np.quantile(errors, 0.95)):.4f}"
    )
    parts = []
    for label, low, high in LENGTH_GROUPS:
        inside = (test.lengths >= low) & (test.lengths < high)
        if inside.any():
            parts.append(f"{label} {int(inside.sum())} texts {float(test.correct[inside].mean()):.4f} vs "
                         f"{estimated_accuracy(section, test.confidences[inside]):.4f}")
    lines.append("  test split by length, true accuracy vs estimate: " + "; ".join(parts))
    lines.append(f"  manifest.json {status}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Add the calibration section to bundles train.py exported.")
    parser.add_argument("bundles", nargs="+", help="bundle folders (artifacts/news-bag ...)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the corpus seed the model was trained with")
    parser.add_argument("--dry-run", action="store_true", help="print the calibration, write nothing")
    args = parser.parse_args(argv)
    for bundle in args.bundles:
        try:
            result = calibrate(bundle, args.seed, write=not args.dry_run)
        except (CalibrationError, ExportError, AssertionError, OSError) as exc:
            print(f"error: {bundle}: {exc}", file=sys.stderr)
            return 1
        changed = result["changed"]
        status = ("would change (dry run)" if changed else "unchanged") if args.dry_run else (
            "updated" if changed else "unchanged")
        print("\n".join(report_lines(os.path.basename(os.path.normpath(bundle)), result, status)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
