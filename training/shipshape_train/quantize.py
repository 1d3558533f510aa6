"""Make an int8 variant of a float bundle: weights of MatMul/Gemm quantized to int8, activations quantized at run time.

    PYTHONPATH=training /usr/bin/python3 -m shipshape_train.quantize --bundle artifacts/news-transformer \\
        --out artifacts/news-transformer-int8 [--per-tensor] [--max-drop 0.005] [--seed N]

Dynamic quantization: each MatMul or Gemm whose weight is a 2-D initializer becomes ``MatMulInteger`` on int8
weights (symmetric, zero point 0, one scale per output column by default or one per tensor with ``--per-tensor``)
and uint8 activations quantized at run time, then ``Cast`` to float, ``Mul`` by both scales (and ``Add`` of a Gemm's
bias). Activations get one symmetric scale per row (per token: max |x| / 127, zero point 128) computed in the
graph, not onnxruntime's ``DynamicQuantizeLinear``, whose single scale spans the whole batch: with it a text's
logits depend on the other texts in its batch (and on the padding), so no golden parity vector could hold at
another batch size. Activation-by-activation products (attention scores) and the embedding stay float.

Native and WASM int8 results are not bit-compatible (7-bit values do not change that: it is not saturation): the float
activations they quantize already differ in the last bit (as the float graph's outputs do, by ~1e-6), and a value
that sits on a rounding boundary then lands one quantization step apart, which moves logits by up to a few 1e-3.
The golden parity vectors are onnxruntime-node's.

The new bundle keeps the float bundle's vocabulary, normalization, preprocessing, labels and reference statistics;
its parity logits are the int8 graph's own (onnxruntime-node, through the exporter's ``run_onnx``), its test-split
accuracy and validation calibration are measured on the corpus splits ``train.py`` used (``calibrate.score_split``).
It refuses, with ``QuantizeError`` (code ``ACCURACY_DROP``) and exit status 2, when the int8 graph's test accuracy
is more than ``--max-drop`` (default 0.005, half a point) below the float graph's on the same split; nothing is
written then. The bundle is assembled in a scratch folder next to ``--out`` and moved there only once complete.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .calibrate import CalibrationError, _splits, score_split
from .calibration import compute_calibration
from .corpus import DEFAULT_SEED, LABELS
from .export import (
    BUNDLE_FILES,
    ExportError,
    _created_at,
    _f32,
    _json_line,
    _masks,
    _read_model_io,
    _sha256,
    run_onnx,
    verify_bundle,
)

# Accuracy the int8 graph may lose on the test split against the float graph: half a point.
DEFAULT_MAX_DROP = 0.005
# Parity rows per onnxruntime run.
PARITY_BATCH = 64
INT8_MAX = 127.0
# A row of zeros gets this peak instead of 0 (its values still quantize to 0), so no 0 / 0 reaches the graph.
PEAK_FLOOR = 1e-12
# Shared constants of the activation quantization: uint8 = round(x / (peak / 127)) + 128, zero point 128.
ROW_SCALE, ROW_FLOOR, ROW_OFFSET, ROW_ZERO_POINT = (
    "int8/row_scale", "int8/peak_floor", "int8/row_offset", "int8/row_zero_point")


class QuantizeError(ValueError):
    """The bundle cannot be quantized, or its int8 graph is not good enough to ship; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _weight_scales(weight: np.ndarray, per_channel: bool, levels: int) -> np.ndarray:
    """Symmetric int8 scales of a [K, N] weight: max |w| / 127 per output column N, or one for the whole tensor.
    A column of zeros gets scale 1 (its int8 values are all 0 either way)."""
    peak = np.abs(weight).max(axis=0) if per_channel else np.asarray([np.abs(weight).max()])
    return np.where(peak > 0, peak / levels, 1.0).astype(np.float32)


def quantize_weight(weight: np.ndarray, per_channel: bool, levels: int = 127) -> Tuple[np.ndarray, np.ndarray]:
    """``(int8 values, float32 scales)`` of a float [K, N] weight: round(w / scale), clipped to [-127, 127]."""
    scales = _weight_scales(weight, per_channel, levels)
    values = np.clip(np.rint(weight / scales[None, :]), -levels, levels).astype(np.int8)
    return values, scales


def quantize_graph(
    model: onnx.ModelProto, per_channel: bool = True, activation_levels: int = 127, weight_levels: int = 127,
) -> Tuple[onnx.ModelProto, List[str]]:
    """Returns a copy of ``model`` with every MatMul/Gemm on a 2-D float initializer weight dynamically quantized,
    and the names of the nodes it replaced. ``activation_levels`` and ``weight_levels`` (default 127) are the largest
    quantized magnitudes (63 gives 7-bit values, for kernels that saturate 8-bit products). Gemm is taken only in
    its plain form (alpha = beta = 1, no transA); a transB weight is stored transposed. Raises :class:`QuantizeError`
    (``NOTHING_TO_QUANTIZE``) when no node qualifies."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    initializers = {init.name: init for init in graph.initializer}
    uses: Dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    nodes: List[onnx.NodeProto] = []
    new_initializers: List[onnx.TensorProto] = []
    replaced: List[str] = []
    dropped: set = set()
    for index, node in enumerate(graph.node):
        weight_name = node.input[1] if len(node.input) > 1 else ""
        init = initializers.get(weight_name)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain_gemm = node.op_type == "Gemm" and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 \
            and not attrs.get("transA", 0)
        if (node.op_type != "MatMul" and not plain_gemm) or init is None or len(init.dims) != 2 \
                or init.data_type != TensorProto.FLOAT:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(init)
        if node.op_type == "Gemm" and attrs.get("transB", 0):
            weight = weight.T
        values, scales = quantize_weight(np.ascontiguousarray(weight), per_channel, weight_levels)
        prefix = f"{node.name or node.op_type + str(index)}_int8"
        q_name, s_name, zp_name = f"{prefix}/weight", f"{prefix}/weight_scale", f"{prefix}/weight_zero_point"
        new_initializers += [
            numpy_helper.from_array(values, q_name),
            numpy_helper.from_array(scales if per_channel else scales.reshape(()), s_name),
            numpy_helper.from_array(np.zeros(scales.shape if per_channel else (), dtype=np.int8), zp_name),
        ]
        magnitude, peak, floored = f"{prefix}/input_abs", f"{prefix}/input_peak", f"{prefix}/input_peak_floored"
        a_scale = f"{prefix}/input_scale"
        a_scaled, a_rounded, a_shifted, a_q = (
            f"{prefix}/input_{step}" for step in ("scaled", "rounded", "shifted", "quantized"))
        product, as_float, rescaled = f"{prefix}/product", f"{prefix}/product_float", f"{prefix}/product_rescaled"
        result = node.output[0]
        scaled = f"{prefix}/scaled" if node.op_type == "Gemm" and len(node.input) > 2 else result
        nodes += [
            helper.make_node("Abs", [node.input[0]], [magnitude], name=f"{prefix}/abs"),
            helper.make_node("ReduceMax", [magnitude], [peak], axes=[-1], keepdims=1, name=f"{prefix}/peak"),
            helper.make_node("Max", [peak, ROW_FLOOR], [floored], name=f"{prefix}/floor"),
            helper.make_node("Mul", [floored, ROW_SCALE], [a_scale], name=f"{prefix}/row_scale"),
            helper.make_node("Div", [node.input[0], a_scale], [a_scaled], name=f"{prefix}/divide"),
            helper.make_node("Round", [a_scaled], [a_rounded], name=f"{prefix}/round"),
            helper.make_node("Add", [a_rounded, ROW_OFFSET], [a_shifted], name=f"{prefix}/shift"),
            helper.make_node("Cast", [a_shifted], [a_q], to=TensorProto.UINT8, name=f"{prefix}/to_uint8"),
            helper.make_node("MatMulInteger", [a_q, q_name, ROW_ZERO_POINT, zp_name], [product],
                             name=f"{prefix}/matmul"),
            helper.make_node("Cast", [product], [as_float], to=TensorProto.FLOAT, name=f"{prefix}/cast"),
            helper.make_node("Mul", [as_float, a_scale], [rescaled], name=f"{prefix}/row_rescale"),
            helper.make_node("Mul", [rescaled, s_name], [scaled], name=f"{prefix}/column_rescale"),
        ]
        if scaled != result:
            nodes.append(helper.make_node("Add", [scaled, node.input[2]], [result], name=f"{prefix}/bias"))
        replaced.append(node.name or node.op_type)
        uses[weight_name] -= 1
        if uses[weight_name] == 0:
            dropped.add(weight_name)
    if replaced:
        new_initializers += [
            numpy_helper.from_array(np.asarray(1.0 / activation_levels, dtype=np.float32), ROW_SCALE),
            numpy_helper.from_array(np.asarray(PEAK_FLOOR, dtype=np.float32), ROW_FLOOR),
            numpy_helper.from_array(np.asarray(activation_levels + 1.0, dtype=np.float32), ROW_OFFSET),
            numpy_helper.from_array(np.asarray(activation_levels + 1, dtype=np.uint8), ROW_ZERO_POINT),
        ]
    if not replaced:
        raise QuantizeError("NOTHING_TO_QUANTIZE", "the graph has no MatMul or Gemm on a 2-D float initializer weight")
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_initializers)
    # Inputs listing an initializer (older exporters) must not name one that is gone.
    inputs = [value for value in graph.input if value.name not in dropped]
    del graph.input[:]
    graph.input.extend(inputs)
    onnx.checker.check_model(out, full_check=True)
    return out, replaced


def _parity_feeds(rows: Sequence[Dict[str, Any]], manifest: Dict[str, Any]) -> List[Dict[str, np.ndarray]]:
    inputs = {i["role"]: i["name"] for i in manifest["model"]["inputs"]}
    max_len = manifest["preprocessing"]["maxLen"]
    feeds = []
    for start in range(0, len(rows), PARITY_BATCH):
        chunk = rows[start:start + PARITY_BATCH]
        feed = {inputs["input_ids"]: np.asarray([r["ids"] for r in chunk], dtype=np.int64)}
        if "attention_mask" in inputs:
            feed[inputs["attention_mask"]] = _masks([len(r["tokens"]) for r in chunk], max_len).numpy()
        feeds.append(feed)
    return feeds


def _run(path: str, feeds: Sequence[Dict[str, np.ndarray]], output: str) -> np.ndarray:
    runs = run_onnx(path, feeds)
    failed = next((r for r in runs if isinstance(r, str)), None)
    if failed is not None:
        raise QuantizeError("GRAPH_FAILED", f"running {path} with onnxruntime-node failed: {failed}")
    return np.concatenate([r[output] for r in runs])


def _sequence_section(path: str, manifest: Dict[str, Any], rows: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """A dynamic-sequence bundle's ``model.sequence`` re-proven on the int8 graph: at each checked length, the
    parity texts that fit run cut to that length and must match their full-length run within the section's atol."""
    section = dict(manifest["model"]["sequence"])
    if not section.get("dynamic"):
        return section
    inputs = {i["role"]: i["name"] for i in manifest["model"]["inputs"]}
    max_len = manifest["preprocessing"]["maxLen"]
    output = manifest["model"]["outputs"][0]["name"]
    worst = 0.0
    for length in section["checkedLengths"]:
        fits = [r for r in rows if len(r["tokens"]) <= length][:PARITY_BATCH]
        if not fits:
            continue
        full = _parity_feeds(fits, manifest)[0]
        cut = {name: value[:, :length] for name, value in full.items()}
        got, want = _run(path, [cut], output), _run(path, [full], output)
        worst = max(worst, float(np.max(np.abs(got - want))))
    if not worst <= section["atol"]:
        raise QuantizeError(
            "SEQUENCE_MISMATCH",
            f"the int8 graph's logits at shorter sequence lengths differ from its full-length run by {worst:.3g} "
            f"(atol {section['atol']})",
        )
    section["maxAbsDiff"] = float(f"{worst:.3g}")
    return section


def quantize_bundle(
    bundle_dir: str, out_dir: str, per_channel: bool = True, max_drop: float = DEFAULT_MAX_DROP,
    seed: int = DEFAULT_SEED, name: Optional[str] = None,
) -> Dict[str, Any]:
    """Writes the int8 variant of the bundle in ``bundle_dir`` into ``out_dir`` and returns a summary
    (``manifest``, ``floatAccuracy``, ``int8Accuracy``, ``replaced``). Raises :class:`QuantizeError` (nothing
    written) when the accuracy drop on the test split exceeds ``max_drop``, or when the float bundle's measured test
    accuracy is not its manifest's (the rebuilt splits are not the ones it was evaluated on)."""
    bundle, out = os.fspath(bundle_dir), os.fspath(out_dir)
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    verify_bundle(bundle)
    if manifest["labels"] != LABELS:
        raise QuantizeError("CORPUS_MISMATCH", f"{bundle} has labels {manifest['labels']}, not the corpus's {LABELS}")
    splits = _splits(seed)
    examples = splits["validation"] + splits["test"]
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    held_out = len(splits["validation"])
    try:
        float_outcome = score_split(bundle, manifest, texts, labels).part(slice(held_out, None))
    except CalibrationError as exc:
        raise QuantizeError("GRAPH_FAILED", str(exc)) from exc
    metrics = manifest["metrics"]
    expected = round(metrics["accuracy"] * metrics["examples"])
    if metrics["split"] == "test" and int(float_outcome.correct.sum()) != expected:
        raise QuantizeError(
            "CORPUS_MISMATCH",
            f"the float model scores {float_outcome.accuracy:.4f} on the rebuilt test split, but its manifest says "
            f"{metrics['accuracy']}: pass the seed it was trained with as --seed",
        )

    quantized, replaced = quantize_graph(onnx.load(os.path.join(bundle, manifest["model"]["file"])), per_channel)
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".quantize-", dir=parent)
    try:
        paths = {f: os.path.join(scratch, f) for f in BUNDLE_FILES}
        onnx.save(quantized, paths["model.onnx"])
        for fname in ("vocab.txt", "normalization.json"):
            shutil.copyfile(os.path.join(bundle, fname), paths[fname])
        try:
            outcome = score_split(scratch, manifest, texts, labels)
        except CalibrationError as exc:
            raise QuantizeError("GRAPH_FAILED", str(exc)) from exc
        validation, test = outcome.part(slice(0, held_out)), outcome.part(slice(held_out, None))
        drop = float_outcome.accuracy - test.accuracy
        if drop > max_drop:
            raise QuantizeError(
                "ACCURACY_DROP",
                f"the int8 graph scores {test.accuracy:.4f} on the {len(test.correct)} test texts, {drop * 100:.2f} "
                f"points below the float graph's {float_outcome.accuracy:.4f} (at most {max_drop * 100:.2f} allowed; "
                f"try {'per-channel' if not per_channel else 'per-tensor'} scales, or raise --max-drop)",
            )

        with open(os.path.join(bundle, manifest["parity"]["file"]), encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        output = manifest["model"]["outputs"][0]["name"]
        logits = _run(paths["model.onnx"], _parity_feeds(rows, manifest), output)
        with open(paths["parity.jsonl"], "w", encoding="utf-8", newline="\n") as fh:
            for row, values in zip(rows, logits):
                row = dict(row, logits=[_f32(v) for v in values],
                           label=manifest["labels"][int(np.argmax(values))])
                fh.write(_json_line(row) + "\n")

        dynamic = bool(manifest["model"].get("sequence", {}).get("dynamic"))
        opset, inputs, outputs = _read_model_io(paths["model.onnx"], manifest["preprocessing"]["maxLen"],
                                                len(manifest["labels"]), dynamic)
        model_doc: Dict[str, Any] = {"file": "model.onnx", "opset": opset, "inputs": inputs, "outputs": outputs}
        if "sequence" in manifest["model"]:
            model_doc["sequence"] = _sequence_section(paths["model.onnx"], manifest, rows)
        new = dict(manifest)
        new["name"] = name or f"{manifest['name']}-int8"
        new["createdAt"] = _created_at(None)
        new["files"] = {f: {"sha256": _sha256(paths[f]), "size": os.path.getsize(paths[f])} for f in BUNDLE_FILES}
        new["model"] = model_doc
        new["metrics"] = dict(metrics, split="test", examples=len(test.correct), accuracy=round(test.accuracy, 6))
        if "calibration" in manifest:
            new["calibration"] = compute_calibration(validation.confidences, validation.correct, "validation")
        with open(os.path.join(scratch, "manifest.json"), "w", encoding="utf-8", newline="\n") as fh:
            fh.write(json.dumps(new, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        verify_bundle(scratch)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.replace(scratch, out)
    finally:
        if os.path.isdir(scratch):
            shutil.rmtree(scratch)
    return {"manifest": new, "floatAccuracy": float_outcome.accuracy, "int8Accuracy": test.accuracy,
            "replaced": replaced}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the int8 (dynamically quantized) variant of a float bundle.")
    parser.add_argument("--bundle", required=True, help="the float bundle (artifacts/news-transformer)")
    parser.add_argument("--out", required=True, help="where the int8 bundle goes (replaced when it exists)")
    parser.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor (default: per column)")
    parser.add_argument("--max-drop", type=float, default=DEFAULT_MAX_DROP,
                        help="the test accuracy the int8 graph may lose, as a fraction (default 0.005)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the corpus seed the model was trained with")
    parser.add_argument("--name", help="the new bundle's name (default: the float bundle's name + '-int8')")
    args = parser.parse_args(argv)
    try:
        result = quantize_bundle(args.bundle, args.out, per_channel=not args.per_tensor, max_drop=args.max_drop,
                                 seed=args.seed, name=args.name)
    except QuantizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ExportError, AssertionError, OSError) as exc:
        print(f"error: {args.bundle}: {exc}", file=sys.stderr)
        return 1
    manifest = result["manifest"]
    print(
        f"{args.out}: {len(result['replaced'])} MatMul/Gemm quantized "
        f"({'per-tensor' if args.per_tensor else 'per-channel'} int8 weights); test accuracy "
        f"{result['int8Accuracy']:.4f} vs float {result['floatAccuracy']:.4f} "
        f"({(result['int8Accuracy'] - result['floatAccuracy']) * 100:+.2f} points); model.onnx "
        f"{manifest['files']['model.onnx']['size']} bytes; {manifest['parity']['cases']} parity cases",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
