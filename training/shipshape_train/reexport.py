"""Re-export a shipped bundle's own model with the current exporter, without retraining.

The weights are read back from the bundle's model.onnx into the model class that made it, checked against the
bundle's golden logits, then exported (dynamic sequence axis where it is proven) with the same metrics, reference
statistics and version. Used when the exporter changes and the trained model must stay exactly the same:
retraining news-transformer on another machine does not reproduce its weights bit for bit.

Run: PYTHONPATH=training /usr/bin/python3 -m shipshape_train.reexport news-transformer artifacts/news-transformer OUT
"""
import json, logging, os, sys
import numpy as np, onnx, torch
from onnx import numpy_helper
from shipshape_train.corpus import DEFAULT_SEED, LABELS, make_splits
from shipshape_train.export import PreprocessingConfig, export_production_model, verify_bundle
from shipshape_train.models import build_model
from shipshape_train.parity_cases import build_parity_texts
from shipshape_train.tokenizer import basic_english, vocab_index
from shipshape_train.vocab import read_vocab

logging.basicConfig(level=logging.INFO, format="%(message)s")
torch.set_num_threads(1)
kind, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
manifest = json.load(open(os.path.join(src, "manifest.json")))
vocab = read_vocab(os.path.join(src, "vocab.txt"))
inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(os.path.join(src, "model.onnx")).graph.initializer}
model = build_model(kind, len(vocab), 4, pad_id=1, max_len=72)
state = model.state_dict()
matmuls = [inits[k] for k in sorted((k for k in inits if k.startswith("onnx::MatMul_")), key=lambda k: int(k.split("_")[-1]))]
new = {}
for k in state:
    if k in inits:
        new[k] = inits[k]
for layer in range(2 if kind == "news-transformer" else 0):
    a, b, c = matmuls[3 * layer: 3 * layer + 3]
    new[f"encoder.layers.{layer}.self_attn.in_proj_weight"] = a.t().contiguous()
    new[f"encoder.layers.{layer}.linear1.weight"] = b.t().contiguous()
    new[f"encoder.layers.{layer}.linear2.weight"] = c.t().contiguous()
missing = set(state) - set(new)
assert not missing, missing
model.load_state_dict(new)
model.eval()
rows = [json.loads(l) for l in open(os.path.join(src, "parity.jsonl"))]
with torch.no_grad():
    got = model(torch.tensor([r["ids"] for r in rows])).numpy()
worst = float(np.max(np.abs(got - np.asarray([r["logits"] for r in rows], dtype=np.float32))))
print(f"torch on the read-back weights vs the bundle's golden logits: max |diff| {worst:.2g}")
if worst > 1e-5:
    sys.exit(f"the read-back model does not reproduce {src}'s golden logits (max |diff| {worst:.2g} > 1e-5)")
splits = make_splits(seed=DEFAULT_SEED)
index = vocab_index(vocab)
config = PreprocessingConfig(tokenizer="basic_english", max_len=72)
export_production_model(
    model, vocab, config, out, name=kind, version=manifest["version"], labels=LABELS, metrics=manifest["metrics"],
    reference=manifest["reference"], parity_texts=build_parity_texts([e.text for e in splits["test"]], index, 72),
    validation=([e.text for e in splits["validation"]], [e.label for e in splits["validation"]]),
    created_at=None,
)
verify_bundle(out, model)
print("ok", out)
