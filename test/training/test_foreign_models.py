"""Models this project has never seen, exported with the minimal call and served by the TypeScript side.

Four architectures (recurrent, convolutional, attention, bag) with 7, 3, 5 and 2 labels and max_len 48, 32, 128
and 72, each with its vocabulary in another shape; a bag that ends in softmax; and a packed-sequence GRU, which
the exporter refuses and which, forced through, inspect/predict/serve must refuse too.
"""

import json
import os
import random
import shutil
import subprocess

import pytest
import torch

from foreign_models import MaskedBiLSTM, MaskedCNN, MeanBag, PackedGRU, TinyAttention, Vocab
from shipshape_train.corpus import make_splits
from shipshape_train.export import ExportError, export_production_model, verify_bundle
from shipshape_train.tokenizer import basic_english
from shipshape_train.vocab import build_vocab, write_vocab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TSX = os.path.join(ROOT, "node_modules", ".bin", "tsx")
SHIPSHAPE = os.path.join(ROOT, "bin", "shipshape.js")
REFUSAL_CODES = ("PARITY_MISMATCH", "BUNDLE_MODEL_MISMATCH")


def _labels(n):
    return [f"class-{i}" for i in range(n)]


# key: (labels, max_len, vocabulary shape). The attention model also puts <pad> at id 0 and <unk> at id 1.
ZOO = {
    "recurrent": (7, 48, "list"),
    "convolutional": (3, 32, "path"),
    "attention": (5, 128, "mapping"),
    "bag": (2, 72, "vocab-object"),
}
# Whose scores do not depend on how far a text is padded: the attention model and the bag mask the padding out.
# The bidirectional LSTM reads the padding backwards before the text, and the convolutions see pad embeddings at a
# text's end where a shorter run has the zero padding of the convolution: both keep a fixed-length graph.
DYNAMIC = {"recurrent": False, "convolutional": False, "attention": True, "bag": True}


@pytest.fixture(scope="module")
def corpus():
    splits = make_splits({"train": 600, "validation": 120, "test": 4}, seed=11)
    tokens = build_vocab([basic_english(e.text) for e in splits["train"]], min_freq=2)
    texts = [e.text for e in splits["validation"]]
    return tokens, texts


def _build(key, tokens, tmp):
    """The model and the vocabulary argument, in the shape ZOO names."""
    num_labels, max_len, shape = ZOO[key]
    torch.manual_seed(len(key))
    if key == "attention":
        itos = ["<pad>", "<unk>"] + tokens[2:]
        pairs = list(enumerate(itos))
        random.Random(0).shuffle(pairs)  # insertion order is not id order: the ids must be honoured
        return TinyAttention(len(itos), num_labels, max_positions=max_len), {t: i for i, t in pairs}
    model = {"recurrent": MaskedBiLSTM, "convolutional": MaskedCNN, "bag": MeanBag}[key](len(tokens), num_labels, 1)
    if shape == "path":
        write_vocab(str(tmp / "vocab.txt"), tokens)
        return model, str(tmp / "vocab.txt")
    if shape == "vocab-object":
        return model, Vocab(tokens, default_index=0)
    return model, list(tokens)


@pytest.fixture(scope="module")
def zoo(corpus, tmp_path_factory, normalization_doc):
    """Every zoo model exported once with the minimal call: key -> (bundle dir, manifest, model)."""
    tokens, texts = corpus
    out = {}
    for key, (num_labels, max_len, _) in ZOO.items():
        tmp = tmp_path_factory.mktemp(key)
        model, vocab = _build(key, tokens, tmp)
        ys = [i % num_labels for i in range(len(texts))]
        if key in ("convolutional", "bag"):
            ys = [_labels(num_labels)[y] for y in ys]  # label names work as well as ids
        manifest = export_production_model(
            model, vocab, tmp / key, labels=_labels(num_labels), validation=(texts, ys), max_len=max_len,
            normalization=normalization_doc,
        )
        out[key] = (tmp / key, manifest, model)
    return out


@pytest.fixture(scope="module")
def softmax_bag(corpus, tmp_path_factory, normalization_doc):
    tokens, texts = corpus
    torch.manual_seed(5)
    model = MeanBag(len(tokens), 4, 1, softmax=True)
    out = tmp_path_factory.mktemp("softmax") / "softmax-bag"
    manifest = export_production_model(
        model, tokens, out, labels=_labels(4), validation=(texts, [i % 4 for i in range(len(texts))]),
        normalization=normalization_doc,
    )
    return out, manifest


@pytest.fixture(scope="module")
def packed_bundle(corpus, tmp_path_factory, normalization_doc):
    """A packed-sequence GRU forced through the exporter without the graph check: a batch-fixed bundle."""
    tokens, texts = corpus
    torch.manual_seed(3)
    out = tmp_path_factory.mktemp("packed") / "packed-gru"
    export_production_model(
        PackedGRU(len(tokens), 3, 1), tokens, out, labels=_labels(3),
        validation=(texts, [i % 3 for i in range(len(texts))]), normalization=normalization_doc,
        _skip_graph_check=True,
    )
    return out


def _node(args, timeout=180):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def served(zoo, softmax_bag, packed_bundle):
    """serve_parity.ts over every bundle: (bundle dir, backend, batch size) -> result."""
    dirs = [str(d) for d, _, _ in zoo.values()] + [str(softmax_bag[0]), str(packed_bundle)]
    done = _node([TSX, os.path.join(ROOT, "test", "training", "serve_parity.ts"), *dirs], timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return {(r["bundle"], r["backend"], r["batchSize"]): r for r in json.loads(done.stdout)["results"]}


def _inspect(bundle):
    done = _node(["node", SHIPSHAPE, "inspect", str(bundle), "--json"])
    return done, json.loads(done.stdout) if done.stdout.strip().startswith("{") else None


# --- export -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(ZOO))
def test_the_minimal_call_exports_each_foreign_model(zoo, key):
    bundle, manifest, model = zoo[key]
    num_labels, max_len, _ = ZOO[key]
    assert manifest["labels"] == _labels(num_labels)
    assert manifest["preprocessing"]["maxLen"] == max_len
    assert manifest["model"]["inputs"][0] == {"name": "input_ids", "role": "input_ids", "dtype": "int64",
                                              "shape": ["batch", "sequence" if DYNAMIC[key] else max_len]}
    assert ("sequence" in manifest["model"]) == DYNAMIC[key]
    assert manifest["model"]["outputs"] == [{"name": "logits", "role": "logits", "dtype": "float32",
                                             "shape": ["batch", num_labels]}]
    assert manifest["metrics"]["split"] == "validation" and manifest["metrics"]["examples"] == 120
    assert manifest["name"] == key and manifest["version"] == "1.0.0"
    assert manifest["parity"]["cases"] >= 200
    assert list(manifest["reference"]["labelDistribution"]) == _labels(num_labels)
    verify_bundle(bundle, model)


def test_the_attention_model_gets_the_attention_mask_as_a_second_input(zoo):
    _, manifest, _ = zoo["attention"]
    assert manifest["model"]["inputs"][1] == {"name": "attention_mask", "role": "attention_mask", "dtype": "int64",
                                              "shape": ["batch", "sequence"]}
    assert manifest["model"]["sequence"]["checkedLengths"] == [1, 8, 16, 33, 48, 128]


def test_a_mapping_vocabulary_is_written_in_id_order_with_its_special_ids(zoo, corpus):
    bundle, manifest, _ = zoo["attention"]
    lines = (bundle / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert lines == ["<pad>", "<unk>"] + corpus[0][2:]
    assert manifest["preprocessing"]["specialTokens"] == {"unk": {"token": "<unk>", "id": 1},
                                                         "pad": {"token": "<pad>", "id": 0}}
    empty = json.loads((bundle / "parity.jsonl").read_text(encoding="utf-8").split("\n")[0])
    assert empty["text"] == "" and empty["ids"] == [0] * 128


def test_outputs_that_are_already_probabilities_are_recorded_as_such(softmax_bag):
    bundle, manifest = softmax_bag
    assert manifest["model"]["outputs"] == [{"name": "probabilities", "role": "probabilities", "dtype": "float32",
                                             "shape": ["batch", 4]}]
    rows = [json.loads(line) for line in (bundle / "parity.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    assert all(min(r["logits"]) >= 0 and abs(sum(r["logits"]) - 1) < 1e-5 for r in rows)


def test_the_exporter_refuses_a_packed_sequence_gru_and_names_the_cause_and_fix(corpus, tmp_path, normalization_doc):
    tokens, texts = corpus
    torch.manual_seed(3)
    with pytest.raises(ExportError) as info:
        export_production_model(
            PackedGRU(len(tokens), 3, 1), tokens, tmp_path / "packed", labels=_labels(3),
            validation=(texts, [i % 3 for i in range(len(texts))]), normalization=normalization_doc,
        )
    message = str(info.value)
    assert "does not run at every batch size" in message and "it runs at batch 2" in message
    assert "pack_padded_sequence" in message and "without packing and mask the padding" in message
    assert not (tmp_path / "packed").exists()


# --- served by the TypeScript runtime ------------------------------------------------------------


@pytest.mark.parametrize("key", list(ZOO))
@pytest.mark.parametrize("backend", ["native", "wasm"])
def test_each_foreign_model_serves_with_logit_parity(zoo, served, key, backend):
    bundle, manifest, _ = zoo[key]
    for batch in (1, 32):
        result = served[(str(bundle), backend, batch)]
        assert "error" not in result, result
        assert result["proof"]["cases"] == manifest["parity"]["cases"]
        assert result["proof"]["compared"] == "logits"
        assert result["proof"]["maxAbsDiff"] <= manifest["parity"]["atol"]


@pytest.mark.parametrize("key", list(ZOO))
def test_inspect_proves_each_foreign_model_on_every_backend(zoo, key):
    done, report = _inspect(zoo[key][0])
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["valid"] is True
    backends = {b["backend"]: b for b in report.get("backends", [])}
    assert set(backends) == {"native", "wasm"}, "inspect --json has no per-backend parity proof"
    for proof in backends.values():
        assert proof["ok"] is True and proof["maxAbsDiff"] <= proof["atol"], proof


@pytest.mark.parametrize("key", list(ZOO))
def test_predict_answers_with_one_of_the_models_labels(zoo, key):
    bundle, manifest, _ = zoo[key]
    done = _node(["node", SHIPSHAPE, "predict", "--bundle", str(bundle), "Stocks rallied after the earnings report"])
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().split("\n")[-1])
    assert answer["label"] in manifest["labels"]
    assert sorted(answer["scores"]) == sorted(manifest["labels"])


@pytest.mark.parametrize("backend", ["native", "wasm"])
def test_probabilities_are_served_as_they_are_without_a_second_softmax(softmax_bag, served, backend):
    bundle, manifest = softmax_bag
    result = served[(str(bundle), backend, 32)]
    assert "error" not in result, result
    assert result["proof"]["maxAbsDiff"] <= manifest["parity"]["atol"]


def test_predict_gives_the_exported_probabilities_as_scores(softmax_bag):
    bundle, manifest = softmax_bag
    golden = json.loads((bundle / "parity.jsonl").read_text(encoding="utf-8").split("\n")[-2])
    done = _node(["node", SHIPSHAPE, "predict", "--bundle", str(bundle), golden["text"]])
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout.strip().split("\n")[-1])["scores"]
    assert [scores[label] for label in manifest["labels"]] == pytest.approx(golden["logits"], abs=1e-4)


# --- a batch-fixed graph forced into a bundle ---------------------------------------------------


def test_the_runtime_proof_fails_a_batch_fixed_graph_at_batch_one(packed_bundle, served):
    for backend in ("native", "wasm"):
        result = served[(str(packed_bundle), backend, 1)]
        assert result.get("error", {}).get("code") in REFUSAL_CODES, result


def test_inspect_refuses_a_batch_fixed_graph(packed_bundle):
    done, _ = _inspect(packed_bundle)
    assert done.returncode != 0, done.stdout[-500:]
    assert any(code in done.stdout + done.stderr for code in REFUSAL_CODES), done.stdout[-500:] + done.stderr[-500:]


def test_predict_refuses_a_batch_fixed_graph(packed_bundle):
    done = _node(["node", SHIPSHAPE, "predict", "--bundle", str(packed_bundle), "one text"])
    assert done.returncode != 0, done.stdout + done.stderr
    assert any(code in done.stdout + done.stderr for code in REFUSAL_CODES), done.stdout + done.stderr


def test_serve_refuses_a_batch_fixed_graph(packed_bundle):
    done = _node(["node", SHIPSHAPE, "serve", "--bundle", str(packed_bundle), "--port", "0", "--workers", "0"],
                 timeout=120)
    assert done.returncode not in (0, None), done.stdout + done.stderr
    assert any(code in done.stdout + done.stderr for code in REFUSAL_CODES), done.stdout + done.stderr
