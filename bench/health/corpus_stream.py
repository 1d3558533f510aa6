"""Texts generated like the training corpus, for the drift bench: JSONL lines {"text", "label"} on stdout.

    /usr/bin/python3 bench/health/corpus_stream.py --n 10000 --seed 20270101 [--mix Sports=0.8]

The texts come from ``shipshape_train.corpus.make_text``, the generator the bundles were trained on, with a seed the
training splits never used. Without ``--mix`` the labels are balanced (as ``generate_corpus`` makes them) in a seeded
order; ``--mix LABEL=SHARE`` gives that label its share and splits the rest evenly between the other labels.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from typing import Dict, List, Sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "training"))

from shipshape_train.corpus import DEFAULT_SEED, LABELS, make_text  # noqa: E402


def parse_mix(items: Sequence[str]) -> Dict[int, float]:
    """``["Sports=0.8"]`` -> a share per label index, the rest split evenly; raises ValueError on a bad item."""
    shares: Dict[int, float] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in LABELS:
            raise ValueError(f"--mix {item}: unknown label {name!r}; should be one of: {', '.join(LABELS)}")
        share = float(value)
        if not 0 <= share <= 1:
            raise ValueError(f"--mix {item}: the share must be in [0, 1]")
        shares[LABELS.index(name)] = share
    given = sum(shares.values())
    rest = [i for i in range(len(LABELS)) if i not in shares]
    if given > 1 + 1e-9 or (not rest and abs(given - 1) > 1e-9):
        raise ValueError(f"--mix shares add up to {given}; they must add up to 1 at most (exactly 1 when all given)")
    for i in rest:
        shares[i] = (1 - given) / len(rest)
    return shares


def stream_labels(n: int, mix: Dict[int, float] | None, rng: random.Random) -> List[int]:
    """``n`` label indices: balanced and shuffled without a mix, else exact counts by share, shuffled."""
    if not mix:
        labels = [i % len(LABELS) for i in range(n)]
    else:
        counts = {i: int(round(mix[i] * n)) for i in mix}
        top = max(counts, key=lambda i: mix[i])
        counts[top] += n - sum(counts.values())  # rounding leftovers go to the largest share
        labels = [i for i, count in sorted(counts.items()) for _ in range(count)]
    rng.shuffle(labels)
    return labels


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, required=True, help="number of texts")
    parser.add_argument("--seed", type=int, required=True, help="any seed but the training corpus's")
    parser.add_argument("--mix", action="append", default=[], help="LABEL=SHARE, repeatable")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("--n must be >= 0")
    if args.seed == DEFAULT_SEED:
        parser.error(f"--seed {DEFAULT_SEED} is the training corpus's seed; give an unseen one")
    try:
        mix = parse_mix(args.mix)
    except ValueError as error:
        parser.error(str(error))
    rng = random.Random(args.seed)
    out = sys.stdout
    for label in stream_labels(args.n, mix, rng):
        out.write(json.dumps({"text": make_text(label, rng), "label": LABELS[label]}, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
