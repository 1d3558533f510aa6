"""Record what this interpreter's ``str.lower()`` and whitespace handling actually do.

Writes ``normalization.json`` (docs/bundle-format.md): serving applies this record instead of the
JavaScript engine's ``toLowerCase()`` / ``\\s``, whose Unicode data differs from CPython's.

Everything is found by probing ``str`` methods of the running interpreter, never from a copy of the
Unicode tables, so the record is what training really did.

    PYTHONPATH=training /usr/bin/python3 -m shipshape_train.normalization [--out FILE] [--check N]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import unicodedata
from typing import Dict, Iterable, List, Sequence, Tuple

MAX_CODE_POINT = 0x10FFFF
CAPITAL_SIGMA = "\u03a3"
SMALL_SIGMA = "\u03c3"
FINAL_SIGMA = "\u03c2"

Range = Tuple[int, int]


def _ranges(code_points: Iterable[int]) -> List[List[int]]:
    """Ascending code points -> inclusive ``[start, end]`` ranges."""
    out: List[List[int]] = []
    for c in code_points:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def probe_lower() -> List[list]:
    """Every code point whose ``chr(c).lower()`` differs from itself, as ``[c, lowered]``."""
    table = []
    for c in range(MAX_CODE_POINT + 1):
        ch = chr(c)
        low = ch.lower()
        if low != ch:
            table.append([c, low])
    return table


def probe_whitespace() -> List[List[int]]:
    """Inclusive ranges of code points with ``chr(c).isspace()``."""
    return _ranges(c for c in range(MAX_CODE_POINT + 1) if chr(c).isspace())


def probe_final_sigma() -> Dict[str, List[List[int]]]:
    """Classify every code point for CPython's Final_Sigma rule by probing ``str.lower()``.

    CPython lowers U+03A3 to U+03C2 iff, skipping case-ignorable code points, a cased code point
    precedes it and no cased code point follows it. With X a single code point:

    * ``("A\u03a3" + X).lower()[1]`` is sigma iff X is cased and not case-ignorable
      (scanning right stops at X and X counts as cased);
    * ``("A\u03a3" + X + "B").lower()[1]`` is sigma iff X is case-ignorable (skipped, then "B")
      or cased.

    So ``cased`` = first probe gives sigma; ``caseIgnorable`` = second gives sigma and first does not.
    A code point that is both cased and case-ignorable behaves exactly like a case-ignorable one in
    this rule, which is why ``cased`` excludes case-ignorable code points.
    """
    cased: List[int] = []
    ignorable: List[int] = []
    prefix = "A" + CAPITAL_SIGMA
    for c in range(MAX_CODE_POINT + 1):
        ch = chr(c)
        tail = (prefix + ch).lower()[1]
        if tail == SMALL_SIGMA:
            cased.append(c)
            continue
        between = (prefix + ch + "B").lower()[1]
        if between == SMALL_SIGMA:
            ignorable.append(c)
    return {"caseIgnorable": _ranges(ignorable), "cased": _ranges(cased)}


def build_normalization() -> dict:
    """The ``normalization.json`` document for this interpreter (key order as in the doc)."""
    return {
        "source": "CPython " + platform.python_version(),
        "unicodeVersion": unicodedata.unidata_version,
        "lower": probe_lower(),
        "whitespace": probe_whitespace(),
        "finalSigma": probe_final_sigma(),
    }


# ---------------------------------------------------------------------------------------------
# Serialization: one entry per line, ASCII only (escapes), deterministic.


def dumps_normalization(doc: dict) -> str:
    """Format a normalization document: top-level keys in fixed order, one table entry per line."""

    def entries(rows: Sequence) -> str:
        if not rows:
            return "[]"
        inner = ",\n".join("    " + json.dumps(row, ensure_ascii=True, separators=(", ", ": ")) for row in rows)
        return "[\n" + inner + "\n  ]"

    def nested(rows: Sequence) -> str:
        if not rows:
            return "[]"
        inner = ",\n".join("      " + json.dumps(row, separators=(", ", ": ")) for row in rows)
        return "[\n" + inner + "\n    ]"

    fs = doc["finalSigma"]
    parts = [
        '  "source": ' + json.dumps(doc["source"], ensure_ascii=True),
        '  "unicodeVersion": ' + json.dumps(doc["unicodeVersion"], ensure_ascii=True),
        '  "lower": ' + entries(doc["lower"]),
        '  "whitespace": ' + entries(doc["whitespace"]),
        '  "finalSigma": {\n'
        + '    "caseIgnorable": '
        + nested(fs["caseIgnorable"])
        + ",\n"
        + '    "cased": '
        + nested(fs["cased"])
        + "\n  }",
    ]
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    if json.loads(text) != doc:  # pragma: no cover - guards the hand-written formatter
        raise AssertionError("normalization formatter lost information")
    return text


# ---------------------------------------------------------------------------------------------
# A pure-Python re-implementation from the recorded tables (what serving does), used as self-check.


class Normalizer:
    """Lowercasing and whitespace splitting driven only by a normalization document."""

    def __init__(self, doc: dict):
        self.lower_map: Dict[int, str] = {int(c): s for c, s in doc["lower"]}
        self.whitespace = _RangeSet(doc["whitespace"])
        self.ignorable = _RangeSet(doc["finalSigma"]["caseIgnorable"])
        self.cased = _RangeSet(doc["finalSigma"]["cased"])

    def _final_sigma(self, cps: Sequence[int], i: int) -> bool:
        j = i - 1
        while j >= 0 and cps[j] in self.ignorable:
            j -= 1
        if j < 0 or cps[j] not in self.cased:
            return False
        j = i + 1
        while j < len(cps) and cps[j] in self.ignorable:
            j += 1
        return j == len(cps) or cps[j] not in self.cased

    def lower(self, text: str) -> str:
        cps = [ord(ch) for ch in text]
        out = []
        for i, c in enumerate(cps):
            if c == 0x03A3:
                out.append(FINAL_SIGMA if self._final_sigma(cps, i) else SMALL_SIGMA)
            else:
                out.append(self.lower_map.get(c, chr(c)))
        return "".join(out)

    def split(self, text: str) -> List[str]:
        parts: List[str] = []
        current: List[str] = []
        for ch in text:
            if ord(ch) in self.whitespace:
                if current:
                    parts.append("".join(current))
                    current = []
            else:
                current.append(ch)
        if current:
            parts.append("".join(current))
        return parts


class _RangeSet:
    def __init__(self, ranges: Sequence[Sequence[int]]):
        import bisect

        self._bisect = bisect.bisect_right
        self._starts = [int(r[0]) for r in ranges]
        self._ends = [int(r[1]) for r in ranges]

    def __contains__(self, c: int) -> bool:
        i = self._bisect(self._starts, c) - 1
        return i >= 0 and c <= self._ends[i]


def _interesting_code_points(doc: dict) -> List[int]:
    pool = set()
    for c, _ in doc["lower"]:
        pool.add(c)
    for key in ("caseIgnorable", "cased"):
        for start, end in doc["finalSigma"][key]:
            pool.update({start, end, min(start + 1, end)})
    for start, end in doc["whitespace"]:
        pool.update(range(start, end + 1))
    pool.update([0x03A3, 0x03A3, 0x03A3, 0x0130, 0x0027, 0x00AD, 0x0345, 0xD800, 0xDFFF, 0x1F600])
    return sorted(pool)


def self_check(doc: dict, samples: int = 20000, seed: int = 1234) -> None:
    """Check the recorded tables against this interpreter; raise AssertionError on any difference.

    Random strings mix capital sigmas, case-ignorable, cased, whitespace and arbitrary code points
    (lone surrogates included) so that Final_Sigma contexts are exercised heavily.
    """
    rng = random.Random(seed)
    norm = Normalizer(doc)
    interesting = _interesting_code_points(doc)
    ignorable = [r for r in doc["finalSigma"]["caseIgnorable"]]
    cased = [r for r in doc["finalSigma"]["cased"]]

    def pick(ranges):
        start, end = rng.choice(ranges)
        return rng.randint(start, end)

    def random_cp() -> int:
        r = rng.random()
        if r < 0.25:
            return 0x03A3
        if r < 0.45:
            return pick(ignorable)
        if r < 0.65:
            return pick(cased)
        if r < 0.85:
            return rng.choice(interesting)
        return rng.randint(0, MAX_CODE_POINT)

    for _ in range(samples):
        text = "".join(chr(random_cp()) for _ in range(rng.randint(0, 8)))
        expected = text.lower()
        got = norm.lower(text)
        if got != expected:
            raise AssertionError(f"lower mismatch for {text!r}: table gives {got!r}, str.lower {expected!r}")
        if norm.split(text) != text.split():
            raise AssertionError(f"split mismatch for {text!r}")
    # Every single code point, alone and after a cased letter.
    for c in range(MAX_CODE_POINT + 1):
        ch = chr(c)
        if norm.lower(ch) != ch.lower():
            raise AssertionError(f"lower mismatch for U+{c:04X}")


def write_normalization(path: str, doc: dict | None = None) -> dict:
    """Probe (unless ``doc`` is given) and write ``normalization.json`` to ``path``."""
    if doc is None:
        doc = build_normalization()
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(dumps_normalization(doc))
    return doc


_CACHE: dict | None = None


def cached_normalization(check: bool = True) -> dict:
    """Probe once per process (about a few seconds), optionally with a self-check."""
    global _CACHE
    if _CACHE is None:
        doc = build_normalization()
        if check:
            self_check(doc, samples=5000)
        _CACHE = doc
    return _CACHE


def summarize(doc: dict) -> str:
    lower = doc["lower"]
    multi = [c for c, s in lower if len(s) != 1]
    ws = doc["whitespace"]
    n_ws = sum(e - s + 1 for s, e in ws)
    fs = doc["finalSigma"]
    n_ci = sum(e - s + 1 for s, e in fs["caseIgnorable"])
    n_cased = sum(e - s + 1 for s, e in fs["cased"])
    return (
        f"{doc['source']}, Unicode {doc['unicodeVersion']}: {len(lower)} code points with lower mappings "
        f"({len(multi)} to more than one code point: {', '.join(f'U+{c:04X}' for c in multi)}); "
        f"{n_ws} whitespace code points in {len(ws)} ranges; "
        f"{n_ci} case-ignorable in {len(fs['caseIgnorable'])} ranges; "
        f"{n_cased} cased (not ignorable) in {len(fs['cased'])} ranges"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write normalization.json here")
    parser.add_argument("--check", type=int, default=20000, help="random strings for the self-check (0: skip)")
    args = parser.parse_args(argv)
    doc = build_normalization()
    if args.check:
        self_check(doc, samples=args.check)
        print(f"self-check passed ({args.check} random strings + every code point)", file=sys.stderr)
    print(summarize(doc), file=sys.stderr)
    if args.out:
        write_normalization(args.out, doc)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
