"""Export a PyTorch text classifier as a shipshape bundle (docs/bundle-format.md, schema version 1).

The reusable entry point is :func:`export_production_model`. The minimal call is::

    export_production_model(model, vocab, "bundles/my-model", labels=["neg", "pos"],
                            validation=(texts, labels_of_texts))

It checks every argument, runs the model in torch, exports ONNX, runs the exported graph (onnxruntime-node, through
``onnx_run.mjs``) at batch sizes other than the one it was traced with and compares it with torch, and only then
writes, into ``out_dir``: ``model.onnx``, ``vocab.txt``, ``normalization.json``, ``parity.jsonl`` and, last,
``manifest.json`` (which hashes the other four). :func:`verify_bundle` checks a bundle again. Bundles exported
before the manifest had a ``calibration`` section get one with ``python3 -m shipshape_train.calibrate BUNDLE``.

The model maps int64 ``input_ids`` [batch, max_len] (and, when its ``forward`` has an ``attention_mask``
parameter, int64 ``attention_mask`` [batch, max_len], 1 for tokens and 0 for padding) to float32 scores
[batch, len(labels)]: logits, or probabilities when its last step is a softmax (detected, see
:func:`output_role`).
"""

from __future__ import annotations

import datetime as _dt
import gc
import hashlib
import inspect
import json
import logging
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import onnx
import torch

from .calibration import check_calibration, compute_calibration, top_probabilities
from .normalization import cached_normalization, dumps_normalization
from .parity_cases import HAND_PICKED, build_parity_texts
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
DEFAULT_VERSION = "1.0.0"
# Validation texts sampled into generated parity cases (at least enough to reach min_parity_cases).
PARITY_SAMPLES = 100
# A row is a probability row when every value is >= 0 and the row sums to 1 within this tolerance.
PROBABILITY_SUM_TOL = 1e-5
MIN_OPSET = 17
# The newest opset torch.onnx.export writes (17 for torch 1.13).
MAX_OPSET = int(getattr(getattr(torch.onnx, "_constants", None), "ONNX_MAX_OPSET", 17))
# The batch size the graph is traced with; the exported graph is then run at the others.
DUMMY_BATCH = 2
CHECK_BATCHES = (1, DUMMY_BATCH, 5)
# The dim_param of axis 1 of every sequence input when the graph takes any length from 1 to max_len.
SEQUENCE_AXIS = "sequence"
# Padded lengths the dynamic graph is checked at, besides the longest text's length rounded up to SEQUENCE_ROUND
# and max_len (the runtime pads a run to its longest text rounded up to a multiple of 8). 33 is off that grid on
# purpose: the graph must take any length, not only multiples of 8.
SEQUENCE_CHECK_LENGTHS = (1, 8, 16, 33, 48)
SEQUENCE_ROUND = 8
# Logits at a shorter padded length may differ from the max_len run only by float32 summation order (padding is
# masked out), so they must agree within a tenth of the parity atol: length changes may use at most a tenth of the
# budget the runtime has against torch.
SEQUENCE_ATOL_SHARE = 0.1
ONNX_RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_run.mjs")
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
PACKED_SEQUENCE_HINT = (
    "The likely cause is a batch size baked into the graph at export time: packed sequences "
    "(nn.utils.rnn.pack_padded_sequence: tracing records the packed batch sizes and the initial hidden state of the "
    "GRU/LSTM as constants for the dummy batch), or a shape turned into a Python number (int(x.size(0)), .item(), "
    ".tolist()) that then sizes a tensor. Fix: run the GRU/LSTM on the padded batch without packing and mask the "
    "padding instead (masked mean/max pooling, or gather each row's output at its last real token); keep shapes "
    "symbolic: x.size(0) without int(), x.new_zeros(...), torch.zeros_like, expand_as."
)


_log = logging.getLogger(__name__)


class ExportError(ValueError):
    """The model, vocabulary or configuration cannot be shipped as a bundle."""


@dataclass(frozen=True)
class PreprocessingConfig:
    """How text becomes ``input_ids``; mirrors the manifest's ``preprocessing`` section.

    ``unk_token`` and ``pad_token`` must be in the vocabulary, at any ids; the manifest records their ids.
    """

    tokenizer: str = "basic_english"
    max_len: int = 72
    unk_token: str = UNK_TOKEN
    pad_token: str = PAD_TOKEN
    lowercase: bool = True

    @classmethod
    def from_any(cls, config: Union["PreprocessingConfig", Mapping[str, Any], None]) -> "PreprocessingConfig":
        if config is None:
            return cls()
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
        if isinstance(self.max_len, bool) or not isinstance(self.max_len, int) or not 0 < self.max_len <= 4096:
            raise ExportError(f"max_len must be an integer from 1 to 4096, got {self.max_len!r}")
        for field in ("unk_token", "pad_token"):
            if not isinstance(getattr(self, field), str) or not getattr(self, field):
                raise ExportError(f"{field} must be a non-empty string, got {getattr(self, field)!r}")
        if self.unk_token == self.pad_token:
            raise ExportError("unk and pad tokens must differ")


@dataclass(frozen=True)
class _Specials:
    unk_id: int
    pad_id: int


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


VocabLike = Union[Sequence[str], Mapping[str, int], str, os.PathLike, Any, None]


def _vocab_from_mapping(mapping: Mapping[Any, Any]) -> List[str]:
    """``{token: id}`` with ids 0..n-1, each once; the list in id order."""
    by_id: Dict[int, str] = {}
    for token, index in mapping.items():
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ExportError(f"vocabulary mapping: the id of {token!r} is not an integer: {index!r}")
        index = int(index)
        if index in by_id:
            raise ExportError(f"vocabulary mapping: id {index} is given to both {by_id[index]!r} and {token!r}")
        by_id[index] = token
    missing = sorted(set(range(len(by_id))) - set(by_id))
    if missing:
        outside = sorted(i for i in by_id if not 0 <= i < len(by_id))
        raise ExportError(
            f"vocabulary mapping: ids must be 0..{len(by_id) - 1} without gaps; missing {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, out of range {outside[:5]}"
        )
    return [by_id[i] for i in range(len(by_id))]


def _load_vocab(vocab: VocabLike) -> List[str]:
    """Tokens in id order from a list, a ``{token: id}`` mapping, torchtext's ``Vocab`` (anything with
    ``get_itos()``) or a path to a ``vocab.txt``."""
    if vocab is None:
        raise ExportError("vocabulary is missing")
    if isinstance(vocab, (str, os.PathLike)):
        path = os.fspath(vocab)
        if not os.path.isfile(path):
            raise ExportError(f"vocabulary is missing: no file {path}")
        try:
            tokens = read_vocab(path)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ExportError(f"vocabulary file {path}: {exc}") from exc
    elif isinstance(vocab, Mapping):
        tokens = _vocab_from_mapping(vocab)
    elif callable(getattr(vocab, "get_itos", None)):
        tokens = list(vocab.get_itos())
    elif isinstance(vocab, (list, tuple)):
        tokens = list(vocab)
    else:
        raise ExportError(
            f"unsupported vocabulary type {type(vocab).__name__}: pass a list of tokens (id = position), a "
            "{token: id} mapping, a torchtext Vocab (get_itos()) or the path of a vocab.txt"
        )
    if not tokens:
        raise ExportError("vocabulary is missing or empty")
    try:
        validate_vocab(tokens)
    except ValueError as exc:
        raise ExportError(f"invalid vocabulary: {exc}") from exc
    return tokens


def _special_ids(tokens: Sequence[str], config: PreprocessingConfig, vocab: Any = None) -> _Specials:
    index = vocab_index(tokens)
    for field, token in (("unk_token", config.unk_token), ("pad_token", config.pad_token)):
        if token not in index:
            raise ExportError(
                f"the vocabulary has no {field[:3]} token {token!r}; add it (at any id), or name yours with "
                f"config={{'{field}': ...}}"
            )
    specials = _Specials(index[config.unk_token], index[config.pad_token])
    # torchtext's Vocab maps unknown tokens to its default index; it must be the unk id the manifest records.
    get_default = getattr(vocab, "get_default_index", None)
    default = get_default() if callable(get_default) else None
    if default is not None and int(default) != specials.unk_id:
        raise ExportError(
            f"the vocabulary's default index is {default} ({tokens[int(default)]!r} if in range), but the unk token "
            f"{config.unk_token!r} has id {specials.unk_id}; call vocab.set_default_index(vocab[{config.unk_token!r}])"
        )
    return specials


def _check_labels(labels: Any) -> List[str]:
    if isinstance(labels, (str, bytes)) or labels is None:
        raise ExportError(f"labels must be a list of label names, got {labels!r}")
    labels = list(labels)
    if len(labels) < 2 or len(set(labels)) != len(labels) or not all(isinstance(x, str) and x for x in labels):
        raise ExportError(f"labels must be at least two distinct non-empty strings, got {labels!r}")
    return labels


def _check_validation(validation: Any, labels: Sequence[str]) -> Optional[Tuple[List[str], List[int]]]:
    """``(texts, labels)``: texts are strings; labels are label names or ids (not mixed)."""
    if validation is None:
        return None
    if isinstance(validation, (str, bytes)) or not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise ExportError("validation must be a pair (texts, labels)")
    texts, ys = list(validation[0]), list(validation[1])
    if not texts or len(texts) != len(ys):
        raise ExportError(f"validation needs as many labels as texts (at least one), got {len(texts)} and {len(ys)}")
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise ExportError(f"validation text {bad} is not a string: {texts[bad]!r}")
    position = {name: i for i, name in enumerate(labels)}
    ids: List[int] = []
    named = isinstance(ys[0], str)
    for i, y in enumerate(ys):
        if isinstance(y, torch.Tensor) and y.numel() == 1:
            y = y.item()
        if named and isinstance(y, str) and y in position:
            ids.append(position[y])
        elif not named and not isinstance(y, (bool, str)) and isinstance(y, (int, np.integer)) and 0 <= y < len(labels):
            ids.append(int(y))
        else:
            raise ExportError(
                f"validation label {i} is {y!r}; labels must all be names from {list(labels)!r} or all ids "
                f"0..{len(labels) - 1}"
            )
    return texts, ids


def _default_name(out_dir: str) -> str:
    base = os.path.basename(os.path.normpath(out_dir)).lower()
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", base)).strip("-")


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


# ---------------------------------------------------------------------------------------------
# The model: its inputs, a run in torch, the exported graph


def _takes_attention_mask(model: torch.nn.Module) -> bool:
    """Whether ``forward`` has an ``attention_mask`` parameter; refuses any other required parameter."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    extra = [p.name for p in positional[1:] if p.name != "attention_mask" and p.default is p.empty]
    if extra:
        raise ExportError(
            f"the model's forward requires {extra} besides input_ids; shipshape feeds input_ids [batch, max_len] "
            "and, to a parameter named attention_mask, the padding mask (1 = token, 0 = padding)"
        )
    return any(p.name == "attention_mask" for p in positional[1:])


def _masks(lengths: Sequence[int], max_len: int) -> torch.Tensor:
    """The runtime's attention_mask: 1 for the first min(len, max_len) positions, 0 after (right padding)."""
    positions = torch.arange(max_len).unsqueeze(0)
    return (positions < torch.tensor([min(n, max_len) for n in lengths]).unsqueeze(1)).long()


def _run_torch(model: torch.nn.Module, ids: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(ids) if mask is None else model(ids, attention_mask=mask)


def _check_pad_id(model: torch.nn.Module, vocab_size: int, specials: _Specials) -> None:
    """An embedding over the vocabulary that declares ``padding_idx`` (torch's own attribute), or a model
    ``pad_id`` attribute, must name the vocabulary's pad id."""
    declared = getattr(model, "pad_id", None)
    if isinstance(declared, int) and not isinstance(declared, bool) and declared != specials.pad_id:
        raise ExportError(f"the model's pad_id is {declared}, but the vocabulary's pad token has id {specials.pad_id}")
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Embedding, torch.nn.EmbeddingBag)) and module.num_embeddings == vocab_size:
            if module.padding_idx is not None and module.padding_idx != specials.pad_id:
                raise ExportError(
                    f"the model's embedding {name!r} has padding_idx {module.padding_idx}, but the vocabulary's pad "
                    f"token has id {specials.pad_id}"
                )


def _check_model(
    model: torch.nn.Module, config: PreprocessingConfig, vocab_size: int, num_labels: int, specials: _Specials,
    uses_mask: bool,
) -> None:
    """Runs the model in torch at batch 1 and 3 on [batch, max_len] ids that include the highest id."""
    _check_pad_id(model, vocab_size, specials)
    for batch in (1, 3):
        probe = torch.full((batch, config.max_len), specials.pad_id, dtype=torch.long)
        head = [vocab_size - 1, specials.unk_id, 0][: config.max_len]
        probe[0, : len(head)] = torch.tensor(head)
        lengths = [len(head)] + [0] * (batch - 1)
        try:
            out = _run_torch(model, probe, _masks(lengths, config.max_len) if uses_mask else None)
        except Exception as exc:  # noqa: BLE001 - any failure means the model cannot take this input
            raise ExportError(
                f"the model fails on input_ids of shape [{batch}, {config.max_len}] with ids up to {vocab_size - 1} "
                f"(does max_len {config.max_len} match the model's input, and does its embedding have a row for each "
                f"of the {vocab_size} vocabulary tokens?): {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (batch, num_labels) or out.dtype != torch.float32:
            raise ExportError(
                f"the model must return float32 scores of shape [batch, {num_labels}] (one per label), got "
                f"{getattr(out, 'dtype', type(out).__name__)} {tuple(getattr(out, 'shape', ()))} at batch {batch}"
            )
        if not torch.isfinite(out).all():
            raise ExportError("the model returns non-finite scores (an all-pad row must give finite scores)")


def output_role(rows: Sequence[Sequence[float]]) -> str:
    """``probabilities`` when every row is non-negative and sums to 1 within 1e-5 (the model ends in a softmax,
    and the runtime must not apply another), else ``logits``."""
    values = np.asarray(rows, dtype=np.float64)
    if values.size and (values >= 0).all() and np.all(np.abs(values.sum(axis=1) - 1.0) <= PROBABILITY_SUM_TOL):
        return "probabilities"
    return "logits"


def _export_onnx(
    model: torch.nn.Module, path: str, max_len: int, opset: int, specials: _Specials, uses_mask: bool,
    output_name: str, dynamic_sequence: bool = False,
) -> None:
    """Traces the model at [DUMMY_BATCH, max_len] with a dynamic batch axis and, with ``dynamic_sequence``, a
    dynamic axis 1 (``SEQUENCE_AXIS``) on every sequence input."""
    dummy = torch.full((DUMMY_BATCH, max_len), specials.pad_id, dtype=torch.long)
    head = [specials.unk_id, 0, 1, 2][: max_len]
    dummy[:, : len(head)] = torch.tensor(head)
    args: Tuple[Any, ...] = (dummy,)
    names = ["input_ids"]
    if uses_mask:
        args = (dummy, {"attention_mask": _masks([len(head)] * DUMMY_BATCH, max_len)})
        names.append("attention_mask")
    dynamic: Dict[str, Dict[int, str]] = {
        name: ({0: "batch", 1: SEQUENCE_AXIS} if dynamic_sequence else {0: "batch"}) for name in names
    }
    dynamic[output_name] = {0: "batch"}
    # Grad stays enabled while tracing: in eval mode under no_grad, nn.TransformerEncoderLayer takes
    # its fused fast path (aten::_transformer_encoder_layer_fwd), which has no ONNX export.
    try:
        with torch.enable_grad(), warnings.catch_warnings():
            # Tracing warns about shape asserts and (torch 1.13) prim::Constant shape inference; the graph is run
            # at other batch sizes afterwards, which is the check that matters.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, args, path, input_names=names, output_names=[output_name], dynamic_axes=dynamic,
                opset_version=opset, do_constant_folding=True,
            )
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds; each one means no graph
        raise ExportError(f"exporting the ONNX graph (torch.onnx.export, opset {opset}) failed: {exc}") from exc


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


def _read_model_io(
    path: str, max_len: int, num_labels: int, dynamic_sequence: bool = False,
) -> Tuple[int, List[dict], List[dict]]:
    """The graph's opset, inputs and outputs as the manifest records them; axis 1 of each input must be max_len, or
    ``SEQUENCE_AXIS`` with ``dynamic_sequence``."""
    try:
        proto = onnx.load(path)
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises its own kinds
        raise ExportError(f"checking the exported graph (onnx.checker) failed: {exc}") from exc
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or opset < MIN_OPSET:
        raise ExportError(f"model.onnx must use opset >= {MIN_OPSET}, found {opset}")
    initializers = {init.name for init in proto.graph.initializer}
    graph_inputs = [v for v in proto.graph.input if v.name not in initializers]
    inputs = _describe_values(graph_inputs, {"input_ids": "input_ids", "attention_mask": "attention_mask"}, "input")
    outputs = _describe_values(
        proto.graph.output, {"logits": "logits", "probabilities": "probabilities"}, "output"
    )
    ids = [i for i in inputs if i["role"] == "input_ids"]
    if len(ids) != 1 or ids[0]["dtype"] != "int64" or len(ids[0]["shape"]) != 2 or not isinstance(ids[0]["shape"][0], str):
        raise ExportError(f"model.onnx must take int64 input_ids [batch, {max_len}], got {inputs}")
    for value in inputs:
        if value["shape"][1:] != [SEQUENCE_AXIS if dynamic_sequence else max_len]:
            raise ExportError(
                f"max_len {max_len} does not match the model's input {value['name']} {value['shape']}"
                if not dynamic_sequence else
                f"the model's input {value['name']} {value['shape']} has no dynamic axis 1 named {SEQUENCE_AXIS!r}"
            )
    if len(outputs) != 1 or outputs[0]["dtype"] != "float32" or len(outputs[0]["shape"]) != 2:
        raise ExportError(f"model.onnx must return float32 scores [batch, {num_labels}], got {outputs}")
    if outputs[0]["shape"][1] != num_labels or not isinstance(outputs[0]["shape"][0], str):
        raise ExportError(f"output shape {outputs[0]['shape']} does not match [batch, {num_labels}] labels")
    return opset, inputs, outputs


def run_onnx(path: str, feeds_per_run: Sequence[Mapping[str, np.ndarray]]) -> List[Union[Dict[str, np.ndarray], str]]:
    """Runs ``path`` once per feed dict with onnxruntime-node (``onnx_run.mjs``; this environment has no ONNX
    runtime for Python). Returns, per run, the outputs by name or the runtime's error message.

    Raises :class:`ExportError` when node or onnxruntime-node cannot be started."""
    node = shutil.which("node")
    if node is None:
        raise ExportError("verifying the ONNX graph needs node with onnxruntime-node (this repository's node_modules)")
    runs = [
        {"feeds": {name: {"dims": list(a.shape), "dtype": str(a.dtype), "data": a.ravel().tolist()}
                   for name, a in feeds.items()}}
        for feeds in feeds_per_run
    ]
    try:
        done = subprocess.run(
            [node, ONNX_RUNNER], input=json.dumps({"model": os.path.abspath(path), "runs": runs}),
            capture_output=True, text=True, timeout=300, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExportError(f"running the ONNX graph with onnxruntime-node failed: {exc}") from exc
    if done.returncode != 0:
        raise ExportError(
            f"running the ONNX graph with onnxruntime-node failed (exit {done.returncode}): "
            f"{done.stderr.strip()[-800:]}"
        )
    results: List[Union[Dict[str, np.ndarray], str]] = []
    for run in json.loads(done.stdout)["runs"]:
        if "error" in run:
            results.append(run["error"])
        else:
            results.append({name: np.asarray(t["data"], dtype=np.float32).reshape(t["dims"])
                            for name, t in run["outputs"].items()})
    return results


def _verify_graph(
    path: str, rows: Sequence[Mapping[str, Any]], output_name: str, uses_mask: bool, max_len: int, atol: float,
) -> Dict[str, Any]:
    """Runs the exported graph at batch 1, the traced batch and 5 on parity rows and compares with torch."""
    picks = [rows[i % len(rows)] for i in range(max(CHECK_BATCHES))]
    feeds = []
    for batch in CHECK_BATCHES:
        chosen = picks[:batch]
        feed = {"input_ids": np.asarray([r["ids"] for r in chosen], dtype=np.int64)}
        if uses_mask:
            feed["attention_mask"] = _masks([len(r["tokens"]) for r in chosen], max_len).numpy().astype(np.int64)
        feeds.append(feed)
    results = run_onnx(path, feeds)
    failed = {b: r for b, r in zip(CHECK_BATCHES, results) if isinstance(r, str)}
    if failed:
        only_dummy = DUMMY_BATCH not in failed
        detail = "; ".join(f"batch {b}: {message[:300]}" for b, message in failed.items())
        raise ExportError(
            f"the exported graph does not run at every batch size ({detail})"
            + (f"; it runs at batch {DUMMY_BATCH}, the size it was traced with. " if only_dummy else ". ")
            + PACKED_SEQUENCE_HINT
        )
    worst = 0.0
    for batch, outputs in zip(CHECK_BATCHES, results):
        got = outputs[output_name]
        want = np.asarray([r["logits"] for r in picks[:batch]], dtype=np.float32)
        diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else math.inf
        if not diff <= atol:
            raise ExportError(
                f"the exported graph's scores at batch {batch} differ from torch's by {diff:.3g} (atol {atol}; "
                f"shape {list(got.shape)}, expected {list(want.shape)}). "
                + (PACKED_SEQUENCE_HINT if batch != DUMMY_BATCH else
                   "Data-dependent Python control flow is traced for the dummy input only; express it with tensor "
                   "operations (torch.where, masks).")
            )
        worst = max(worst, diff)
    return {"batchSizes": list(CHECK_BATCHES), "maxAbsDiff": worst}


def sequence_check_lengths(longest: int, max_len: int) -> List[int]:
    """The padded lengths the dynamic graph is checked at: SEQUENCE_CHECK_LENGTHS, the longest text's length
    rounded up to SEQUENCE_ROUND and max_len, each from 1 to max_len, ascending."""
    rounded = -(-max(1, longest) // SEQUENCE_ROUND) * SEQUENCE_ROUND
    wanted = set(SEQUENCE_CHECK_LENGTHS) | {rounded, max_len}
    return sorted(n for n in wanted if 1 <= n <= max_len)


def _prove_dynamic_sequence(
    path: str, rows: Sequence[Mapping[str, Any]], output_name: str, uses_mask: bool, max_len: int, atol: float,
) -> Union[Dict[str, Any], str]:
    """Runs the graph on the parity texts padded to each of :func:`sequence_check_lengths` (a text longer than a
    length is left out at that length) and compares the logits with the run of the same texts at max_len.

    Returns the manifest's ``model.sequence`` section, or why the graph is not proven to take any length."""
    lengths = [min(len(r["tokens"]), max_len) for r in rows]
    checks = [(n, [i for i, k in enumerate(lengths) if k <= n])
              for n in sequence_check_lengths(max(lengths, default=1), max_len)]
    checks = [(n, chosen) for n, chosen in checks if chosen]
    if not any(n < max_len for n, _ in checks):
        return f"no text is short enough to run the graph at a length below max_len {max_len}"

    def feed(chosen: Sequence[int], n: int) -> Dict[str, np.ndarray]:
        out = {"input_ids": np.asarray([rows[i]["ids"][:n] for i in chosen], dtype=np.int64)}
        if uses_mask:
            out["attention_mask"] = _masks([lengths[i] for i in chosen], n).numpy().astype(np.int64)
        return out

    everything = list(range(len(rows)))
    results = run_onnx(path, [feed(everything, max_len)] + [feed(chosen, n) for n, chosen in checks])
    fixed = results[0]
    if isinstance(fixed, str):
        return f"the graph does not run at max_len {max_len}: {fixed[:200]}"
    worst = 0.0
    for (n, chosen), result in zip(checks, results[1:]):
        if isinstance(result, str):
            return f"the graph does not run at length {n}: {result[:200]}"
        got, want = result[output_name], fixed[output_name][chosen]
        diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else math.inf
        if not diff <= atol:
            return (f"its scores at length {n} differ from the max_len run by {diff:.3g} (atol {atol:.3g}; shape "
                    f"{list(got.shape)}, expected {list(want.shape)})")
        worst = max(worst, diff)
    return {"dynamic": True, "checkedLengths": [n for n, _ in checks], "maxAbsDiff": float(f"{worst:.3g}"),
            "atol": float(f"{atol:.3g}")}


def _export_dynamic_sequence(
    model: torch.nn.Module, path: str, config: PreprocessingConfig, opset: int, specials: _Specials, uses_mask: bool,
    role: str, num_labels: int, parity: Sequence[Mapping[str, Any]], atol: float,
) -> Union[Tuple[int, List[dict], List[dict], Dict[str, Any]], str]:
    """Exports the graph with a dynamic sequence axis, runs the batch checks at max_len and proves the other lengths.

    Returns the opset, inputs, outputs and ``model.sequence`` section, or why the model needs a fixed-length graph."""
    try:
        _export_onnx(model, path, config.max_len, opset, specials, uses_mask, role, dynamic_sequence=True)
        model_opset, inputs, outputs = _read_model_io(path, config.max_len, num_labels, dynamic_sequence=True)
        _verify_graph(path, parity, role, uses_mask, config.max_len, atol)
    except ExportError as exc:
        reason = str(exc)[:300]
    else:
        reason = None
    if reason is not None:
        # A failed torch.onnx.export leaves its JIT graph in reference cycles (through the traceback); with two of
        # them alive, torch 1.13's next export fails in _jit_pass_lint ("Unable to cast from non-held to held
        # instance"). Free this one before the fixed-length export.
        gc.collect()
        return reason
    proof = _prove_dynamic_sequence(path, parity, role, uses_mask, config.max_len, atol * SEQUENCE_ATOL_SHARE)
    if isinstance(proof, str):
        return proof
    return model_opset, inputs, outputs, proof


def compute_parity(
    model: torch.nn.Module,
    cases: Sequence[Tuple[str, Sequence[str]]],
    vocab: Sequence[str],
    labels: Sequence[str],
    config: PreprocessingConfig,
    batch_size: int = 64,
) -> List[Dict[str, Any]]:
    """text -> tokens -> ids -> scores (torch, eval mode) for each case; ``logits`` holds the model's outputs as
    they are (probabilities for a model that ends in softmax)."""
    tokenize = get_tokenizer(config.tokenizer)
    index = vocab_index(vocab)
    specials = _special_ids(vocab, config)
    uses_mask = _takes_attention_mask(model)
    rows = []
    for text, tags in cases:
        tokens = tokenize(text)
        rows.append({"text": text, "tags": list(tags), "tokens": tokens,
                     "ids": encode(tokens, index, config.max_len, specials.unk_id, specials.pad_id)})
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            ids = torch.tensor([r["ids"] for r in chunk], dtype=torch.long)
            mask = _masks([len(r["tokens"]) for r in chunk], config.max_len) if uses_mask else None
            try:
                logits = _run_torch(model, ids, mask).float().numpy()
            except Exception as exc:  # noqa: BLE001 - any failure means these cases cannot be computed
                raise ExportError(
                    f"computing the parity cases {start}..{start + len(chunk) - 1} with torch failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            for row, values in zip(chunk, logits):
                if not np.all(np.isfinite(values)):
                    raise ExportError(f"non-finite scores for parity text {row['text']!r}")
                row["logits"] = [_f32(v) for v in values]
                row["label"] = labels[int(np.argmax(values))]
    finally:
        model.train(was_training)
    return [{"id": i, "tags": r["tags"], "text": r["text"], "tokens": r["tokens"], "ids": r["ids"],
             "logits": r["logits"], "label": r["label"]} for i, r in enumerate(rows)]


def _generated_parity_texts(
    texts: Sequence[str], index: Mapping[str, int], max_len: int, min_cases: int,
) -> List[Tuple[str, List[str]]]:
    """The hand-picked edge cases plus a seeded sample of the validation texts (at least PARITY_SAMPLES, more
    when needed to reach ``min_cases``)."""
    fixed = len(HAND_PICKED) + 5  # build_parity_texts adds five synthesized long texts
    wanted = max(min_cases - fixed, PARITY_SAMPLES)
    sample = list(texts)
    random.Random(0).shuffle(sample)
    cases = build_parity_texts(sample, index, max_len, n_test=min(wanted, len(sample)))
    if len(cases) < min_cases:
        raise ExportError(
            f"the parity cases need at least {min_cases - fixed} validation texts besides the {fixed} built-in edge "
            f"cases, got {len(texts)}; pass more validation texts or parity_texts"
        )
    return cases


def _scores(
    model: torch.nn.Module, texts: Sequence[str], tokens: Sequence[str], config: PreprocessingConfig,
    specials: _Specials, uses_mask: bool, batch_size: int = 256,
) -> np.ndarray:
    """The model's outputs (torch, eval mode) for ``texts``, float32 [len(texts), labels]."""
    tokenize = get_tokenizer(config.tokenizer)
    index = vocab_index(tokens)
    chunks = []
    for start in range(0, len(texts), batch_size):
        tokenized = [tokenize(t) for t in texts[start:start + batch_size]]
        ids = torch.tensor([encode(t, index, config.max_len, specials.unk_id, specials.pad_id) for t in tokenized])
        mask = _masks([len(t) for t in tokenized], config.max_len) if uses_mask else None
        chunks.append(_run_torch(model, ids, mask).float().numpy())
    return np.concatenate(chunks)


def export_production_model(
    model: torch.nn.Module,
    vocab: VocabLike,
    config_or_out_dir: Union[PreprocessingConfig, Mapping[str, Any], str, os.PathLike],
    out_dir: Union[str, os.PathLike, None] = None,
    *,
    labels: Sequence[str],
    validation: Optional[Tuple[Sequence[str], Sequence[Union[str, int]]]] = None,
    name: Optional[str] = None,
    version: str = DEFAULT_VERSION,
    config: Union[PreprocessingConfig, Mapping[str, Any], None] = None,
    max_len: Optional[int] = None,
    metrics: Optional[Mapping[str, Any]] = None,
    reference: Optional[Mapping[str, Any]] = None,
    parity_texts: Optional[Iterable[ParityItem]] = None,
    opset: int = MIN_OPSET,
    atol: float = DEFAULT_ATOL,
    created_at: Union[str, _dt.datetime, None] = None,
    min_parity_cases: int = MIN_PARITY_CASES,
    normalization: Optional[Mapping[str, Any]] = None,
    _skip_graph_check: bool = False,
) -> Dict[str, Any]:
    """Write a bundle for ``model`` into ``out_dir`` and return its manifest.

    Minimal call: ``export_production_model(model, vocab, out_dir, labels=[...], validation=(texts, labels))``.
    The older form ``export_production_model(model, vocab, config, out_dir, ...)`` still works.

    - ``vocab``: a list of tokens (id = position), a ``{token: id}`` mapping (ids 0..n-1, each once), torchtext's
      ``Vocab`` (``get_itos()``; its default index must be the unk id) or the path of a ``vocab.txt``. The unk and
      pad tokens (``<unk>``/``<pad>`` unless ``config`` names others) may sit at any ids; the manifest records them.
    - ``config``: a :class:`PreprocessingConfig` or a mapping of its fields (default: basic_english, max_len 72);
      ``max_len=`` is a shortcut for its ``max_len``.
    - ``labels``: the label names, index = output index. ``validation``: ``(texts, labels)`` with labels as names
      or ids; from it the exporter computes ``metrics`` (accuracy of the torch model, OOV rate; split
      "validation"), ``reference`` (drift statistics), ``calibration`` (the top label's probability in 10
      equal-mass bins with the accuracy in each, for estimating accuracy without labels; see
      :mod:`shipshape_train.calibration`) and, with the built-in edge cases, the parity texts. Passing
      ``metrics``, ``reference`` or ``parity_texts`` (strings, ``(text, tags)`` pairs or ``{"text", "tags"}``
      mappings; tags from :data:`PARITY_TAGS`) overrides that part; ``calibration`` always comes from
      ``validation``, and without ``validation`` the manifest has none (the runtime then says it cannot estimate).
    - ``name``: default the name of ``out_dir`` in lower case; ``version``: default "1.0.0".
    - ``opset``: 17 (the only opset torch 1.13 writes that the runtime reads).

    The model gets ``input_ids`` and, when its ``forward`` has an ``attention_mask`` parameter, the mask (1 for
    tokens, 0 for padding). If it declares a pad id (a ``pad_id`` attribute, or ``padding_idx`` on an embedding with
    one row per vocabulary token) it must be the vocabulary's pad id. Outputs that are already probabilities (every
    parity row >= 0 and summing to 1 within 1e-5) are recorded with role "probabilities".

    Before anything is written, the model runs in torch at batch 1 and 3, the ONNX graph is exported and run
    (onnxruntime-node) at batch 1, 2 and 5 and compared with torch within ``atol``: a graph that runs only at the
    traced batch size (packed sequences) is refused, naming the cause and the fix.

    Raises :class:`ExportError` (a ValueError) for every failure, before ``out_dir`` is created or touched.
    ``manifest.json`` is removed first and written last, so a bundle directory with a manifest is always complete.
    """
    if out_dir is None:
        out_dir = config_or_out_dir
    elif config is not None:
        raise ExportError("config is given twice: as the third argument and as config=")
    else:
        config = config_or_out_dir
    if not isinstance(out_dir, (str, os.PathLike)):
        raise ExportError(f"out_dir must be a path, got {type(out_dir).__name__}")
    out = os.fspath(out_dir)
    config = PreprocessingConfig.from_any(config)
    if max_len is not None:
        config = replace(config, max_len=max_len)
    config.validate()
    tokens = _load_vocab(vocab)
    specials = _special_ids(tokens, config, vocab)
    name = _default_name(out) if name is None else name
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ExportError(f"name must match [a-z0-9][a-z0-9-]*, got {name!r}; pass name=")
    if not isinstance(version, str) or not _SEMVER_RE.match(version):
        raise ExportError(f"version must be semver, got {version!r}")
    labels = _check_labels(labels)
    checked = _check_validation(validation, labels)
    if checked is None and (metrics is None or reference is None or parity_texts is None):
        raise ExportError(
            "pass validation=(texts, labels): the exporter computes metrics, reference statistics and parity texts "
            "from it (or pass all of metrics, reference and parity_texts)"
        )
    metrics_doc = _check_metrics(metrics) if metrics is not None else None
    reference_doc = (
        _check_reference(reference, labels) if reference is not None
        else _check_reference(compute_reference(checked[0], checked[1], tokens, labels, config), labels)
    )
    if parity_texts is not None:
        cases = _normalize_parity_texts(parity_texts)
    else:
        cases = _generated_parity_texts(checked[0], vocab_index(tokens), config.max_len, min_parity_cases)
    if len(cases) < min_parity_cases:
        raise ExportError(f"at least {min_parity_cases} parity texts are required, got {len(cases)}")
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError(
            f"opset must be from {MIN_OPSET} (the oldest the runtime reads) to {MAX_OPSET} (the newest torch "
            f"{torch.__version__} writes), got {opset!r}"
        )
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or not 0 < atol < math.inf:
        raise ExportError(f"atol must be a positive number, got {atol!r}")
    if not isinstance(model, torch.nn.Module):
        raise ExportError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    uses_mask = _takes_attention_mask(model)
    if created_at is not None and not isinstance(created_at, (str, _dt.datetime)):
        raise ExportError(f"created_at must be an ISO 8601 string or a datetime, got {created_at!r}")
    created = _created_at(created_at)
    norm = dict(normalization) if normalization is not None else cached_normalization()

    was_training = model.training
    model.eval()
    try:
        _check_model(model, config, len(tokens), len(labels), specials, uses_mask)
        parity = compute_parity(model, cases, tokens, labels, config)
        role = output_role([row["logits"] for row in parity])
        calibration_doc = None
        if checked is not None:
            texts, label_ids = checked
            scores = _scores(model, texts, tokens, config, specials, uses_mask)
            correct = scores.argmax(axis=1) == np.asarray(label_ids)
            calibration_doc = compute_calibration(top_probabilities(scores, role), correct, "validation")
            if metrics_doc is None:
                tokenize = get_tokenizer(config.tokenizer)
                metrics_doc = {
                    "split": "validation",
                    "examples": len(texts),
                    "accuracy": round(int(correct.sum()) / len(texts), 6),
                    "oovRate": round(oov_rate([tokenize(t) for t in texts], tokens, config.unk_token), 6),
                }
        with tempfile.TemporaryDirectory(prefix="shipshape-export-") as scratch:
            onnx_path = os.path.join(scratch, "model.onnx")
            # A dynamic sequence axis only where the run at shorter lengths is proven; otherwise the fixed-length
            # graph, exported and checked exactly as without one.
            dynamic = (
                "the graph checks are skipped" if _skip_graph_check else
                _export_dynamic_sequence(model, onnx_path, config, opset, specials, uses_mask, role, len(labels),
                                         parity, atol)
            )
            if isinstance(dynamic, tuple):
                model_opset, inputs, outputs, sequence_doc = dynamic
                _log.info("%s: sequence axis dynamic, checked at lengths %s, max |diff| %.3g (atol %.3g)", name,
                          ", ".join(map(str, sequence_doc["checkedLengths"])), sequence_doc["maxAbsDiff"],
                          sequence_doc["atol"])
            else:
                sequence_doc = None
                _log.info("%s: sequence axis fixed at max_len %d: %s", name, config.max_len, dynamic)
                _export_onnx(model, onnx_path, config.max_len, opset, specials, uses_mask, role)
                model_opset, inputs, outputs = _read_model_io(onnx_path, config.max_len, len(labels))
                if not _skip_graph_check:
                    _verify_graph(onnx_path, parity, role, any(i["role"] == "attention_mask" for i in inputs),
                                  config.max_len, atol)
            try:
                os.makedirs(out, exist_ok=True)
            except OSError as exc:
                raise ExportError(f"cannot create the bundle folder {out}: {exc}") from exc
            manifest_path = os.path.join(out, "manifest.json")
            paths = {f: os.path.join(out, f) for f in BUNDLE_FILES}
            try:
                if os.path.exists(manifest_path):
                    os.remove(manifest_path)
                shutil.copyfile(onnx_path, paths["model.onnx"])
            except OSError as exc:
                raise ExportError(f"writing {paths['model.onnx']} failed: {exc}") from exc
    finally:
        model.train(was_training)

    try:
        with open(paths["vocab.txt"], "w", encoding="utf-8", newline="\n") as fh:
            fh.write(vocab_to_text(tokens))
        with open(paths["normalization.json"], "w", encoding="utf-8", newline="\n") as fh:
            fh.write(dumps_normalization(norm))
        with open(paths["parity.jsonl"], "w", encoding="utf-8", newline="\n") as fh:
            for row in parity:
                fh.write(_json_line(row) + "\n")
    except OSError as exc:
        raise ExportError(f"writing the bundle files into {out} failed: {exc}") from exc

    manifest = {
        "schemaVersion": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "createdAt": created,
        "task": TASK,
        "files": {f: {"sha256": _sha256(paths[f]), "size": os.path.getsize(paths[f])} for f in BUNDLE_FILES},
        "model": {"file": "model.onnx", "opset": model_opset, "inputs": inputs, "outputs": outputs,
                  **({"sequence": sequence_doc} if sequence_doc is not None else {})},
        "preprocessing": {
            "tokenizer": config.tokenizer,
            "lowercase": True,
            "normalization": "normalization.json",
            "vocab": "vocab.txt",
            "maxLen": config.max_len,
            "truncation": "right",
            "padding": "right",
            "specialTokens": {
                "unk": {"token": config.unk_token, "id": specials.unk_id},
                "pad": {"token": config.pad_token, "id": specials.pad_id},
            },
        },
        "labels": labels,
        "metrics": metrics_doc,
        "reference": reference_doc,
        "parity": {"file": "parity.jsonl", "cases": len(parity), "atol": atol},
    }
    if calibration_doc is not None:
        manifest["calibration"] = calibration_doc
    tmp = manifest_path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        os.replace(tmp, manifest_path)
    except OSError as exc:
        raise ExportError(f"writing {manifest_path} failed: {exc}") from exc
    return manifest


# ---------------------------------------------------------------------------------------------
# Verification


def verify_bundle(bundle_dir: Union[str, os.PathLike], model: torch.nn.Module | None = None) -> Dict[str, Any]:
    """Check a bundle: hashes and sizes, ONNX checker and I/O, vocab and special ids, parity rows, the calibration
    section's shape when there is one; with ``model``, recompute the parity scores with torch. Returns the manifest;
    raises AssertionError/ExportError/ValueError on the first problem."""
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
    sequence = manifest["model"].get("sequence")
    dynamic = isinstance(sequence, dict) and sequence.get("dynamic") is True
    opset, inputs, outputs = _read_model_io(os.path.join(bundle, "model.onnx"), max_len, len(labels), dynamic)
    expected_model = {"file": "model.onnx", "opset": opset, "inputs": inputs, "outputs": outputs}
    if sequence is not None:
        assert set(sequence) == {"dynamic", "checkedLengths", "maxAbsDiff", "atol"}, sequence
        lengths = sequence["checkedLengths"]
        assert lengths == sorted(set(lengths)) and all(1 <= n <= max_len for n in lengths), lengths
        assert 0 <= sequence["maxAbsDiff"] <= sequence["atol"], sequence
        expected_model["sequence"] = sequence
    assert manifest["model"] == expected_model
    tokens = read_vocab(os.path.join(bundle, pre["vocab"]))
    special = pre["specialTokens"]
    config = PreprocessingConfig(pre["tokenizer"], max_len, special["unk"]["token"], special["pad"]["token"])
    specials = _special_ids(tokens, config)
    assert (specials.unk_id, specials.pad_id) == (special["unk"]["id"], special["pad"]["id"]), special
    tokenize = get_tokenizer(pre["tokenizer"])
    index = vocab_index(tokens)
    with open(os.path.join(bundle, manifest["parity"]["file"]), encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert len(rows) == manifest["parity"]["cases"] >= MIN_PARITY_CASES
    for i, row in enumerate(rows):
        assert row["id"] == i
        assert set(row["tags"]) <= set(PARITY_TAGS)
        assert row["tokens"] == tokenize(row["text"]), row["text"]
        assert row["ids"] == encode(row["tokens"], index, max_len, specials.unk_id, specials.pad_id), row["text"]
        assert len(row["logits"]) == len(labels) and all(math.isfinite(v) for v in row["logits"])
        assert row["label"] == labels[int(np.argmax(np.asarray(row["logits"], dtype=np.float32)))]
    assert outputs[0]["role"] == output_role([r["logits"] for r in rows])
    if "calibration" in manifest:
        check_calibration(manifest["calibration"])
    if model is not None:
        uses_mask = any(i["role"] == "attention_mask" for i in inputs)
        was_training = model.training
        model.eval()
        try:
            ids = torch.tensor([r["ids"] for r in rows], dtype=torch.long)
            mask = _masks([len(r["tokens"]) for r in rows], max_len) if uses_mask else None
            got = _run_torch(model, ids, mask).numpy()
        finally:
            model.train(was_training)
        want = np.asarray([r["logits"] for r in rows], dtype=np.float32)
        diff = float(np.max(np.abs(got - want)))
        assert diff <= manifest["parity"]["atol"], f"parity logits differ by {diff}"
    return manifest
