import os
import random
import re
import subprocess
import sys

import pytest

from shipshape_train.tokenizer import basic_english, encode, get_tokenizer, vocab_index

# torchtext/data/utils.py, copied verbatim as the reference.
_patterns = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_replacements = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_patterns_dict = list((re.compile(p), r) for p, r in zip(_patterns, _replacements))


def _basic_english_normalize(line):
    line = line.lower()
    for pattern_re, replaced_str in _patterns_dict:
        line = pattern_re.sub(replaced_str, line)
    return line.split()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello, World!", ["hello", ",", "world", "!"]),
        ("don't", ["don", "'", "t"]),
        ('a "b" c', ["a", "b", "c"]),
        ("", []),
        ("   \t\n ", []),
        ("U.S. stocks", ["u", ".", "s", ".", "stocks"]),
        ("3.5%", ["3", ".", "5%"]),
        ("$1,000", ["$1", ",", "000"]),
        ("(a);b:c?", ["(", "a", ")", "b", "c", "?"]),
        ("x<br />y", ["x", "y"]),
        ("X<BR />Y", ["x", "y"]),  # lowercased before the <br /> rule
        ("x<br/>y", ["x<br/>y"]),
        ("x<br  />y", ["x<br", "/>y"]),
        ("Wait...what", ["wait", ".", ".", ".", "what"]),
        ("O'Neal's", ["o", "'", "neal", "'", "s"]),
        ('"quoted"', ["quoted"]),
        ("tab\tnew\nline", ["tab", "new", "line"]),
        ("a\u00a0b\u2003c\u3000d\x85e\x1cf", ["a", "b", "c", "d", "e", "f"]),
        ("zero\u200bwidth", ["zero\u200bwidth"]),  # U+200B is not whitespace in Python
        ("\ufeffbom", ["\ufeffbom"]),  # nor is U+FEFF (JavaScript's \s has it)
        ("ΟΔΟΣ", ["οδος"[:3] + "\u03c2"]),  # final sigma
        ("ΣΑ", ["\u03c3\u03b1"]),
        ("İ", ["i\u0307"]),
        ("Straße ẞ", ["straße", "ß"]),
        ("Σ.", ["\u03c3", "."]),
        ("ΑΣ.", ["\u03b1\u03c2", "."]),
    ],
)
def test_basic_english_hand_picked(text, expected):
    assert basic_english(text) == expected
    assert _basic_english_normalize(text) == expected


def test_matches_torchtext_rules_on_random_text():
    rng = random.Random(7)
    alphabet = list("abcXYZ '\".,()!?;:<>/br \t\n") + ["<br />", "<BR />", "\u00a0", "\u03a3", "\u0130", "\x85", "é", "😀"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert basic_english(text) == _basic_english_normalize(text), text


def test_encode_truncates_and_pads_right():
    index = vocab_index(["<unk>", "<pad>", "a", "b"])
    assert encode(["a", "zzz", "b"], index, 5, 0, 1) == [2, 0, 3, 1, 1]
    assert encode(["a", "b", "a", "b"], index, 3, 0, 1) == [2, 3, 2]
    assert encode([], index, 2, 0, 1) == [1, 1]
    with pytest.raises(ValueError):
        encode([], index, 0, 0, 1)


def test_only_basic_english_is_supported():
    assert get_tokenizer("basic_english") is basic_english
    with pytest.raises(ValueError, match="basic_english"):
        get_tokenizer("spacy")


def test_tokenizer_and_cli_do_not_import_torch():
    code = (
        "import sys; import shipshape_train.tokenizer, shipshape_train.vocab, shipshape_train.tokenize_cli, "
        "shipshape_train.parity_cases, shipshape_train.corpus; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "..", "training"))
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
