"""A NewsBag trained for a few steps on a small generated corpus: a real model for export tests, in seconds."""
from typing import Dict, List, Tuple

import torch

from shipshape_train.corpus import LABELS, Example, make_splits
from shipshape_train.models import NewsBag
from shipshape_train.tokenizer import basic_english, encode, vocab_index
from shipshape_train.vocab import build_vocab

MAX_LEN = 72


def train_tiny_bag(sizes: Dict[str, int], seed: int, steps: int) -> Tuple[NewsBag, List[str], Dict[str, int], Dict[str, List[Example]]]:
    """Splits of `sizes` (train must hold at least 832 examples' worth of slices: 800 is used), a vocabulary of the
    train split's tokens seen 3 times, and a NewsBag of width 8 trained `steps` Adam steps of 64; in eval mode."""
    torch.manual_seed(0)
    splits = make_splits(sizes, seed=seed)
    tokenized = [basic_english(e.text) for e in splits["train"]]
    vocab = build_vocab(tokenized, min_freq=3)
    index = vocab_index(vocab)
    ids = torch.tensor([encode(t, index, MAX_LEN, 0, 1) for t in tokenized])
    labels = torch.tensor([e.label for e in splits["train"]])
    model = NewsBag(len(vocab), len(LABELS), dim=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(steps):
        sl = slice((step * 64) % 768, (step * 64) % 768 + 64)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(ids[sl]), labels[sl]).backward()
        optimizer.step()
    model.eval()
    return model, vocab, index, splits
