"""Vocabulary: ``<unk>`` = 0, ``<pad>`` = 1, then tokens by descending frequency, ties lexicographic.

``vocab.txt`` holds one token per line (line number = id), "\\n" line ends, UTF-8, and ends with
"\\n" after the last token. No torch import.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Sequence

UNK_TOKEN = "<unk>"
PAD_TOKEN = "<pad>"


def _has_whitespace(token: str) -> bool:
    # str.isspace() per character: the same set str.split() and re's \s use.
    return any(ch.isspace() for ch in token)


def validate_vocab(tokens: Sequence[str]) -> None:
    """Raise ValueError for an empty vocabulary, duplicates, empty tokens or tokens with whitespace."""
    if not tokens:
        raise ValueError("vocabulary is empty")
    seen: Dict[str, int] = {}
    for index, token in enumerate(tokens):
        if not isinstance(token, str):
            raise ValueError(f"vocabulary entry {index} is not a string: {token!r}")
        if token == "":
            raise ValueError(f"vocabulary entry {index} is the empty string")
        if _has_whitespace(token):
            raise ValueError(f"vocabulary entry {index} contains whitespace: {token!r}")
        if token in seen:
            raise ValueError(f"duplicate vocabulary token {token!r} at ids {seen[token]} and {index}")
        try:
            token.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"vocabulary entry {index} is not encodable as UTF-8: {token!r}") from exc
        seen[token] = index


def build_vocab(
    tokenized_texts: Iterable[Sequence[str]],
    min_freq: int = 2,
    max_size: int | None = None,
    specials: Sequence[str] = (UNK_TOKEN, PAD_TOKEN),
) -> List[str]:
    """Specials first, then tokens with count >= ``min_freq`` by (-count, token).

    ``max_size`` caps the total size (specials included). Deterministic for a given input.
    """
    counts: Counter = Counter()
    for tokens in tokenized_texts:
        counts.update(tokens)
    special_set = set(specials)
    ranked = sorted(
        (token for token, count in counts.items() if count >= min_freq and token not in special_set),
        key=lambda token: (-counts[token], token),
    )
    vocab = list(specials) + ranked
    if max_size is not None:
        vocab = vocab[:max_size]
    validate_vocab(vocab)
    return vocab


def vocab_to_text(tokens: Sequence[str]) -> str:
    validate_vocab(tokens)
    return "".join(token + "\n" for token in tokens)


def write_vocab(path: str, tokens: Sequence[str]) -> None:
    text = vocab_to_text(tokens)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def read_vocab(path: str) -> List[str]:
    """Read ``vocab.txt``; refuses a missing trailing newline, CR line ends, and invalid entries."""
    with open(path, "rb") as fh:
        data = fh.read()
    if not data:
        raise ValueError(f"{path}: vocabulary is empty")
    if not data.endswith(b"\n"):
        raise ValueError(f"{path}: must end with a newline after the last token")
    if b"\r" in data:
        raise ValueError(f"{path}: CR characters are not allowed (use \\n line ends)")
    tokens = data.decode("utf-8").split("\n")[:-1]
    validate_vocab(tokens)
    return tokens
