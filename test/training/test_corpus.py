from collections import Counter

from shipshape_train.corpus import LABELS, generate_corpus, make_splits
from shipshape_train.tokenizer import basic_english


def test_labels_exact():
    assert LABELS == ["World", "Sports", "Business", "Sci/Tech"]


def test_deterministic_and_balanced():
    a = generate_corpus(200, seed=5)
    b = generate_corpus(200, seed=5)
    assert a == b
    assert generate_corpus(200, seed=6) != a
    assert Counter(e.label for e in a) == {0: 200, 1: 200, 2: 200, 3: 200}


def test_splits_sizes_and_surface_variety():
    splits = make_splits({"train": 1600, "validation": 200, "test": 200}, seed=11)
    assert [len(v) for v in splits.values()] == [1600, 200, 200]
    texts = [e.text for v in splits.values() for e in v]
    assert len(set(texts)) > 1900
    assert any("<br />" in t for t in texts)
    assert any("<BR />" in t for t in texts)
    assert any("'" in t for t in texts) and any('"' in t for t in texts)
    assert any(any(ch.isdigit() for ch in t) for t in texts)
    assert any(t.isupper() for t in (t.split(" - ")[0] for t in texts))
    assert sum(len(basic_english(t)) > 72 for t in texts) > 20
    assert any(any(ord(ch) > 0x370 and ch.isalpha() for ch in t) for t in texts)
