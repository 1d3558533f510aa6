"""The calibration section: the binning itself, the exporter writing it, and calibrate on the shipped bundles."""

import hashlib
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch

from shipshape_train.calibrate import CalibrationError, calibrate, main
from shipshape_train.calibration import (
    bin_of,
    check_calibration,
    compute_calibration,
    estimated_accuracy,
    expected_calibration_error,
    top_probabilities,
)
from shipshape_train.corpus import LABELS
from shipshape_train.export import export_production_model, verify_bundle
from shipshape_train.models import NewsBag
from shipshape_train.tokenizer import basic_english, encode, vocab_index
from shipshape_train.vocab import read_vocab
from tiny_models import train_tiny_bag

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_LEN = 72


def _weighted_accuracy(section):
    """The count-weighted mean of the bin accuracies: the accuracy on the whole split."""
    return sum(n * a for n, a in zip(section["counts"], section["accuracy"])) / section["examples"]


# --- the binning -----------------------------------------------------------------------------------


def test_ten_equal_mass_bins_split_distinct_confidences_evenly():
    rng = np.random.default_rng(1)
    confidences = rng.uniform(0.25, 1.0, 1000)
    correct = rng.uniform(size=1000) < confidences
    section = compute_calibration(confidences, correct)
    check_calibration(section)
    assert section["counts"] == [100] * 10
    assert section["edges"][0] == 0.0 and section["edges"][-1] == 1.0 and len(section["edges"]) == 11
    assert _weighted_accuracy(section) == pytest.approx(correct.mean(), abs=1e-6)


def test_edges_that_round_onto_each_other_are_merged_into_fewer_bins():
    confidences = np.concatenate([np.full(600, 1.0), np.full(300, 0.9999999), np.linspace(0.3, 0.9, 100)])
    section = compute_calibration(confidences, np.ones(1000, dtype=bool))
    check_calibration(section)
    assert len(section["edges"]) < 11
    assert sum(section["counts"]) == 1000


def test_fewer_examples_than_bins_still_give_strictly_ascending_edges():
    section = compute_calibration([0.5, 0.9, 0.9], [True, False, True])
    check_calibration(section)
    assert sum(section["counts"]) == 3


def test_a_confidence_on_an_edge_belongs_to_the_bin_above_and_one_to_the_last_bin():
    edges = [0.0, 0.5, 0.8, 1.0]
    assert bin_of(edges, [0.0, 0.49, 0.5, 0.8, 0.99, 1.0]).tolist() == [0, 0, 1, 2, 2, 2]


def test_the_same_scores_give_the_same_bytes():
    rng = np.random.default_rng(7)
    confidences, correct = rng.uniform(0.3, 1.0, 500), rng.uniform(size=500) < 0.8
    first = json.dumps(compute_calibration(confidences, correct))
    assert first == json.dumps(compute_calibration(confidences.copy(), correct.copy()))
    assert all(len(repr(e).split(".")[-1]) <= 6 for e in json.loads(first)["edges"])


def test_top_probability_is_the_softmax_maximum_for_logits_and_the_maximum_for_probabilities():
    logits = np.asarray([[2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    assert top_probabilities(logits, "logits").tolist() == pytest.approx([np.e**2 / (np.e**2 + 3), 0.25])
    assert top_probabilities([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], "probabilities").tolist() == [0.7, 0.5]


def test_the_estimate_is_the_mean_bin_accuracy_of_the_predictions():
    section = {"edges": [0.0, 0.5, 1.0], "accuracy": [0.4, 0.9]}
    assert estimated_accuracy(section, [0.3, 0.6, 0.7, 1.0]) == pytest.approx((0.4 + 0.9 * 3) / 4)


def test_ece_is_zero_when_each_bin_accuracy_equals_its_mean_confidence():
    confidences = np.asarray([0.6] * 5 + [0.9] * 10)
    correct = np.asarray([True] * 3 + [False] * 2 + [True] * 9 + [False])
    assert expected_calibration_error([0.0, 0.75, 1.0], confidences, correct) == pytest.approx(0.0)


def test_a_confidence_above_one_is_refused():
    with pytest.raises(ValueError, match="confidences must be probabilities"):
        compute_calibration([0.5, 1.5], [True, True])


# --- the exporter -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(normalization_doc):
    """A NewsBag trained a little on a small corpus, and its validation split with label ids."""
    model, vocab, _, splits = train_tiny_bag({"train": 800, "validation": 300, "test": 100}, seed=5, steps=30)
    validation = ([e.text for e in splits["validation"]], [e.label for e in splits["validation"]])
    return model, vocab, validation, normalization_doc


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    model, vocab, validation, norm = trained
    out = tmp_path_factory.mktemp("calibrated") / "tiny-bag"
    manifest = export_production_model(model, vocab, out, labels=LABELS, validation=validation, normalization=norm,
                                       created_at="2026-01-02T03:04:05Z")
    return out, manifest


def test_the_exporter_writes_a_valid_calibration_section_last(exported):
    out, manifest = exported
    assert list(manifest)[-1] == "calibration"
    section = manifest["calibration"]
    check_calibration(section)
    assert section["split"] == "validation" and section["examples"] == 300
    assert all(0 <= a <= 1 for a in section["accuracy"])
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["calibration"] == section


def test_the_bin_accuracies_weighted_by_count_give_the_validation_accuracy(exported):
    _, manifest = exported
    assert manifest["metrics"]["split"] == "validation"
    assert _weighted_accuracy(manifest["calibration"]) == pytest.approx(manifest["metrics"]["accuracy"], abs=1e-5)


def test_the_bins_count_the_models_own_confidences(exported, trained):
    out, manifest = exported
    model, _, validation, _ = trained
    index = vocab_index(read_vocab(str(out / "vocab.txt")))
    ids = torch.tensor([encode(basic_english(t), index, MAX_LEN, 0, 1) for t in validation[0]])
    with torch.no_grad():
        confidences = top_probabilities(model(ids).numpy(), "logits")
    section = manifest["calibration"]
    assert np.bincount(bin_of(section["edges"], confidences), minlength=len(section["counts"])).tolist() == \
        section["counts"]


def test_verify_bundle_accepts_the_calibrated_bundle(exported, trained):
    out, _ = exported
    verify_bundle(out, trained[0])


def test_the_runtime_loads_the_calibration_section_the_exporter_writes(exported):
    out, _ = exported
    command = ["node", os.path.join(ROOT, "bin", "shipshape.js"), "inspect", "--backend", "native", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "valid: every file matches its sha256 and size" in done.stdout


def test_metrics_passed_explicitly_stay_and_validation_still_gives_calibration(trained, exported, tmp_path):
    model, vocab, validation, norm = trained
    _, first = exported
    metrics = {"split": "test", "examples": 100, "accuracy": 0.5, "oovRate": 0.01}
    manifest = export_production_model(model, vocab, tmp_path / "b", labels=LABELS, validation=validation,
                                       normalization=norm, metrics=metrics)
    assert manifest["metrics"] == metrics
    assert manifest["calibration"] == first["calibration"]


def test_without_validation_data_there_is_no_calibration_section(trained, exported, tmp_path):
    model, vocab, _, norm = trained
    out, first = exported
    with open(out / "parity.jsonl", encoding="utf-8") as fh:
        parity = [{"text": row["text"], "tags": row["tags"]} for row in map(json.loads, fh)]
    manifest = export_production_model(model, vocab, tmp_path / "b", labels=LABELS, normalization=norm,
                                       metrics=first["metrics"], reference=first["reference"], parity_texts=parity)
    assert "calibration" not in manifest
    assert list(manifest)[-1] == "parity"


# --- calibrate on the shipped bundles ---------------------------------------------------------------


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def uncalibrated_bag(tmp_path):
    """A copy of artifacts/news-bag whose manifest is as the bundle shipped before it had a calibration section."""
    bundle = tmp_path / "news-bag"
    shutil.copytree(os.path.join(ROOT, "artifacts", "news-bag"), bundle)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    del manifest["calibration"]
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return bundle


def test_calibrate_reproduces_the_shipped_manifest_and_touches_no_other_file(uncalibrated_bag):
    others = {p.name: _sha256(p) for p in uncalibrated_bag.iterdir() if p.name != "manifest.json"}
    result = calibrate(str(uncalibrated_bag))
    assert result["changed"] is True
    shipped = os.path.join(ROOT, "artifacts", "news-bag", "manifest.json")
    with open(shipped, encoding="utf-8") as fh:
        assert (uncalibrated_bag / "manifest.json").read_text(encoding="utf-8") == fh.read()
    assert {p.name: _sha256(p) for p in uncalibrated_bag.iterdir() if p.name != "manifest.json"} == others


def test_calibrate_is_idempotent(uncalibrated_bag, capsys):
    assert main([str(uncalibrated_bag)]) == 0
    written = (uncalibrated_bag / "manifest.json").read_bytes()
    assert main([str(uncalibrated_bag)]) == 0
    assert (uncalibrated_bag / "manifest.json").read_bytes() == written
    out = capsys.readouterr().out
    assert out.count("manifest.json updated") == 1 and out.count("manifest.json unchanged") == 1


def test_calibrate_refuses_a_bundle_whose_test_accuracy_it_cannot_reproduce(uncalibrated_bag):
    path = uncalibrated_bag / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["metrics"]["accuracy"] = 0.95
    before = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    path.write_text(before, encoding="utf-8")
    with pytest.raises(CalibrationError, match=r"classifies 1782 of 2000 test texts correctly, but .* says 0\.95"):
        calibrate(str(uncalibrated_bag))
    assert path.read_text(encoding="utf-8") == before


def test_calibrate_refuses_a_manifest_it_would_reformat(uncalibrated_bag):
    path = uncalibrated_bag / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
    with pytest.raises(CalibrationError, match="not formatted as the exporter writes it"):
        calibrate(str(uncalibrated_bag))


def test_the_dry_run_writes_nothing(uncalibrated_bag, capsys):
    before = (uncalibrated_bag / "manifest.json").read_bytes()
    assert main([str(uncalibrated_bag), "--dry-run"]) == 0
    assert (uncalibrated_bag / "manifest.json").read_bytes() == before
    assert "manifest.json would change (dry run)" in capsys.readouterr().out
