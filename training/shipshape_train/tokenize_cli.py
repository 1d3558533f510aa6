"""Tokenize JSON-string lines with a bundle's preprocessing (no torch import; used by the
TypeScript tokenizer's differential test).

    PYTHONPATH=training /usr/bin/python3 -m shipshape_train.tokenize_cli --bundle DIR [--tokens]

stdin: one JSON string per line (escapes such as "\\ud800" are fine). stdout: one compact JSON
array per line, the ``maxLen`` ids (or, with ``--tokens``, the full token list before truncation).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from .tokenizer import encode, get_tokenizer, vocab_index
from .vocab import read_vocab


def load_preprocessing(bundle: str):
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    pre = manifest["preprocessing"]
    tokenize = get_tokenizer(pre["tokenizer"])
    tokens = read_vocab(os.path.join(bundle, pre["vocab"]))
    index = vocab_index(tokens)
    special = pre["specialTokens"]
    unk_id, pad_id = special["unk"]["id"], special["pad"]["id"]
    if tokens[unk_id] != special["unk"]["token"] or tokens[pad_id] != special["pad"]["token"]:
        raise SystemExit(f"{bundle}: special tokens do not match vocab.txt")
    return tokenize, index, int(pre["maxLen"]), unk_id, pad_id


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tokenize JSON-string lines from stdin with a bundle's vocabulary.")
    parser.add_argument("--bundle", required=True, help="bundle directory (manifest.json, vocab.txt)")
    parser.add_argument("--tokens", action="store_true", help="print token lists instead of ids")
    args = parser.parse_args(argv)
    tokenize, index, max_len, unk_id, pad_id = load_preprocessing(args.bundle)
    out = []
    data = sys.stdin.buffer.read().decode("utf-8")
    for lineno, line in enumerate(data.split("\n"), 1):
        if not line.strip():
            continue
        text = json.loads(line)
        if not isinstance(text, str):
            raise SystemExit(f"line {lineno}: expected a JSON string, got {type(text).__name__}")
        tokens = tokenize(text)
        if args.tokens:
            # ASCII escapes keep lone surrogates representable.
            out.append(json.dumps(tokens, separators=(",", ":")))
        else:
            out.append(json.dumps(encode(tokens, index, max_len, unk_id, pad_id), separators=(",", ":")))
    sys.stdout.write("".join(line + "\n" for line in out))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
