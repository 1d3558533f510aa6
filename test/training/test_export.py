import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from shipshape_train.corpus import LABELS
from shipshape_train.export import (
    BUNDLE_FILES,
    PARITY_TAGS,
    ExportError,
    PreprocessingConfig,
    compute_reference,
    export_production_model,
    oov_rate,
    run_onnx,
    sequence_check_lengths,
    verify_bundle,
)
from shipshape_train.models import NewsBag, NewsTransformer
from shipshape_train.parity_cases import build_parity_texts
from shipshape_train.tokenizer import basic_english, encode, vocab_index
from tiny_models import train_tiny_bag

MAX_LEN = 72
TRAINING = os.path.join(os.path.dirname(__file__), "..", "..", "training")


@pytest.fixture(scope="module")
def small(normalization_doc):
    """A tiny vocabulary and a NewsBag trained for a few steps on a small corpus."""
    model, vocab, index, splits = train_tiny_bag({"train": 800, "validation": 100, "test": 300}, seed=3, steps=20)
    test_texts = [e.text for e in splits["test"]]
    kwargs = dict(
        name="tiny-bag",
        version="0.1.0-test",
        labels=LABELS,
        metrics={"split": "test", "examples": 300, "accuracy": 0.5,
                 "oovRate": oov_rate([basic_english(t) for t in test_texts], vocab)},
        reference=compute_reference([e.text for e in splits["train"]], [e.label for e in splits["train"]], vocab, LABELS),
        parity_texts=build_parity_texts(test_texts, index, MAX_LEN, n_test=100),
        normalization=normalization_doc,
        created_at="2026-01-02T03:04:05Z",
    )
    return model, vocab, kwargs


@pytest.fixture(scope="module")
def bundle(small, tmp_path_factory):
    model, vocab, kwargs = small
    out = tmp_path_factory.mktemp("bundle") / "tiny-bag"
    manifest = export_production_model(model, vocab, {"tokenizer": "basic_english", "max_len": MAX_LEN}, out, **kwargs)
    return out, manifest


def test_bundle_files_and_hashes(bundle):
    out, manifest = bundle
    assert sorted(os.listdir(out)) == sorted(list(BUNDLE_FILES) + ["manifest.json"])
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    for name in BUNDLE_FILES:
        data = (out / name).read_bytes()
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_manifest_matches_the_doc(bundle):
    out, manifest = bundle
    assert list(manifest) == ["schemaVersion", "name", "version", "createdAt", "task", "files", "model",
                              "preprocessing", "labels", "metrics", "reference", "parity"]
    assert manifest["schemaVersion"] == 1 and manifest["task"] == "text-classification"
    assert manifest["createdAt"] == "2026-01-02T03:04:05Z"
    assert manifest["model"] == {
        "file": "model.onnx",
        "opset": 17,
        "inputs": [{"name": "input_ids", "role": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}],
        "outputs": [{"name": "logits", "role": "logits", "dtype": "float32", "shape": ["batch", 4]}],
        "sequence": {"dynamic": True, "checkedLengths": [1, 8, 16, 33, 48, 72],
                     "maxAbsDiff": manifest["model"]["sequence"]["maxAbsDiff"], "atol": 1e-5},
    }
    assert 0 <= manifest["model"]["sequence"]["maxAbsDiff"] <= 1e-5
    assert manifest["preprocessing"] == {
        "tokenizer": "basic_english", "lowercase": True, "normalization": "normalization.json",
        "vocab": "vocab.txt", "maxLen": 72, "truncation": "right", "padding": "right",
        "specialTokens": {"unk": {"token": "<unk>", "id": 0}, "pad": {"token": "<pad>", "id": 1}},
    }
    assert manifest["labels"] == LABELS
    ref = manifest["reference"]
    assert ref["tokenLength"]["edges"] == [0, 8, 16, 24, 32, 40, 48, 56, 64, 72]
    assert sum(ref["tokenLength"]["counts"]) == 800 and len(ref["tokenLength"]["counts"]) == 9
    assert list(ref["labelDistribution"]) == LABELS
    assert manifest["parity"] == {"file": "parity.jsonl", "cases": manifest["parity"]["cases"], "atol": 1e-4}
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert text == json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def test_onnx_model_is_valid(bundle):
    out, _ = bundle
    proto = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [17]


def test_parity_cases_reproduce_with_torch(bundle, small):
    out, manifest = bundle
    model = small[0]
    verify_bundle(out, model)  # hashes, checker, tokens, ids, labels and torch logits within atol
    rows = [json.loads(line) for line in (out / "parity.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    assert len(rows) == manifest["parity"]["cases"] >= 200
    tags = {t for r in rows for t in r["tags"]}
    assert tags == set(PARITY_TAGS)
    texts = {r["text"] for r in rows}
    for required in ["", "ΟΔΟΣ", "İ", "a<br />b", "A<BR />B", "\u00a0\u2003\u3000", "\x85", "\x1c\x1d\x1e\x1f"]:
        assert required in texts
    assert any(len(r["tokens"]) > 72 for r in rows)
    empty = next(r for r in rows if r["text"] == "")
    assert empty["tokens"] == [] and empty["ids"] == [1] * 72
    for r in rows:
        assert len(r["ids"]) == 72 and r["ids"] == encode(r["tokens"], vocab_index(small[1]), 72, 0, 1)
        assert np.float32(r["logits"][0]) == np.float32(np.float64(r["logits"][0]))
    with torch.no_grad():
        again = model(torch.tensor([r["ids"] for r in rows])).numpy()
    assert np.allclose(again, np.asarray([r["logits"] for r in rows], dtype=np.float32), atol=1e-5)


def test_tokenize_cli_matches_the_bundle(bundle):
    out, _ = bundle
    rows = [json.loads(line) for line in (out / "parity.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    texts = [r["text"] for r in rows] + ["\ud800 lone surrogate ΟΔΟΣ", "\udfff"]
    stdin = "".join(json.dumps(t) + "\n" for t in texts)
    env = dict(os.environ, PYTHONPATH=TRAINING)
    cmd = [sys.executable, "-m", "shipshape_train.tokenize_cli", "--bundle", str(out)]
    ids = subprocess.run(cmd, input=stdin.encode(), env=env, capture_output=True, check=True).stdout.decode()
    toks = subprocess.run(cmd + ["--tokens"], input=stdin.encode(), env=env, capture_output=True, check=True).stdout.decode()
    ids_lines, tok_lines = ids.split("\n")[:-1], toks.split("\n")[:-1]
    assert len(ids_lines) == len(tok_lines) == len(texts)
    for row, line, tline in zip(rows, ids_lines, tok_lines):
        assert json.loads(line) == row["ids"]
        assert json.loads(tline) == row["tokens"]
        assert line == json.dumps(row["ids"], separators=(",", ":"))
    assert json.loads(tok_lines[-2]) == ["\ud800", "lone", "surrogate", "οδος"[:3] + "\u03c2"]


def test_refuses_missing_vocabulary(small, tmp_path):
    model, _, kwargs = small
    for vocab in (None, [], str(tmp_path / "nope.txt")):
        with pytest.raises(ExportError, match="vocabulary is missing"):
            export_production_model(model, vocab, PreprocessingConfig(), tmp_path / "b", **kwargs)
    assert not (tmp_path / "b").exists()


def test_refuses_a_model_whose_pad_id_differs_from_the_vocabulary(small, tmp_path):
    model, vocab, kwargs = small
    swapped = [vocab[1], vocab[0]] + vocab[2:]  # <pad>=0, <unk>=1: fine for the bundle, not for this model
    with pytest.raises(ExportError, match="pad_id is 1, but the vocabulary's pad token has id 0"):
        export_production_model(model, swapped, PreprocessingConfig(), tmp_path / "b", **kwargs)
    assert not (tmp_path / "b").exists()


def test_refuses_duplicate_vocabulary_tokens(small, tmp_path):
    model, vocab, kwargs = small
    with pytest.raises(ExportError, match="duplicate"):
        export_production_model(model, vocab + [vocab[5]], PreprocessingConfig(), tmp_path / "b", **kwargs)


def test_refuses_unsupported_tokenizer(small, tmp_path):
    model, vocab, kwargs = small
    with pytest.raises(ExportError) as info:
        export_production_model(model, vocab, {"tokenizer": "spacy"}, tmp_path / "b", **kwargs)
    assert "spacy" in str(info.value) and "basic_english" in str(info.value)


def test_refuses_a_max_len_the_model_cannot_run_at(small, tmp_path):
    _, vocab, kwargs = small
    transformer = NewsTransformer(len(vocab), d_model=16, nhead=2, dim_feedforward=16, num_layers=1, max_len=32)
    del transformer.max_len  # only the positional table knows its length: the check is by behaviour
    with pytest.raises(ExportError, match="does max_len 72 match"):
        export_production_model(transformer, vocab, {"max_len": 72}, tmp_path / "b", **kwargs)
    assert not (tmp_path / "b").exists()


def test_refuses_bad_metadata(small, tmp_path):
    model, vocab, kwargs = small
    with pytest.raises(ExportError, match="name"):
        export_production_model(model, vocab, {}, tmp_path / "b", **{**kwargs, "name": "Bad Name"})
    with pytest.raises(ExportError, match="semver"):
        export_production_model(model, vocab, {}, tmp_path / "b", **{**kwargs, "version": "1.0"})
    with pytest.raises(ExportError, match="parity"):
        export_production_model(model, vocab, {}, tmp_path / "b", **{**kwargs, "parity_texts": ["a"] * 10})
    with pytest.raises(ExportError, match="tags"):
        export_production_model(model, vocab, {}, tmp_path / "b",
                                **{**kwargs, "parity_texts": [("a", ["bogus"])] * 300})


def test_transformer_all_pad_rows_are_finite():
    torch.manual_seed(0)
    model = NewsTransformer(50, d_model=16, nhead=2, dim_feedforward=16).eval()
    ids = torch.ones((3, 72), dtype=torch.long)
    ids[1, :5] = torch.tensor([2, 3, 4, 5, 0])
    for grad in (False, True):  # no_grad takes the fused fast path in eval mode
        with torch.set_grad_enabled(grad):
            out = model(ids)
        assert torch.isfinite(out).all()
        assert torch.allclose(out[0], model.classifier.bias)
    cropped = model(ids[:, :5])
    assert torch.allclose(cropped, model(ids), atol=1e-5)


def test_transformer_exports(tmp_path, small):
    _, vocab, kwargs = small
    torch.manual_seed(0)
    model = NewsTransformer(len(vocab), d_model=16, nhead=2, dim_feedforward=16).eval()
    manifest = export_production_model(model, vocab, {}, tmp_path / "t", **{**kwargs, "name": "tiny-transformer"})
    assert manifest["model"]["inputs"][0]["shape"] == ["batch", "sequence"]
    assert manifest["model"]["sequence"]["checkedLengths"] == [1, 8, 16, 33, 48, 72]
    verify_bundle(tmp_path / "t", model)


# --- the sequence axis: dynamic where proven, fixed otherwise ------------------------------------


def test_sequence_check_lengths_round_the_longest_text_up_and_stay_within_max_len():
    assert sequence_check_lengths(72, 72) == [1, 8, 16, 33, 48, 72]
    assert sequence_check_lengths(21, 72) == [1, 8, 16, 24, 33, 48, 72]
    assert sequence_check_lengths(0, 72) == [1, 8, 16, 33, 48, 72]
    assert sequence_check_lengths(5, 12) == [1, 8, 12]


def _onnx_input_dims(path):
    proto = onnx.load(str(path))
    return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in proto.graph.input}


def _run_graph(path, ids):
    """The bundle's graph run by onnxruntime-node on ids of any shape; its logits or the runtime's error."""
    [result] = run_onnx(str(path), [{"input_ids": np.asarray(ids, dtype=np.int64)}])
    return result if isinstance(result, str) else result["logits"]


def test_a_dynamic_graph_runs_at_a_length_it_was_not_checked_at(bundle):
    out, manifest = bundle
    assert _onnx_input_dims(out / "model.onnx") == {"input_ids": ["batch", "sequence"]}
    rows = [json.loads(line) for line in (out / "parity.jsonl").read_text(encoding="utf-8").splitlines()]
    short = [r for r in rows if 0 < len(r["tokens"]) <= 21]
    full = _run_graph(out / "model.onnx", [r["ids"] for r in short])
    cropped = _run_graph(out / "model.onnx", [r["ids"][:21] for r in short])
    assert full.shape == cropped.shape == (len(short), 4)
    assert np.max(np.abs(full - cropped)) <= manifest["model"]["sequence"]["atol"]


class _FlatLinear(torch.nn.Module):
    """A Linear over the flattened [max_len * dim] embeddings: its graph takes max_len tokens and no other count."""

    def __init__(self, vocab_size, max_len=MAX_LEN, dim=4):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, dim)
        self.head = torch.nn.Linear(max_len * dim, 4)

    def forward(self, input_ids):
        return self.head(self.embed(input_ids).flatten(1))


class _LastRows(torch.nn.Module):
    """Runs at any length but reads the last position, which is padding only at max_len: the lengths disagree."""

    def __init__(self, vocab_size, pad_id):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, 4)
        self.pad_id = pad_id
        self.head = torch.nn.Linear(4, 4)

    def forward(self, input_ids):
        return self.head(self.embed(input_ids)[:, -1])


def test_a_fixed_length_graph_falls_back_to_max_len_and_says_why(minimal, tmp_path, caplog):
    _, vocab, validation, norm = minimal
    torch.manual_seed(0)
    model = _FlatLinear(len(vocab)).eval()
    with caplog.at_level(logging.INFO, logger="shipshape_train.export"):
        manifest = export_production_model(model, vocab, tmp_path / "flat", labels=LABELS, validation=validation,
                                           normalization=norm)
    assert "sequence" not in manifest["model"]
    assert manifest["model"]["inputs"][0]["shape"] == ["batch", 72]
    assert _onnx_input_dims(tmp_path / "flat" / "model.onnx") == {"input_ids": ["batch", 72]}
    [line] = [r.getMessage() for r in caplog.records if "sequence axis" in r.getMessage()]
    assert line.startswith("flat: sequence axis fixed at max_len 72: the graph does not run at length 1: ")
    verify_bundle(tmp_path / "flat", model)


def test_a_graph_whose_scores_change_with_the_padded_length_falls_back(minimal, tmp_path, caplog):
    _, vocab, validation, norm = minimal
    torch.manual_seed(0)
    model = _LastRows(len(vocab), pad_id=1).eval()
    with caplog.at_level(logging.INFO, logger="shipshape_train.export"):
        manifest = export_production_model(model, vocab, tmp_path / "last", labels=LABELS, validation=validation,
                                           normalization=norm)
    assert "sequence" not in manifest["model"] and manifest["model"]["inputs"][0]["shape"] == ["batch", 72]
    [line] = [r.getMessage() for r in caplog.records if "sequence axis" in r.getMessage()]
    assert "sequence axis fixed at max_len 72: its scores at length 1 differ from the max_len run by" in line
    verify_bundle(tmp_path / "last", model)


def test_a_dynamic_export_logs_the_lengths_it_checked(minimal, tmp_path, caplog):
    model, vocab, validation, norm = minimal
    with caplog.at_level(logging.INFO, logger="shipshape_train.export"):
        manifest = export_production_model(model, vocab, tmp_path / "dyn", labels=LABELS, validation=validation,
                                           normalization=norm)
    [line] = [r.getMessage() for r in caplog.records if "sequence axis" in r.getMessage()]
    diff = manifest["model"]["sequence"]["maxAbsDiff"]
    assert line == f"dyn: sequence axis dynamic, checked at lengths 1, 8, 16, 33, 48, 72, max |diff| {diff:.3g} (atol 1e-05)"


def test_verify_bundle_refuses_a_proof_above_its_tolerance(bundle, tmp_path):
    out, manifest = bundle
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    edited = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    edited["model"]["sequence"]["maxAbsDiff"] = 1.0
    (copy / "manifest.json").write_text(json.dumps(edited), encoding="utf-8")
    with pytest.raises(AssertionError):
        verify_bundle(copy)


# --- arguments are checked before anything is written ----------------------------------------------


@pytest.fixture(scope="module")
def minimal(small):
    """The minimal call's arguments: a model, its vocabulary and validation texts with label names."""
    model, vocab, kwargs = small
    texts = [t for t, _ in kwargs["parity_texts"] if t][-120:]
    return model, vocab, (texts, [LABELS[i % 4] for i in range(len(texts))]), kwargs["normalization"]


def test_the_minimal_call_computes_metrics_reference_and_parity_cases(minimal, tmp_path):
    model, vocab, validation, norm = minimal
    manifest = export_production_model(model, vocab, tmp_path / "Tiny Bag", labels=LABELS, validation=validation,
                                       normalization=norm)
    assert manifest["name"] == "tiny-bag" and manifest["version"] == "1.0.0"
    assert manifest["metrics"]["split"] == "validation" and manifest["metrics"]["examples"] == 120
    assert sum(manifest["reference"]["tokenLength"]["counts"]) == 120
    assert manifest["reference"]["labelDistribution"] == {label: 0.25 for label in LABELS}
    assert manifest["parity"]["cases"] >= 200
    verify_bundle(tmp_path / "Tiny Bag", model)


def test_refuses_an_opset_torch_cannot_write_before_the_folder_exists(minimal, tmp_path):
    model, vocab, validation, _ = minimal
    with pytest.raises(ExportError, match=r"opset must be from 17 .* to 17 .*got 18"):
        export_production_model(model, vocab, tmp_path / "b", labels=LABELS, validation=validation, opset=18)
    assert not (tmp_path / "b").exists()


def test_a_mapping_vocabulary_needs_ids_without_gaps(minimal, tmp_path):
    model, vocab, validation, _ = minimal
    gappy = {token: (i if i < 10 else i + 1) for i, token in enumerate(vocab)}
    with pytest.raises(ExportError, match=r"ids must be 0\.\.\d+ without gaps; missing \[10\]"):
        export_production_model(model, gappy, tmp_path / "b", labels=LABELS, validation=validation)
    assert not (tmp_path / "b").exists()


def test_a_mapping_vocabulary_refuses_an_id_given_twice(minimal, tmp_path):
    model, vocab, validation, _ = minimal
    twice = {**{token: i for i, token in enumerate(vocab)}, "extra-token": 3}
    with pytest.raises(ExportError, match=f"id 3 is given to both {vocab[3]!r} and 'extra-token'"):
        export_production_model(model, twice, tmp_path / "b", labels=LABELS, validation=validation)


def test_a_vocab_object_must_map_unknown_tokens_to_the_unk_id(minimal, tmp_path):
    from foreign_models import Vocab

    model, vocab, validation, _ = minimal
    with pytest.raises(ExportError, match=r"default index is 5 .* call vocab.set_default_index"):
        export_production_model(model, Vocab(vocab, default_index=5), tmp_path / "b", labels=LABELS,
                                validation=validation)


def test_refuses_special_tokens_missing_from_the_vocabulary(minimal, tmp_path):
    model, vocab, validation, _ = minimal
    with pytest.raises(ExportError, match=r"no pad token '\[PAD\]'"):
        export_production_model(model, vocab, tmp_path / "b", labels=LABELS, validation=validation,
                                config={"pad_token": "[PAD]"})


def test_refuses_validation_labels_that_are_not_the_models(minimal, tmp_path):
    model, vocab, (texts, _), _ = minimal
    with pytest.raises(ExportError, match="validation label 0 is 'Weather'"):
        export_production_model(model, vocab, tmp_path / "b", labels=LABELS,
                                validation=(texts, ["Weather"] * len(texts)))
    with pytest.raises(ExportError, match="validation label 0 is 4"):
        export_production_model(model, vocab, tmp_path / "b", labels=LABELS, validation=(texts, [4] * len(texts)))
    assert not (tmp_path / "b").exists()


def test_without_validation_the_sections_it_would_give_are_required(minimal, tmp_path):
    model, vocab, _, _ = minimal
    with pytest.raises(ExportError, match=r"pass validation=\(texts, labels\)"):
        export_production_model(model, vocab, tmp_path / "b", labels=LABELS)
    assert not (tmp_path / "b").exists()


class _NoOnnxOp(torch.nn.Module):
    """Runs in torch, but torch 1.13 has no ONNX export for fft_rfft."""

    def __init__(self, vocab_size):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, 8)
        self.head = torch.nn.Linear(5, 4)

    def forward(self, input_ids):
        spectrum = torch.fft.rfft(self.embed(input_ids).mean(dim=1), dim=-1).abs()
        return self.head(spectrum)


def test_a_torch_export_failure_is_an_export_error_naming_the_step(minimal, tmp_path):
    _, vocab, validation, norm = minimal
    with pytest.raises(ExportError, match=r"exporting the ONNX graph \(torch.onnx.export, opset 17\) failed") as info:
        export_production_model(_NoOnnxOp(len(vocab)), vocab, tmp_path / "b", labels=LABELS, validation=validation,
                                normalization=norm)
    assert info.value.__cause__ is not None
    assert not (tmp_path / "b").exists()


class _FrozenBatch(torch.nn.Module):
    """Turns the batch size into a Python int: the traced graph keeps the dummy batch of 2."""

    def __init__(self, vocab_size):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, 4)

    def forward(self, input_ids):
        return self.embed(input_ids).mean(dim=1) + torch.zeros(int(input_ids.size(0)), 4)


def test_refuses_a_graph_with_the_batch_size_baked_in_and_names_the_fix(minimal, tmp_path):
    _, vocab, validation, norm = minimal
    with pytest.raises(ExportError) as info:
        export_production_model(_FrozenBatch(len(vocab)), vocab, tmp_path / "b", labels=LABELS,
                                validation=validation, normalization=norm)
    message = str(info.value)
    assert "batch size baked into the graph" in message
    assert "x.size(0) without int()" in message
    assert not (tmp_path / "b").exists()
