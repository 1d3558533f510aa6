// CPython's str.lower() and str.split() replayed from the training interpreter's recorded tables.
//
// Why not toLowerCase() and /\s/: they follow the JavaScript engine's Unicode version, not the training
// interpreter's, and they differ from Python even on one version: Python's isspace() includes U+001C..U+001F and
// U+0085 and excludes U+FEFF, unlike JavaScript's \s. So the exporter records what Python did
// (normalization.json, docs/bundle-format.md) and this module applies exactly that record.
import type { NormalizationRecord } from '../bundle/manifest.ts';

const CAPITAL_SIGMA = 0x3a3;
const SMALL_SIGMA = 'σ';
const FINAL_SIGMA = 'ς';

type Ranges = readonly (readonly [number, number])[];

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

function rangesToRegExpClass(ranges: Ranges): string {
  const hex = (cp: number) => `\\u{${cp.toString(16)}}`;
  return ranges.map(([start, end]) => (start === end ? hex(start) : `${hex(start)}-${hex(end)}`)).join('');
}

/** Python's text semantics of one training interpreter, compiled from its normalization record. */
export interface PythonText {
  /** `str.lower()`, Final_Sigma included. */
  lower(text: string): string;
  /** `str.split()` with no arguments: split on runs of `isspace()`, drop empty parts. */
  split(text: string): string[];
  /** The interpreter the record came from, e.g. "CPython 3.11.2 (Unicode 14.0.0)". */
  readonly source: string;
}

export function compilePythonText(record: NormalizationRecord): PythonText {
  const lowerMap = new Map<number, string>();
  for (const [cp, lowered] of record.lower) lowerMap.set(cp, lowered);
  const ascii: string[] = [];
  for (let cp = 0; cp < 0x80; cp++) ascii.push(lowerMap.get(cp) ?? String.fromCharCode(cp));

  const caseIgnorable = new CodePointSet(record.finalSigma.caseIgnorable);
  const cased = new CodePointSet(record.finalSigma.cased);
  const whitespace = new RegExp(`[${rangesToRegExpClass(record.whitespace)}]+`, 'u');

  /** CPython's handle_capital_sigma (Objects/unicodeobject.c), on the original code points. */
  function sigmaAt(cps: readonly number[], i: number): string {
    let j = i - 1;
    while (j >= 0 && caseIgnorable.has(cps[j]!)) j--;
    let final = j >= 0 && cased.has(cps[j]!);
    if (final && i + 1 < cps.length) {
      j = i + 1;
      while (j < cps.length && caseIgnorable.has(cps[j]!)) j++;
      final = j === cps.length || !cased.has(cps[j]!);
    }
    return final ? FINAL_SIGMA : SMALL_SIGMA;
  }

  function lower(text: string): string {
    // Iterating a string by code point keeps lone surrogates as single code points, as Python does.
    if (!text.includes('Σ')) {
      let out = '';
      for (const ch of text) {
        const cp = ch.codePointAt(0)!;
        out += cp < 0x80 ? ascii[cp]! : (lowerMap.get(cp) ?? ch);
      }
      return out;
    }
    const cps = Array.from(text, (ch) => ch.codePointAt(0)!);
    let out = '';
    for (let i = 0; i < cps.length; i++) {
      const cp = cps[i]!;
      if (cp === CAPITAL_SIGMA) out += sigmaAt(cps, i);
      else out += cp < 0x80 ? ascii[cp]! : (lowerMap.get(cp) ?? String.fromCodePoint(cp));
    }
    return out;
  }

  function split(text: string): string[] {
    return text.split(whitespace).filter((part) => part.length > 0);
  }

  return { lower, split, source: `${record.source} (Unicode ${record.unicodeVersion})` };
}
