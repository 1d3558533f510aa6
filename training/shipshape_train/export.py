"""Export a PyTorch text classifier as a shipshape bundle (docs/bundle-format.md, schema version 1).

The reusable entry point is :func:`export_production_model`. It writes, into ``out_dir``:
``model.onnx``, ``vocab.txt``, ``normalization.json``, ``parity.jsonl`` and, last,
``manifest.json`` (which hashes the other four). :func:`verify_bundle` checks a bundle again.

The model must map int64 ``input_ids`` [batch, max_len] to float32 logits [batch, len(labels)],
recognising padding by the pad token's id (1 with the default specials).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple, Union

import numpy as np
import onnx
import torch

from .normalization import cached_normalization, dumps_normalization
from .tokenizer import SUPPORTED_TOKENIZERS, encode, get_tokenizer, vocab_index
from .vocab import PAD_TOKEN, UNK_TOKEN, read_vocab, validate_vocab, vocab_to_text

SCHEMA_VERSION = 1
TASK = "text-classification"
BUNDLE_FILES = ("model.onnx", "vocab.txt", "normalization.json", "parity.jsonl")
PARITY_TAGS = (
    "empty", "punctuation", "long", "oov", "non-latin", "br", "quotes", "whitespace", "sigma",
    "mixed-case", "numbers", "test-split",
)
TOKEN_LENGTH_EDGES = (0, 8, 16, 24, 32, 40, 48, 56, 64, 72)
MIN_PARITY_CASES = 200
DEFAULT_ATOL = 1e-4
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_ONNX_DTYPES = {
    onnx.TensorProto.INT64: "int64",
    onnx.TensorProto.INT32: "int32",
    onnx.TensorProto.FLOAT: "float32",
}


class ExportError(ValueError):
    """The model, vocabulary or configuration cannot be shipped as a bundle."""


@dataclass(frozen=True)
class PreprocessingConfig:
    """How text becomes ``input_ids``; mirrors the manifest's ``preprocessing`` section."""

    tokenizer: str = "basic_english"
    max_len: int = 72
    unk_token: str = UNK_TOKEN
    pad_token: str = PAD_TOKEN
    lowercase: bool = True

    @classmethod
    def from_any(cls, config: Union["PreprocessingConfig", Mapping[str, Any]]) -> "PreprocessingConfig":
        if isinstance(config, cls):
            return config
        if not isinstance(config, Mapping):
            raise ExportError(f"config must be a PreprocessingConfig or a mapping, got {type(config).__name__}")
        aliases = {"maxLen": "max_len", "unkToken": "unk_token", "padToken": "pad_token"}
        kwargs = {aliases.get(k, k): v for k, v in config.items()}
        unknown = set(kwargs) - set(cls.__dataclass_fields__)
        if unknown:
            raise ExportError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**kwargs)

    def validate(self) -> None:
        if self.tokenizer not in SUPPORTED_TOKENIZERS:
            raise ExportError(
                f"unsupported tokenizer {self.tokenizer!r}; supported tokenizers: {', '.join(SUPPORTED_TOKENIZERS)}"
            )
        if self.lowercase is not True:
            raise ExportError("basic_english always lowercases: lowercase must be true")
        if isinstance(self.max_len, bool) or not isinstance(self.max_len, int) or self.max_len <= 0:
            raise ExportError(f"max_len must be a positive integer, got {self.max_len!r}")
        if self.unk_token == self.pad_token:
            raise ExportError("unk and pad tokens must differ")


# ---------------------------------------------------------------------------------------------
# Statistics helpers (for ``metrics`` and ``reference``)


def oov_rate(tokenized: Iterable[Sequence[str]], vocab: Sequence[str] | Mapping[str, int], unk_token: str = UNK_TOKEN) -> float:
    """Unknown tokens / all tokens, before truncation."""
    index = vocab if isinstance(vocab, Mapping) else vocab_index(vocab)
    total = unknown = 0
    for tokens in tokenized:
        total += len(tokens)
        unknown += sum(1 for t in tokens if t not in index or t == unk_token)
    return unknown / total if total else 0.0


def compute_reference(
    texts: Sequence[str],
    label_ids: Sequence[int],
    vocab: Sequence[str],
    labels: Sequence[str],
    config: PreprocessingConfig | Mapping[str, Any] = PreprocessingConfig(),
) -> Dict[str, Any]:
    """The manifest's ``reference`` section for the training data."""
    config = PreprocessingConfig.from_any(config)
    tokenize = get_tokenizer(config.tokenizer)
    tokenized = [tokenize(t) for t in texts]
    edges = list(TOKEN_LENGTH_EDGES)
    if edges[-1] != config.max_len:
        step = max(1, config.max_len // 9)
        edges = sorted(set([0] + [min(config.max_len, step * i) for i in range(1, 9)] + [config.max_len]))
    counts = [0] * (len(edges) - 1)
    for tokens in tokenized:
        n = len(tokens)
        bucket = len(counts) - 1
        for i in range(len(counts)):
            if edges[i] <= n < edges[i + 1]:
                bucket = i
                break
        counts[bucket] += 1
    total = len(label_ids)
    distribution = {name: (sum(1 for y in label_ids if y == i) / total if total else 0.0) for i, name in enumerate(labels)}
    return {
        "tokenLength": {"edges": edges, "counts": counts},
        "labelDistribution": {k: round(v, 6) for k, v in distribution.items()},
        "oovRate": round(oov_rate(tokenized, vocab, config.unk_token), 6),
        "truncationRate": round(sum(1 for t in tokenized if len(t) > config.max_len) / len(tokenized), 6) if tokenized else 0.0,
    }


# ---------------------------------------------------------------------------------------------
# Validation


def _load_vocab(vocab: Union[Sequence[str], str, os.PathLike, None]) -> List[str]:
    if vocab is None:
        raise ExportError("vocabulary is missing")
    if isinstance(vocab, (str, os.PathLike)):
        path = os.fspath(vocab)
        if not os.path.isfile(path):
            raise ExportError(f"vocabulary is missing: no file {path}")
        try:
            tokens = read_vocab(path)
        except ValueError as exc:
            raise ExportError(str(exc)) from exc
    else:
        tokens = list(vocab)
    if not tokens:
        raise ExportError("vocabulary is missing or empty")
    try:
        validate_vocab(tokens)
    except ValueError as exc:
        raise ExportError(f"invalid vocabulary: {exc}") from exc
    return tokens


def _check_vocab_specials(tokens: Sequence[str], config: PreprocessingConfig) -> None:
    if len(tokens) < 2 or tokens[0] != config.unk_token or tokens[1] != config.pad_token:
        raise ExportError(
            f"the vocabulary must start with the unk token {config.unk_token!r} (id 0) and the pad token "
            f"{config.pad_token!r} (id 1); it starts with {list(tokens[:2])!r}"
        )


def _check_metrics(metrics: Mapping[str, Any]) -> Dict[str, Any]:
    required = {"split": str, "examples": int, "accuracy": (int, float), "oovRate": (int, float)}
    if not isinstance(metrics, Mapping) or set(metrics) != set(required):
        raise ExportError(f"metrics must have exactly the keys {sorted(required)}, got {sorted(metrics or {})}")
    for key, kind in required.items():
        if not isinstance(metrics[key], kind) or isinstance(metrics[key], bool):
            raise ExportError(f"metrics.{key} has the wrong type: {metrics[key]!r}")
    if not 0 <= metrics["accuracy"] <= 1 or not 0 <= metrics["oovRate"] <= 1 or metrics["examples"] <= 0:
        raise ExportError(f"metrics out of range: {dict(metrics)!r}")
    return {"split": metrics["split"], "examples": metrics["examples"],
            "accuracy": float(metrics["accuracy"]), "oovRate": float(metrics["oovRate"])}


def _check_reference(reference: Mapping[str, Any], labels: Sequence[str]) -> Dict[str, Any]:
    keys = {"tokenLength", "labelDistribution", "oovRate", "truncationRate"}
    if not isinstance(reference, Mapping) or set(reference) != keys:
        raise ExportError(f"reference must have exactly the keys {sorted(keys)}")
    tl = reference["tokenLength"]
    if not isinstance(tl, Mapping) or set(tl) != {"edges", "counts"}:
        raise ExportError("reference.tokenLength must have exactly the keys edges and counts")
    edges, counts = list(tl["edges"]), list(tl["counts"])
    if len(edges) < 2 or len(counts) != len(edges) - 1 or edges != sorted(set(edges)) or edges[0] != 0:
        raise ExportError("reference.tokenLength: edges must ascend from 0 and counts have len(edges) - 1 entries")
    if any(not isinstance(c, int) or c < 0 for c in counts):
        raise ExportError("reference.tokenLength.counts must be non-negative integers")
    dist = reference["labelDistribution"]
    if not isinstance(dist, Mapping) or list(dist) != list(labels):
        raise ExportError("reference.labelDistribution must have one entry per label, in label order")
    for key in ("oovRate", "truncationRate"):
        if not 0 <= reference[key] <= 1:
            raise ExportError(f"reference.{key} must be within [0, 1]")
    return {
        "tokenLength": {"edges": edges, "counts": counts},
        "labelDistribution": {k: float(v) for k, v in dist.items()},
        "oovRate": float(reference["oovRate"]),
        "truncationRate": float(reference["truncationRate"]),
    }


ParityItem = Union[str, Tuple[str, Sequence[str]], Mapping[str, Any]]


def _normalize_parity_texts(parity_texts: Iterable[ParityItem]) -> List[Tuple[str, List[str]]]:
    cases = []
    for i, item in enumerate(parity_texts):
        if isinstance(item, str):
            text, tags = item, []
        elif isinstance(item, Mapping):
            text, tags = item.get("text"), list(item.get("tags", []))
        else:
            text, tags = item[0], list(item[1])
        if not isinstance(text, str):
            raise ExportError(f"parity case {i}: text must be a string")
        bad = [t for t in tags if t not in PARITY_TAGS]
        if bad:
            raise ExportError(f"parity case {i}: unknown tags {bad}; allowed: {', '.join(PARITY_TAGS)}")
        cases.append((text, list(dict.fromkeys(tags))))
    return cases


# ---------------------------------------------------------------------------------------------
# Writing


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _f32(value: float) -> float:
    """A float32 value as the shortest decimal that round-trips through float32."""
    return float(repr(np.float32(value)))


def _json_line(obj: Mapping[str, Any]) -> str:
    """One parity line, pure ASCII: non-ASCII text is escaped, so no reader can mistake U+0085,
    U+2028 or U+2029 inside a string for a line end, and lone surrogates stay representable."""
    return json.dumps(obj, ensure_ascii=True, separators=(", ", ": "), allow_nan=False)


def _created_at(created_at: str | _dt.datetime | None) -> str:
    if isinstance(created_at, str):
        return created_at
    if created_at is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        created_at = (
            _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch else _dt.datetime.now(_dt.timezone.utc)
        )
    return created_at.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_model(model: torch.nn.Module, config: PreprocessingConfig, vocab_size: int, num_labels: int) -> None:
    declared = getattr(model, "max_len", None)
    if declared is not None and declared != config.max_len:
        raise ExportError(f"max_len {config.max_len} does not match the model's input length {declared}")
    pad_id = getattr(model, "pad_id", None)
    if pad_id is not None and pad_id != 1:
        raise ExportError(f"the model's pad_id is {pad_id}, but the pad token has id 1")
    probe = torch.full((2, config.max_len), 1, dtype=torch.long)
    probe[0, : min(3, config.max_len)] = torch.tensor([vocab_size - 1, 0, 2][: min(3, config.max_len)])
    try:
        with torch.no_grad():
            out = model(probe)
    except Exception as exc:  # noqa: BLE001 - any failure means the model cannot take this input
        raise ExportError(
            f"the model does not accept input_ids of shape [batch, {config.max_len}] with ids below {vocab_size} "
            f"(does max_len {config.max_len} match the model's input?): {exc}"
        ) from exc
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, num_labels) or out.dtype != torch.float32:
        raise ExportError(
            f"the model must return float32 logits of shape [batch, {num_labels}], got "
            f"{getattr(out, 'dtype', type(out))} {tuple(getattr(out, 'shape', ()))}"
        )
    if not torch.isfinite(out).all():
        raise ExportError("the model returns non-finite logits (an all-pad row must give finite logits)")


def _export_onnx(model: torch.nn.Module, path: str, max_len: int, opset: int) -> None:
    dummy = torch.ones((2, max_len), dtype=torch.long)
    dummy[:, :4] = torch.tensor([2, 3, 0, 5]) if max_len >= 4 else 1
    # Grad stays enabled while tracing: in eval mode under no_grad, nn.TransformerEncoderLayer takes
    # its fused fast path (aten::_transformer_encoder_layer_fwd), which has no ONNX export.
    with torch.enable_grad(), warnings.catch_warnings():
        # Tracing nn.MultiheadAttention warns about its shape asserts, and torch 1.13 about
        # prim::Constant shape inference; the graph is checked (and its I/O read back) afterwards.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(
            model,
            (dummy,),
            path,
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
        )


def _describe_values(values, roles: Mapping[str, str], what: str) -> List[Dict[str, Any]]:
    out = []
    for value in values:
        tensor = value.type.tensor_type
        if tensor.elem_type not in _ONNX_DTYPES:
            raise ExportError(f"{what} {value.name!r} has unsupported element type {tensor.elem_type}")
        shape: List[Union[str, int]] = []
        for dim in tensor.shape.dim:
            if dim.HasField("dim_param"):
                shape.append(dim.dim_param)
            elif dim.HasField("dim_value"):
                shape.append(int(dim.dim_value))
            else:
                raise ExportError(f"{what} {value.name!r} has a dimension with neither a name nor a size")
        if value.name not in roles:
            raise ExportError(f"{what} {value.name!r} has no known role (expected one of {sorted(roles)})")
        out.append({"name": value.name, "role": roles[value.name], "dtype": _ONNX_DTYPES[tensor.elem_type], "shape": shape})
    return out


def _read_model_io(path: str, max_len: int, num_labels: int) -> Tuple[int, List[dict], List[dict]]:
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset < 17:
        raise ExportError(f"model.onnx must use opset >= 17, found {opset}")
    initializers = {init.name for init in proto.graph.initializer}
    graph_inputs = [v for v in proto.graph.input if v.name not in initializers]
    inputs = _describe_values(graph_inputs, {"input_ids": "input_ids", "attention_mask": "attention_mask"}, "input")
    outputs = _describe_values(proto.graph.output, {"logits": "logits"}, "output")
    ids = [i for i in inputs if i["role"] == "input_ids"]
    if len(ids) != 1 or ids[0]["dtype"] != "int64" or len(ids[0]["shape"]) != 2 or not isinstance(ids[0]["shape"][0], str):
        raise ExportError(f"model.onnx must take int64 input_ids [batch, {max_len}], got {inputs}")
    if ids[0]["shape"][1] != max_len:
        raise ExportError(f"max_len {max_len} does not match the model's input {ids[0]['shape']}")
    if len(outputs) != 1 or outputs[0]["dtype"] != "float32" or len(outputs[0]["shape"]) != 2:
        raise ExportError(f"model.onnx must return float32 logits [batch, {num_labels}], got {outputs}")
    if outputs[0]["shape"][1] != num_labels or not isinstance(outputs[0]["shape"][0], str):
        raise ExportError(f"logits shape {outputs[0]['shape']} does not match [batch, {num_labels}] labels")
    return opset, inputs, outputs


def compute_parity(
    model: torch.nn.Module,
    cases: Sequence[Tuple[str, Sequence[str]]],
    vocab: Sequence[str],
    labels: Sequence[str],
    config: PreprocessingConfig,
    batch_size: int = 64,
) -> List[Dict[str, Any]]:
    """text -> tokens -> ids -> logits (torch, eval mode) for each case."""
    tokenize = get_tokenizer(config.tokenizer)
    index = vocab_index(vocab)
    unk_id, pad_id = index[config.unk_token], index[config.pad_token]
    rows = []
    for text, tags in cases:
        tokens = tokenize(text)
        rows.append({"text": text, "tags": list(tags), "tokens": tokens,
                     "ids": encode(tokens, index, config.max_len, unk_id, pad_id)})
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                chunk = rows[start:start + batch_size]
                logits = model(torch.tensor([r["ids"] for r in chunk], dtype=torch.long)).float().numpy()
                for row, values in zip(chunk, logits):
                    if not np.all(np.isfinite(values)):
                        raise ExportError(f"non-finite logits for parity text {row['text']!r}")
                    row["logits"] = [_f32(v) for v in values]
                    row["label"] = labels[int(np.argmax(values))]
    finally:
        model.train(was_training)
    return [{"id": i, "tags": r["tags"], "text": r["text"], "tokens": r["tokens"], "ids": r["ids"],
             "logits": r["logits"], "label": r["label"]} for i, r in enumerate(rows)]


def export_production_model(
    model: torch.nn.Module,
    vocab: Union[Sequence[str], str, os.PathLike, None],
    config: Union[PreprocessingConfig, Mapping[str, Any]],
    out_dir: Union[str, os.PathLike],
    *,
    name: str,
    version: str,
    labels: Sequence[str],
    metrics: Mapping[str, Any],
    reference: Mapping[str, Any],
    parity_texts: Iterable[ParityItem],
    opset: int = 17,
    atol: float = DEFAULT_ATOL,
    created_at: Union[str, _dt.datetime, None] = None,
    min_parity_cases: int = MIN_PARITY_CASES,
    normalization: Mapping[str, Any] | None = None,
) -> Dict[str, Any]:
    """Write a bundle for ``model`` into ``out_dir`` and return its manifest.

    ``vocab`` is a list of tokens (id = position) or a path to a ``vocab.txt``; its first two
    entries must be the configured unk and pad tokens. ``config`` is a :class:`PreprocessingConfig`
    or a mapping with its fields. ``parity_texts`` are strings, ``(text, tags)`` pairs or
    ``{"text", "tags"}`` mappings; tags from :data:`PARITY_TAGS`. ``metrics`` and ``reference``
    are the manifest sections of the same names (see :func:`compute_reference`, :func:`oov_rate`).

    Raises :class:`ExportError` (a ValueError) before writing anything if the inputs are unusable.
    ``manifest.json`` is removed first and written last, so a bundle directory with a manifest is
    always complete.
    """
    config = PreprocessingConfig.from_any(config)
    config.validate()
    tokens = _load_vocab(vocab)
    _check_vocab_specials(tokens, config)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ExportError(f"name must match [a-z0-9][a-z0-9-]*, got {name!r}")
    if not isinstance(version, str) or not _SEMVER_RE.match(version):
        raise ExportError(f"version must be semver, got {version!r}")
    labels = list(labels)
    if not labels or len(set(labels)) != len(labels) or not all(isinstance(x, str) and x for x in labels):
        raise ExportError(f"labels must be distinct non-empty strings, got {labels!r}")
    metrics_doc = _check_metrics(metrics)
    reference_doc = _check_reference(reference, labels)
    cases = _normalize_parity_texts(parity_texts)
    if len(cases) < min_parity_cases:
        raise ExportError(f"at least {min_parity_cases} parity texts are required, got {len(cases)}")
    if opset < 17:
        raise ExportError(f"opset must be >= 17, got {opset}")
    if not isinstance(model, torch.nn.Module):
        raise ExportError(f"model must be a torch.nn.Module, got {type(model).__name__}")

    was_training = model.training
    model.eval()
    try:
        _check_model(model, config, len(tokens), len(labels))
        out = os.fspath(out_dir)
        os.makedirs(out, exist_ok=True)
        manifest_path = os.path.join(out, "manifest.json")
        if os.path.exists(manifest_path):
            os.remove(manifest_path)
        paths = {f: os.path.join(out, f) for f in BUNDLE_FILES}

        _export_onnx(model, paths["model.onnx"], config.max_len, opset)
        model_opset, inputs, outputs = _read_model_io(paths["model.onnx"], config.max_len, len(labels))

        with open(paths["vocab.txt"], "w", encoding="utf-8", newline="\n") as fh:
            fh.write(vocab_to_text(tokens))

        norm = dict(normalization) if normalization is not None else cached_normalization()
        with open(paths["normalization.json"], "w", encoding="utf-8", newline="\n") as fh:
            fh.write(dumps_normalization(norm))

        parity = compute_parity(model, cases, tokens, labels, config)
        with open(paths["parity.jsonl"], "w", encoding="utf-8", newline="\n") as fh:
            for row in parity:
                fh.write(_json_line(row) + "\n")
    finally:
        model.train(was_training)

    manifest = {
        "schemaVersion": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "createdAt": _created_at(created_at),
        "task": TASK,
        "files": {f: {"sha256": _sha256(paths[f]), "size": os.path.getsize(paths[f])} for f in BUNDLE_FILES},
        "model": {"file": "model.onnx", "opset": model_opset, "inputs": inputs, "outputs": outputs},
        "preprocessing": {
            "tokenizer": config.tokenizer,
            "lowercase": True,
            "normalization": "normalization.json",
            "vocab": "vocab.txt",
            "maxLen": config.max_len,
            "truncation": "right",
            "padding": "right",
            "specialTokens": {
                "unk": {"token": config.unk_token, "id": 0},
                "pad": {"token": config.pad_token, "id": 1},
            },
        },
        "labels": labels,
        "metrics": metrics_doc,
        "reference": reference_doc,
        "parity": {"file": "parity.jsonl", "cases": len(parity), "atol": atol},
    }
    tmp = manifest_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    os.replace(tmp, manifest_path)
    return manifest


# ---------------------------------------------------------------------------------------------
# Verification


def verify_bundle(bundle_dir: Union[str, os.PathLike], model: torch.nn.Module | None = None) -> Dict[str, Any]:
    """Check a bundle: hashes and sizes, ONNX checker and I/O, vocab, parity rows; with ``model``,
    recompute the parity logits with torch (no onnxruntime in this environment). Returns the
    manifest; raises AssertionError/ExportError on the first problem."""
    bundle = os.fspath(bundle_dir)
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    assert manifest["schemaVersion"] == SCHEMA_VERSION
    assert list(manifest["files"]) == list(BUNDLE_FILES), manifest["files"].keys()
    for fname, meta in manifest["files"].items():
        path = os.path.join(bundle, fname)
        assert os.path.getsize(path) == meta["size"], f"{fname}: size differs"
        assert _sha256(path) == meta["sha256"], f"{fname}: sha256 differs"
    pre = manifest["preprocessing"]
    max_len = pre["maxLen"]
    labels = manifest["labels"]
    opset, inputs, outputs = _read_model_io(os.path.join(bundle, "model.onnx"), max_len, len(labels))
    assert manifest["model"] == {"file": "model.onnx", "opset": opset, "inputs": inputs, "outputs": outputs}
    tokens = read_vocab(os.path.join(bundle, pre["vocab"]))
    config = PreprocessingConfig(pre["tokenizer"], max_len, pre["specialTokens"]["unk"]["token"],
                                 pre["specialTokens"]["pad"]["token"])
    _check_vocab_specials(tokens, config)
    tokenize = get_tokenizer(pre["tokenizer"])
    index = vocab_index(tokens)
    with open(os.path.join(bundle, manifest["parity"]["file"]), encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert len(rows) == manifest["parity"]["cases"] >= MIN_PARITY_CASES
    for i, row in enumerate(rows):
        assert row["id"] == i
        assert set(row["tags"]) <= set(PARITY_TAGS)
        assert row["tokens"] == tokenize(row["text"]), row["text"]
        assert row["ids"] == encode(row["tokens"], index, max_len, 0, 1), row["text"]
        assert len(row["logits"]) == len(labels) and all(math.isfinite(v) for v in row["logits"])
        assert row["label"] == labels[int(np.argmax(np.asarray(row["logits"], dtype=np.float32)))]
    if model is not None:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                got = model(torch.tensor([r["ids"] for r in rows], dtype=torch.long)).numpy()
        finally:
            model.train(was_training)
        want = np.asarray([r["logits"] for r in rows], dtype=np.float32)
        diff = float(np.max(np.abs(got - want)))
        assert diff <= manifest["parity"]["atol"], f"parity logits differ by {diff}"
    return manifest
