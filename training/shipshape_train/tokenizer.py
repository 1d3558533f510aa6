"""torchtext's ``basic_english`` tokenizer, reimplemented in plain Python (no torch import).

The rules are copied from ``torchtext/data/utils.py`` (``_basic_english_normalize``):
``line.lower()``, then twelve ``re.sub`` in a fixed order, then ``line.split()``.
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Sequence, Tuple

SUPPORTED_TOKENIZERS: Tuple[str, ...] = ("basic_english",)

# (pattern, replacement) in torchtext's order. Do not reorder: "." is handled before "<br />"
# and "\s+" must come last.
_PATTERNS: Tuple[Tuple[str, str], ...] = (
    (r"\'", " '  "),
    (r"\"", ""),
    (r"\.", " . "),
    (r"<br \/>", " "),
    (r",", " , "),
    (r"\(", " ( "),
    (r"\)", " ) "),
    (r"\!", " ! "),
    (r"\?", " ? "),
    (r"\;", " "),
    (r"\:", " "),
    (r"\s+", " "),
)

_COMPILED = tuple((re.compile(pattern), replacement) for pattern, replacement in _PATTERNS)


def basic_english(line: str) -> List[str]:
    """Tokenize ``line`` exactly like ``torchtext.data.utils.get_tokenizer("basic_english")``."""
    line = line.lower()
    for pattern_re, replacement in _COMPILED:
        line = pattern_re.sub(replacement, line)
    return line.split()


def get_tokenizer(name: str):
    """Return the tokenizer function called ``name``; only ``basic_english`` exists."""
    if name != "basic_english":
        raise ValueError(
            f"unsupported tokenizer {name!r}; supported tokenizers: {', '.join(SUPPORTED_TOKENIZERS)}"
        )
    return basic_english


def encode(
    tokens: Sequence[str],
    vocab: Mapping[str, int],
    max_len: int,
    unk_id: int,
    pad_id: int,
) -> List[int]:
    """Map tokens to ids (unknown -> ``unk_id``), keep the first ``max_len``, pad right with ``pad_id``."""
    if max_len <= 0:
        raise ValueError(f"max_len must be positive, got {max_len}")
    get = vocab.get
    ids = [get(token, unk_id) for token in tokens[:max_len]]
    if len(ids) < max_len:
        ids.extend([pad_id] * (max_len - len(ids)))
    return ids


def vocab_index(tokens: Sequence[str]) -> Dict[str, int]:
    """Token -> id (line number) for a list of vocabulary tokens."""
    return {token: index for index, token in enumerate(tokens)}
