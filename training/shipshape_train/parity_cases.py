"""The golden parity texts shipped in every bundle: hand-picked edge cases plus test-split texts.

No torch import. Tags follow docs/bundle-format.md; some are derived from the text itself.
"""

from __future__ import annotations

from typing import List, Mapping, Sequence, Tuple

from .tokenizer import basic_english

# (text, tags). Tags that can be derived (long, br, quotes, numbers, non-latin, sigma, whitespace,
# oov, empty) are added automatically by ``tag_text``; the ones here state the intent.
HAND_PICKED: Sequence[Tuple[str, Sequence[str]]] = (
    # empty and whitespace-only
    ("", ["empty"]),
    (" ", ["whitespace"]),
    ("\t\n\r\x0b\x0c", ["whitespace"]),
    ("\u00a0\u2003\u3000", ["whitespace"]),
    ("\x85", ["whitespace"]),
    ("\x1c\x1d\x1e\x1f", ["whitespace"]),
    ("stocks\u00a0rose", ["whitespace"]),
    ("oil\u2003prices\u3000fell", ["whitespace"]),
    ("next\x85line", ["whitespace"]),
    ("file\x1cgroup\x1drecord\x1eunit\x1fsep", ["whitespace"]),
    ("\ttabbed\ttext\t", ["whitespace"]),
    ("line one\nline two\r\nline three\rend", ["whitespace"]),
    ("\u2028line\u2029paragraph separators", ["whitespace"]),
    ("\u1680ogham\u2000to\u200aspaces\u202fnarrow\u205fmath", ["whitespace"]),
    ("zero\u200bwidth space is not whitespace", ["whitespace"]),
    ("\ufeffbyte order mark is not whitespace in Python", ["whitespace"]),
    ("mongolian\u180evowel separator", ["whitespace"]),
    ("  leading and trailing  ", ["whitespace"]),
    # punctuation only
    ("!!!", ["punctuation"]),
    ("...", ["punctuation"]),
    ("?!?!", ["punctuation"]),
    ("(),;:", ["punctuation"]),
    (";;;:::", ["punctuation"]),
    ("---", ["punctuation"]),
    ("@#$%^&*", ["punctuation"]),
    (".,!?()", ["punctuation"]),
    ("\"\"\"", ["punctuation", "quotes"]),
    ("'", ["punctuation", "quotes"]),
    ("«»—–…", ["punctuation"]),
    ("¿¡", ["punctuation"]),
    ("Wait... what?! (Really.)", ["punctuation"]),
    ("end.of.sentence,no,spaces!here?yes:no;maybe", ["punctuation"]),
    # <br />
    ("a<br />b", ["br"]),
    ("A<BR />B", ["br", "mixed-case"]),
    ("first line<br /><br />second line", ["br"]),
    ("x <Br /> y", ["br", "mixed-case"]),
    ("<br />", ["br", "punctuation"]),
    ("<br/> is not removed, nor <br  /> nor <br>", ["br"]),
    ("Stocks fell.<br />Oil rose.", ["br"]),
    # quotes
    ("don't", ["quotes"]),
    ("'single quoted'", ["quotes"]),
    ("\"double quoted\"", ["quotes"]),
    ("Shaquille O'Neal's 'big' night", ["quotes", "mixed-case"]),
    ("He said \"it's over\" and left", ["quotes"]),
    ("‘curly’ “quotes” stay", ["quotes"]),
    ("`backticks` and ´acute´", ["quotes"]),
    ("''''", ["quotes", "punctuation"]),
    # mixed case
    ("HeLLo WoRLD", ["mixed-case"]),
    ("NASA LAUNCHES NEW PROBE", ["mixed-case"]),
    ("iPhone eBay McDonald's", ["mixed-case", "quotes"]),
    ("ＦＵＬＬＷＩＤＴＨ Ｌｅｔｔｅｒｓ", ["mixed-case"]),
    ("Kelvin \u212a and Ohm \u2126 and Angstrom \u212b", ["mixed-case"]),
    ("Capital sharp \u1e9e and ǅ titlecase Ǆ", ["mixed-case"]),
    ("Ⅻ Roman ⅻ and Ⓐ circled", ["mixed-case"]),
    ("ᾈ ᾼ ῌ with iota subscript", ["mixed-case", "non-latin"]),
    ("İstanbul", ["mixed-case"]),
    ("İ", ["mixed-case"]),
    ("DİYARBAKIR iİı", ["mixed-case"]),
    ("e\u0301 combining accent and É precomposed", ["mixed-case"]),
    # Greek and final sigma
    ("ΟΔΟΣ", ["sigma", "non-latin"]),
    ("ΟΔΟΣ ΑΘΗΝΑΣ", ["sigma", "non-latin"]),
    ("Σ", ["sigma", "non-latin"]),
    ("ΑΣ.", ["sigma", "non-latin"]),
    ("ΣΑ", ["sigma", "non-latin"]),
    ("ΑΣΑ", ["sigma", "non-latin"]),
    ("ΟΔΥΣΣΕΥΣ", ["sigma", "non-latin"]),
    ("Ο ΠΡΩΘΥΠΟΥΡΓΟΣ ΤΗΣ ΕΛΛΑΔΟΣ", ["sigma", "non-latin"]),
    ("ΑΣ'Β", ["sigma", "non-latin", "quotes"]),
    ("ΑΣ' Β", ["sigma", "non-latin", "quotes"]),
    ("ΑΣ\u0301", ["sigma", "non-latin"]),
    ("Α\u0301Σ", ["sigma", "non-latin"]),
    ("A\u03a3\u00ad", ["sigma", "non-latin"]),
    ("A\u00ad\u03a3\u00adB", ["sigma", "non-latin"]),
    ("1Σ 2Σ3", ["sigma", "non-latin", "numbers"]),
    ("ΣΣΣ", ["sigma", "non-latin"]),
    ("aΣ.b", ["sigma", "non-latin"]),
    ("ΑΘΗΝΑ: ΟΔΟΣ ΣΤΑΔΙΟΥ", ["sigma", "non-latin"]),
    ("Ὀδυσσεύς ΚΑΛΗΜΕΡΑ κόσμε", ["non-latin"]),
    ("ΕΛΛΑΣ ΚΥΠΡΟΣ ΠΕΙΡΑΙΑΣ", ["sigma", "non-latin"]),  # in the vocabulary, with final sigma
    ("Athens (ΕΛΛΑΣ) and Nicosia (ΚΥΠΡΟΣ)", ["sigma", "non-latin", "punctuation"]),
    ("ΕΛΛΑΣ'", ["sigma", "non-latin", "quotes"]),
    ("ελλασ with a non-final sigma", ["non-latin"]),
    ("İzmir and İstanbul", ["mixed-case"]),  # in the vocabulary as i + U+0307
    ("İZMİR ZÜRICH", ["mixed-case"]),
    # other scripts
    ("Москва ПРИВЕТ мир", ["non-latin", "mixed-case"]),
    ("Ёлка и ЁЖ", ["non-latin"]),
    ("北京奥运会 东京", ["non-latin"]),
    ("القاهرة مرحبا بالعالم", ["non-latin"]),
    ("תל אביב", ["non-latin"]),
    ("नई दिल्ली", ["non-latin"]),
    ("กรุงเทพมหานคร", ["non-latin"]),
    ("서울 뉴스", ["non-latin"]),
    ("ԱՐԱՄ Armenian", ["non-latin"]),
    ("ᲐᲑᲒ Georgian Mtavruli", ["non-latin"]),
    ("ᏣᎳᎩ Cherokee", ["non-latin"]),
    ("𐐀𐐁 Deseret", ["non-latin"]),
    ("𞤀𞤁 Adlam", ["non-latin"]),
    ("𐒰𐒱 Osage", ["non-latin"]),
    ("Straße ǈ ǋ ǲ", ["mixed-case"]),
    # emoji and symbols (out of vocabulary)
    ("🚀 launch", ["oov"]),
    ("👍🏽 great game!", ["oov", "punctuation"]),
    ("👨\u200d👩\u200d👧 family", ["oov"]),
    ("😀😀😀", ["oov"]),
    ("🇬🇷 Greece", ["oov"]),
    ("NUL\x00char and DEL\x7f", ["oov"]),
    ("lone ️ variation selector", ["oov"]),
    # numbers
    ("3.14", ["numbers"]),
    ("1,000,000 shares", ["numbers"]),
    ("$5.5 billion deal", ["numbers"]),
    ("profit rose 4.2%", ["numbers"]),
    ("won 6-4, 7-6 (5), 6-3", ["numbers"]),
    ("١٢٣ ٤٥٦", ["numbers", "non-latin"]),
    ("½ ² ³ ⅓", ["numbers"]),
    ("2004-05 season", ["numbers"]),
    # out of vocabulary
    ("zyxwvut qwertyuiop blorf", ["oov"]),
    ("Microsoftt Gooogle Yahooo", ["oov", "mixed-case"]),
    ("supercalifragilisticexpialidocious", ["oov"]),
    # news-like
    ("Microsoft unveiled a new browser on Tuesday.", ["mixed-case"]),
    ("The Yankees beat the Red Sox 5-3 in the ninth.", ["numbers"]),
    ("Oil prices rose as OPEC cut output.", ["mixed-case"]),
    ("Rebels seized a town near the border, officials said.", ["punctuation"]),
    ("Shares of Google jumped after it reported strong earnings.", []),
    ("NASA's probe found water ice on Mars.", ["quotes"]),
)


def _is_non_latin_letter(ch: str) -> bool:
    return ch.isalpha() and ord(ch) > 0x24F and not (0x1E00 <= ord(ch) <= 0x1EFF)


def tag_text(text: str, tags: Sequence[str], tokens: Sequence[str], vocab: Mapping[str, int], max_len: int) -> List[str]:
    out = list(tags)
    if text == "":
        out.append("empty")
    if len(tokens) > max_len:
        out.append("long")
    if "<br />" in text.lower():
        out.append("br")
    if "'" in text or '"' in text:
        out.append("quotes")
    if any(ch.isdigit() for ch in text):
        out.append("numbers")
    if any(_is_non_latin_letter(ch) for ch in text):
        out.append("non-latin")
    if "\u03a3" in text:
        out.append("sigma")
    if any(ch.isspace() and ch != " " for ch in text):
        out.append("whitespace")
    if any(t not in vocab for t in tokens):
        out.append("oov")
    return list(dict.fromkeys(out))


def build_parity_texts(
    test_texts: Sequence[str],
    vocab: Mapping[str, int],
    max_len: int = 72,
    n_test: int = 150,
) -> List[Tuple[str, List[str]]]:
    """Hand-picked edge cases, a few synthesized long texts, then ``n_test`` test-split texts."""
    cases: List[Tuple[str, List[str]]] = list((t, list(tags)) for t, tags in HAND_PICKED)
    # Long texts: more than max_len tokens.
    joined = " ".join(test_texts[:12])
    cases.append((joined, ["long"]))
    cases.append(("word " * (max_len + 5), ["long"]))
    cases.append(("ΟΔΟΣ " * 40 + "ΤΕΛΟΣ", ["long", "sigma"]))
    cases.append((", ".join(str(i) for i in range(100)), ["long", "numbers"]))
    cases.append(("<br />".join(test_texts[12:18]), ["long", "br"]))
    test_long = [t for t in test_texts if len(basic_english(t)) > max_len]
    test_short = [t for t in test_texts if len(basic_english(t)) <= max_len]
    picked = test_long[:20] + test_short[: max(0, n_test - min(20, len(test_long)))]
    for text in picked[:n_test]:
        cases.append((text, ["test-split"]))
    out = []
    for text, tags in cases:
        tokens = basic_english(text)
        out.append((text, tag_text(text, tags, tokens, vocab, max_len)))
    return out
