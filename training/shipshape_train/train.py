"""Train both shipped models on the synthetic corpus and export their bundles.

    PYTHONPATH=training /usr/bin/python3 -m shipshape_train.train [--out artifacts] [--only news-bag]

Deterministic: fixed seeds, a fixed thread count and deterministic torch algorithms, so two runs
give the same vocabulary, parity ids and (on the same machine) the same weights and logits.
"""

from __future__ import annotations

import os

# OpenBLAS (if torch's libblas.so.3 is OpenBLAS) reads this when torch is imported: one BLAS thread,
# like torch's own thread count below. On a busy 2-core machine extra threads only contend.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import copy
import json
import logging
import random
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
import torch
from torch import nn

from .corpus import DEFAULT_SEED, LABELS, make_splits
from .export import PreprocessingConfig, compute_reference, export_production_model, oov_rate, verify_bundle
from .models import build_model
from .parity_cases import build_parity_texts
from .tokenizer import basic_english, encode, vocab_index
from .vocab import build_vocab

MAX_LEN = 72
VERSION = "1.0.0"
MODEL_NAMES = ("news-bag", "news-transformer")


@dataclass(frozen=True)
class TrainConfig:
    lr: float
    epochs: int
    batch_size: int
    patience: int
    weight_decay: float = 0.0
    warmup_steps: int = 0
    crop: bool = False  # train on batches cropped to their longest text (same result, less work)
    log_every: int = 0  # print the loss every N steps (0: only per epoch)


TRAIN_CONFIGS: Dict[str, TrainConfig] = {
    "news-bag": TrainConfig(lr=5e-3, epochs=12, batch_size=64, patience=2, weight_decay=1e-4),
    "news-transformer": TrainConfig(lr=1e-3, epochs=2, batch_size=64, patience=1, weight_decay=1e-2,
                                    warmup_steps=100, crop=True, log_every=100),
}


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def encode_all(tokenized: Sequence[Sequence[str]], index: Dict[str, int]) -> torch.Tensor:
    return torch.tensor([encode(t, index, MAX_LEN, 0, 1) for t in tokenized], dtype=torch.long)


def _crop(ids: torch.Tensor) -> torch.Tensor:
    """Drop trailing all-pad columns. Pads are masked out of attention and pooling, so the logits
    for the kept positions are the same as with the full [batch, MAX_LEN] input."""
    length = int((ids != 1).sum(dim=1).max().item())
    return ids[:, : max(1, length)]


def length_buckets(lengths: Sequence[int], batch_size: int, generator: torch.Generator | None) -> List[List[int]]:
    """Batches of similar length (less padding to compute), in a seeded random order.

    Without a generator: every index sorted by length (for evaluation)."""
    if generator is None:
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        return [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    order = torch.randperm(len(lengths), generator=generator).tolist()
    chunk = batch_size * 50
    batches: List[List[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches.extend(part[j:j + batch_size] for j in range(0, len(part), batch_size))
    perm = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in perm]


def _lengths(ids: torch.Tensor) -> List[int]:
    return (ids != 1).sum(dim=1).tolist()


@torch.no_grad()
def accuracy(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor, crop: bool, batch_size: int = 256) -> float:
    model.eval()
    correct = 0
    for idx in length_buckets(_lengths(ids), batch_size, None):
        batch = ids[idx]
        if crop:
            batch = _crop(batch)
        correct += int((model(batch).argmax(dim=1) == labels[idx]).sum())
    return correct / len(ids)


def blas_library() -> str:
    """The BLAS shared library this process loaded (Debian's torch links plain libblas.so.3)."""
    torch.ones(2, 2) @ torch.ones(2, 2)
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(paths)) or "unknown"


def train_model(kind: str, vocab_size: int, data: Dict[str, tuple], seed: int, epochs: int | None = None) -> tuple:
    cfg = TRAIN_CONFIGS[kind]
    torch.manual_seed(seed)
    model = build_model(kind, vocab_size, len(LABELS), pad_id=1, max_len=MAX_LEN)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train_ids, train_y = data["train"]
    val_ids, val_y = data["validation"]
    train_lengths = _lengths(train_ids)
    n_epochs = epochs if epochs is not None else cfg.epochs
    steps_per_epoch = (len(train_ids) + cfg.batch_size - 1) // cfg.batch_size
    total_steps = max(1, steps_per_epoch * n_epochs)

    def lr_at(step: int) -> float:
        if cfg.warmup_steps and step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)
        return max(0.05, 1.0 - progress)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    best_acc, best_state, best_epoch, bad_epochs = -1.0, None, 0, 0
    step = 0
    for epoch in range(1, n_epochs + 1):
        started = time.time()
        model.train()
        total_loss = 0.0
        for idx in length_buckets(train_lengths, cfg.batch_size, generator):
            batch = train_ids[idx]
            if cfg.crop:
                batch = _crop(batch)
            optimizer.zero_grad()
            loss = loss_fn(model(batch), train_y[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += float(loss) * len(idx)
            step += 1
            if cfg.log_every and step % cfg.log_every == 0:
                print(f"[{kind}]   step {step} loss {float(loss):.4f} ({time.time() - started:.1f}s)", flush=True)
        val_acc = accuracy(model, val_ids, val_y, cfg.crop)
        print(f"[{kind}] epoch {epoch}/{n_epochs} loss {total_loss / len(train_ids):.4f} "
              f"val acc {val_acc:.4f} ({time.time() - started:.1f}s)", flush=True)
        if val_acc > best_acc:
            best_acc, best_state, best_epoch, bad_epochs = val_acc, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            bad_epochs += 1
            if bad_epochs > cfg.patience:
                print(f"[{kind}] early stop: no validation gain for {bad_epochs} epochs", flush=True)
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    print(f"[{kind}] best epoch {best_epoch}, val acc {best_acc:.4f}", flush=True)
    return model, best_acc, best_epoch


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train and export the shipshape news models.")
    parser.add_argument("--out", default="artifacts", help="bundles go to OUT/<model name>/")
    parser.add_argument("--only", choices=MODEL_NAMES, action="append", help="train only this model (repeatable)")
    parser.add_argument("--epochs", type=int, help="override the epoch budget (quick runs)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (fixed for determinism)")
    args = parser.parse_args(argv)
    started = time.time()
    # The exporter logs whether each graph got a dynamic sequence axis, and why not.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seed_everything(args.seed, args.threads)
    blas = blas_library()
    print(f"torch {torch.__version__}, {args.threads} threads, BLAS: {blas}", flush=True)
    if "openblas" not in blas.lower() and "mkl" not in blas.lower():
        print("note: torch is using the reference BLAS; the transformer trains about 8x faster with OpenBLAS "
              "(apt-get install libopenblas0-pthread, or LD_LIBRARY_PATH=<dir with OpenBLAS's libblas.so.3>)",
              flush=True)

    splits = make_splits(seed=args.seed)
    tokenized = {name: [basic_english(e.text) for e in examples] for name, examples in splits.items()}
    vocab = build_vocab(tokenized["train"], min_freq=2)
    index = vocab_index(vocab)
    data = {
        name: (encode_all(tokenized[name], index), torch.tensor([e.label for e in splits[name]], dtype=torch.long))
        for name in splits
    }
    test_oov = oov_rate(tokenized["test"], index)
    print(f"corpus: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items())
          + f"; vocab {len(vocab)} tokens; test OOV rate {test_oov:.4f}", flush=True)
    config = PreprocessingConfig(tokenizer="basic_english", max_len=MAX_LEN)
    reference = compute_reference([e.text for e in splits["train"]], [e.label for e in splits["train"]],
                                  vocab, LABELS, config)
    parity_texts = build_parity_texts([e.text for e in splits["test"]], index, MAX_LEN)
    # The exporter calibrates the model's confidence on it (the manifest's calibration section).
    validation = ([e.text for e in splits["validation"]], [e.label for e in splits["validation"]])

    summary = {}
    for kind in args.only or MODEL_NAMES:
        t0 = time.time()
        model, val_acc, best_epoch = train_model(kind, len(vocab), data, args.seed, args.epochs)
        test_ids, test_y = data["test"]
        test_acc = accuracy(model, test_ids, test_y, crop=False)
        train_seconds = time.time() - t0
        metrics = {"split": "test", "examples": len(test_ids), "accuracy": round(test_acc, 6),
                   "oovRate": round(test_oov, 6)}
        out_dir = os.path.join(args.out, kind)
        export_production_model(
            model, vocab, config, out_dir,
            name=kind, version=VERSION, labels=LABELS, metrics=metrics, reference=reference,
            parity_texts=parity_texts, validation=validation,
        )
        verify_bundle(out_dir, model)
        size = os.path.getsize(os.path.join(out_dir, "model.onnx"))
        summary[kind] = {"validationAccuracy": round(val_acc, 4), "testAccuracy": round(test_acc, 4),
                         "testOovRate": round(test_oov, 4), "bestEpoch": best_epoch,
                         "modelBytes": size, "trainSeconds": round(train_seconds, 1)}
        print(f"[{kind}] test acc {test_acc:.4f}, val acc {val_acc:.4f}, model.onnx {size} bytes, "
              f"exported to {out_dir} ({time.time() - t0:.1f}s)", flush=True)
    print(json.dumps(summary, indent=2))
    print(f"total {time.time() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
