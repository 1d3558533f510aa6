// CPython's str.lower() and str.isspace() replayed from the training interpreter's recorded tables.
//
// Why not toLowerCase() and /\s/: they follow the JavaScript engine's Unicode version, not the training
// interpreter's, and they differ from Python even on one version: Python's isspace() includes U+001C..U+001F and
// U+0085 and excludes U+FEFF, unlike JavaScript's \s. So the exporter records what Python did
// (normalization.json, docs/bundle-format.md) and this module applies exactly that record.
import type { NormalizationRecord } from '../bundle/manifest.ts';

const CAPITAL_SIGMA = 0x3a3;
const SMALL_SIGMA = 'σ';
const FINAL_SIGMA = 'ς';

/** Bits of `PythonText.astralBlocks`. */
export const ASTRAL_LOWERS = 1;
export const ASTRAL_SPACE = 2;

export type Ranges = readonly (readonly [number, number])[];

/** Membership in sorted inclusive ranges: a bitmap below 0x10000, binary search above. */
class CodePointSet {
  private readonly bmp = new Uint8Array(0x10000 >> 3);
  private readonly astral: Ranges;

  constructor(ranges: Ranges) {
    const astral: [number, number][] = [];
    for (const [start, end] of ranges) {
      for (let cp = start; cp <= Math.min(end, 0xffff); cp++) this.bmp[cp >> 3]! |= 1 << (cp & 7);
      if (end > 0xffff) astral.push([Math.max(start, 0x10000), end]);
    }
    this.astral = astral.sort((a, b) => a[0] - b[0]);
  }

  has(cp: number): boolean {
    if (cp <= 0xffff) return (this.bmp[cp >> 3]! & (1 << (cp & 7))) !== 0;
    let lo = 0;
    let hi = this.astral.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [start, end] = this.astral[mid]!;
      if (cp < start) hi = mid - 1;
      else if (cp > end) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

/** Python's text semantics of one training interpreter, compiled from its normalization record. */
export interface PythonText {
  /** `str.lower()`, Final_Sigma included. */
  lower(text: string): string;
  /** `chr(cp).isspace()`, which is also what `str.split()` and `re`'s `\\s` split on. */
  isSpace(cp: number): boolean;
  /** The code points `isSpace` holds, as sorted inclusive ranges: filling a table from them beats asking per unit. */
  readonly spaceRanges: Ranges;
  /**
   * `str.lower()` of each UTF-16 code unit on its own, for scanners that lower as they go, as an offset: `unit +
   * unitLowerDelta[unit]` is the one code unit it lowers to, or -1 where that is not context-free and one unit
   * (surrogates, U+03A3, lowercase of several units). Offsets, so that the units `str.lower()` leaves alone (nearly
   * all) are the zeros a fresh table starts with, and building it costs no pass over 65,536 entries. Each read builds
   * a new table, which the caller owns and may change (the id scanner marks `"` in its own).
   */
  readonly unitLowerDelta: Int32Array;
  /**
   * What `str.lower()` turns the code point at UTF-16 index `i` of `text` into (U+03A3 judged in its context), or
   * undefined when it stays as it is. Agrees with `lower(text)` code point for code point.
   */
  lowerAt(text: string, i: number): string | undefined;
  /**
   * What the 1,024 code points behind each high surrogate (index `unit - 0xD800`) hold: bit `ASTRAL_LOWERS` when
   * `str.lower()` changes one of them, bit `ASTRAL_SPACE` when one is whitespace. Lets a scanner pass an emoji by.
   */
  readonly astralBlocks: Uint8Array;
  /** The interpreter the record came from, e.g. "CPython 3.11.2 (Unicode 14.0.0)". */
  readonly source: string;
}

export function compilePythonText(record: NormalizationRecord): PythonText {
  const lowerMap = new Map<number, string>();
  for (const [cp, lowered] of record.lower) lowerMap.set(cp, lowered);
  // On pure-ASCII text the engine's toLowerCase() is safe exactly when the record maps A-Z to a-z and nothing else.
  const asciiIsPlain = Array.from({ length: 0x80 }, (_, cp) => cp).every(
    (cp) =>
      (lowerMap.get(cp) ?? String.fromCharCode(cp)) ===
      String.fromCharCode(cp >= 65 && cp <= 90 ? cp + 32 : cp),
  );
  const allAscii = /^[^\u0080-\uffff]*$/;

  const caseIgnorable = new CodePointSet(record.finalSigma.caseIgnorable);
  const cased = new CodePointSet(record.finalSigma.cased);
  const spaces = new CodePointSet(record.whitespace);

  const mapped = new CodePointSet(record.lower.map(([cp]) => [cp, cp] as const));

  /** The code point at UTF-16 index i; a lone surrogate is one code point, as in Python. */
  function codePointAt(text: string, i: number): number {
    return text.codePointAt(i)!;
  }
  /** The start index of the code point that ends just before UTF-16 index i. */
  function previousStart(text: string, i: number): number {
    const unit = text.charCodeAt(i - 1);
    if (unit >= 0xdc00 && unit <= 0xdfff && i >= 2) {
      const high = text.charCodeAt(i - 2);
      if (high >= 0xd800 && high <= 0xdbff) return i - 2;
    }
    return i - 1;
  }

  /** CPython's handle_capital_sigma (Objects/unicodeobject.c): U+03A3 at UTF-16 index i of the original text. */
  function sigmaAt(text: string, i: number): string {
    let j = i;
    let before = -1;
    while (j > 0) {
      j = previousStart(text, j);
      const cp = codePointAt(text, j);
      if (!caseIgnorable.has(cp)) {
        before = cp;
        break;
      }
    }
    let final = before >= 0 && cased.has(before);
    if (final) {
      let k = i + 1;
      while (k < text.length) {
        const cp = codePointAt(text, k);
        if (!caseIgnorable.has(cp)) {
          final = !cased.has(cp);
          break;
        }
        k += cp > 0xffff ? 2 : 1;
      }
    }
    return final ? FINAL_SIGMA : SMALL_SIGMA;
  }

  function lower(text: string): string {
    if (asciiIsPlain && allAscii.test(text)) return text.toLowerCase();
    // Copy unchanged runs as slices; replace only code points the record maps.
    let out = '';
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const cp = codePointAt(text, i);
      const width = cp > 0xffff ? 2 : 1;
      if (mapped.has(cp)) {
        out += text.slice(from, i) + (cp === CAPITAL_SIGMA ? sigmaAt(text, i) : lowerMap.get(cp)!);
        from = i + width;
      }
      i += width - 1;
    }
    return from === 0 ? text : out + text.slice(from);
  }

  function lowerAt(text: string, i: number): string | undefined {
    const cp = codePointAt(text, i);
    if (!mapped.has(cp)) return undefined;
    return cp === CAPITAL_SIGMA ? sigmaAt(text, i) : lowerMap.get(cp)!;
  }

  const astralBlocks = new Uint8Array(0x400);
  for (const [cp] of record.lower) if (cp > 0xffff) astralBlocks[(cp - 0x10000) >> 10]! |= ASTRAL_LOWERS;
  for (const [start, end] of record.whitespace) {
    for (let cp = Math.max(start, 0x10000); cp <= end; cp += 0x400)
      astralBlocks[(cp - 0x10000) >> 10]! |= ASTRAL_SPACE;
    if (end > 0xffff) astralBlocks[(end - 0x10000) >> 10]! |= ASTRAL_SPACE;
  }

  function buildUnitLowerDelta(): Int32Array {
    const table = new Int32Array(0x10000);
    const notOneUnit = (unit: number): number => -1 - unit;
    for (const [cp, lowered] of record.lower) {
      if (cp <= 0xffff) table[cp] = lowered.length === 1 ? lowered.charCodeAt(0) - cp : notOneUnit(cp);
    }
    for (let unit = 0xd800; unit < 0xe000; unit++) table[unit] = notOneUnit(unit);
    table[CAPITAL_SIGMA] = notOneUnit(CAPITAL_SIGMA);
    return table;
  }

  return {
    lower,
    lowerAt,
    astralBlocks,
    get unitLowerDelta() {
      return buildUnitLowerDelta();
    },
    isSpace: (cp) => spaces.has(cp),
    spaceRanges: [...record.whitespace].sort((a, b) => a[0] - b[0]),
    source: `${record.source} (Unicode ${record.unicodeVersion})`,
  };
}
