import random
import re
import sys
import unicodedata

from shipshape_train.normalization import Normalizer, dumps_normalization, self_check
import json


def test_header(normalization_doc):
    assert normalization_doc["source"].startswith("CPython ")
    assert normalization_doc["unicodeVersion"] == unicodedata.unidata_version


def test_lower_table(normalization_doc):
    lower = normalization_doc["lower"]
    cps = [c for c, _ in lower]
    assert cps == sorted(cps) and len(set(cps)) == len(cps)
    table = dict((c, s) for c, s in lower)
    assert table[65] == "a"
    assert table[0x130] == "i\u0307"  # the only multi-code-point lowering
    assert table[0x3A3] == "\u03c3"
    assert table[0x212A] == "k"  # Kelvin sign
    assert 0xD800 not in table
    for c, s in lower:
        assert chr(c).lower() == s != chr(c)


def test_whitespace_ranges(normalization_doc):
    ws = set()
    for start, end in normalization_doc["whitespace"]:
        ws.update(range(start, end + 1))
    assert ws == {c for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert {0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0xA0, 0x3000} <= ws
    assert 0xFEFF not in ws and 0x200B not in ws and 0x180E not in ws
    # re's \s (used by basic_english) is the same set as str.isspace().
    assert ws == {c for c in range(0x3001) if re.match(r"\s", chr(c))} | {c for c in ws if c > 0x3000}
    assert all(re.match(r"\s", chr(c)) for c in ws)


def test_final_sigma_classes(normalization_doc):
    fs = normalization_doc["finalSigma"]
    norm = Normalizer(normalization_doc)
    assert 0x27 in norm.ignorable and 0xAD in norm.ignorable and 0x301 in norm.ignorable
    assert 0x41 in norm.cased and 0x3A3 in norm.cased and 0x41 not in norm.ignorable
    assert 0x20 not in norm.cased and 0x20 not in norm.ignorable
    for key in ("caseIgnorable", "cased"):
        ranges = fs[key]
        assert all(a <= b for a, b in ranges)
        assert all(ranges[i][1] + 1 < ranges[i + 1][0] for i in range(len(ranges) - 1))


def test_normalizer_reproduces_str_lower_and_split(normalization_doc):
    norm = Normalizer(normalization_doc)
    for text in ["ΟΔΟΣ", "ΣΑ", "Σ", "ΑΣ.", "ΑΣ'Β", "ΑΣ' Β", "A\u03a3\u00ad", "A\u00ad\u03a3\u00adB", "1Σ", "ΣΣΣ",
                 "İstanbul", "ΟΔΟΣ ΑΘΗΝΑΣ", "\ud800Σ", "AΣ\ud800"]:
        assert norm.lower(text) == text.lower(), text
    assert norm.lower("ΟΔΟΣ") == "οδος"[:3] + "\u03c2"
    self_check(normalization_doc, samples=3000, seed=99)
    rng = random.Random(3)
    for _ in range(2000):
        text = "".join(chr(rng.choice([0x20, 0x85, 0x1C, 0xA0, 0x3000, 0x61, 0x3A3, rng.randint(0, 0x10FFFF)]))
                       for _ in range(rng.randint(0, 12)))
        assert norm.split(text) == text.split()


def test_serialization_is_deterministic_json(normalization_doc):
    text = dumps_normalization(normalization_doc)
    assert json.loads(text) == normalization_doc
    assert text == dumps_normalization(json.loads(text))
    assert text.isascii() and text.endswith("}\n")
