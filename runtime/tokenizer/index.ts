// Tokenizers that reproduce the training side id for id, built from a bundle's preprocessing config.
import type { Manifest, NormalizationRecord } from '../bundle/manifest.ts';
import { SUPPORTED_TOKENIZERS } from '../bundle/manifest.ts';
import { ShipshapeError } from '../errors.ts';
import type { Encoding, Tokenizer } from '../types.ts';
import { ASTRAL_LOWERS, ASTRAL_SPACE, compilePythonText, type PythonText } from './python-text.ts';

export { compilePythonText, type PythonText } from './python-text.ts';

/**
 * torchtext's basic_english (torchtext/data/utils.py): `line.lower()`, then in order `'` -> " '  ", `"` -> "",
 * `.` -> " . ", `<br />` -> " ", `,` `(` `)` `!` `?` -> " c ", `;` `:` -> " ", `\s+` -> " ", then `split()`.
 *
 * One scan over the lowered text gives exactly the result of those sequential substitutions:
 * - `"` is removed first, so a `<br />` spelled across removed quotes (`<b"r />`) is found, as in Python;
 * - no other rule can create or break a `<br />`: the pattern holds none of `'`, `.`, `,`, `(`, `)`, `!`, `?`,
 *   `;`, `:`, and their replacements add only spaces around the character itself;
 * - a character replaced by " c " is a token of its own; one replaced by " " is a separator, like whitespace.
 * The differential test in test/runtime/tokenizer.slow.test.ts checks this against Python on 10,000 strings.
 */
/** Token boundaries of one text: token i is `line.slice(starts[i], ends[i])`. Buffers are reused between calls. */
export interface TokenSpans {
  readonly line: string;
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

/** A plain character is 0. */
const SEPARATOR = 1;
const OWN_TOKEN = 2;
const BR_START = 3;

/** Builds the basic_english scanner for one interpreter's record. The spans it returns are valid until its next call. */
export function createBasicEnglish(python: PythonText): (text: string) => TokenSpans {
  const kinds = new Uint8Array(128);
  for (let cp = 0; cp < 128; cp++) if (python.isSpace(cp)) kinds[cp] = SEPARATOR;
  for (const c of "'.,()!?") kinds[c.charCodeAt(0)] = OWN_TOKEN;
  for (const c of ';:') kinds[c.charCodeAt(0)] = SEPARATOR;
  kinds['<'.charCodeAt(0)] = BR_START;
  let starts = new Int32Array(256);
  let ends = new Int32Array(256);

  return function scan(text: string): TokenSpans {
    let line = python.lower(text);
    if (line.includes('"')) line = line.replaceAll('"', '');
    const length = line.length;
    // A text of n code units has at most n tokens.
    if (starts.length < length) {
      starts = new Int32Array(length);
      ends = new Int32Array(length);
    }
    let count = 0;
    let start = -1;
    for (let i = 0; i < length; i++) {
      const unit = line.charCodeAt(i);
      let kind = 0;
      let width = 1;
      if (unit < 0x80) {
        kind = kinds[unit]!;
        if (kind === BR_START) {
          if (line.startsWith('<br />', i)) {
            kind = SEPARATOR;
            width = 6;
          } else kind = 0;
        }
      } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
        const low = line.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          width = 2;
          if (python.isSpace(((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000)) kind = SEPARATOR;
        }
      } else if (python.isSpace(unit)) kind = SEPARATOR;

      if (kind === 0) {
        if (start < 0) start = i;
      } else {
        if (start >= 0) {
          starts[count] = start;
          ends[count++] = i;
          start = -1;
        }
        if (kind === OWN_TOKEN) {
          starts[count] = i;
          ends[count++] = i + 1;
        }
      }
      i += width - 1;
    }
    if (start >= 0) {
      starts[count] = start;
      ends[count++] = length;
    }
    return { line, count, starts, ends };
  };
}

/** The tokens of a scan as strings. */
function spansToTokens(spans: TokenSpans): string[] {
  const tokens = new Array<string>(spans.count);
  for (let i = 0; i < spans.count; i++) tokens[i] = spans.line.slice(spans.starts[i], spans.ends[i]);
  return tokens;
}

/** FNV-1a over UTF-16 code units, as a signed 32-bit value; `hashStep` folds in one more unit. */
const FNV_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function hashOf(text: string, start: number, end: number): number {
  let h = FNV_BASIS;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

/**
 * Token -> id without making a string per token: open addressing over an FNV-1a hash of the UTF-16 code units,
 * each hit confirmed by comparing the characters. Typed arrays only (slot ids, slot hashes, the tokens' code units
 * end to end), so a vocabulary of millions of lines costs a fraction of a Map of strings.
 */
interface VocabIndex {
  /** The id of `line.slice(start, end)`, or -1. */
  lookup(line: string, start: number, end: number): number;
  /** The id of the token held in `units[start..end)` whose hash is `hash`, or -1. */
  find(units: Uint16Array, start: number, end: number, hash: number): number;
}

/** The index `parseVocab` built while checking for duplicates, so `createTokenizer` does not build a second one. */
const builtIndexes = new WeakMap<readonly string[], VocabIndex>();

/** @throws ShipshapeError VOCAB_INVALID naming both lines of a duplicate token. */
function createVocabIndex(vocab: readonly string[], file = 'vocab.txt'): VocabIndex {
  let size = 16;
  while (size < vocab.length * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  const hashes = new Int32Array(size);
  const offsets = new Int32Array(vocab.length + 1);
  let total = 0;
  vocab.forEach((token, id) => {
    offsets[id] = total;
    total += token.length;
  });
  offsets[vocab.length] = total;
  const pool = new Uint16Array(total);
  vocab.forEach((token, id) => {
    const from = offsets[id]!;
    for (let i = 0; i < token.length; i++) pool[from + i] = token.charCodeAt(i);
    const h = hashOf(token, 0, token.length);
    let at = h & mask;
    for (let other = slots[at]!; other !== -1; at = (at + 1) & mask, other = slots[at]!) {
      if (vocab[other] === token) {
        throw new ShipshapeError(
          'VOCAB_INVALID',
          `${file} has duplicate entry ${JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token)} on lines ` +
            `${other + 1} and ${id + 1}; ids must be unique.`,
          { subject: file },
        );
      }
    }
    slots[at] = id;
    hashes[at] = h;
  });
  return {
    lookup(line, start, end) {
      const length = end - start;
      let at = hashOf(line, start, end) & mask;
      for (let id = slots[at]!; id !== -1; at = (at + 1) & mask, id = slots[at]!) {
        const token = vocab[id]!;
        if (token.length !== length) continue;
        let same = true;
        for (let i = 0; i < length && same; i++) same = token.charCodeAt(i) === line.charCodeAt(start + i);
        if (same) return id;
      }
      return -1;
    },
    find(units, start, end, hash) {
      const length = end - start;
      let at = hash & mask;
      for (let id = slots[at]!; id !== -1; at = (at + 1) & mask, id = slots[at]!) {
        if (hashes[at] !== hash) continue;
        const from = offsets[id]!;
        if (offsets[id + 1]! - from !== length) continue;
        let i = 0;
        while (i < length && pool[from + i] === units[start + i]) i++;
        if (i === length) return id;
      }
      return -1;
    },
  };
}

/** What a fast scan leaves behind: the ids of all tokens (before truncation) and how many were unknown. */
interface ScannedIds {
  count: number;
  unknown: number;
  /** Valid up to `count`; reused between calls. */
  ids: Int32Array;
}

const HIGH_SURROGATE = 4;
/** What the scanner's lowering table gives a code unit the fast scan drops (`"`, which basic_english removes). */
const DROPPED = -2;

/**
 * The same rules as `createBasicEnglish`, folded with the vocabulary lookup so that no string is made: one pass
 * lowers the text into a buffer of UTF-16 code units (a table for the units whose `str.lower()` is one unit,
 * `PythonText.lowerAt` for the rest: surrogate pairs, U+03A3 in its context, İ and the other multi-unit cases) and
 * drops `"`; a second pass over the buffer splits it exactly as `createBasicEnglish` splits the lowered line,
 * hashing each token's units as it goes, and looks each token up as it ends. It covers every string: the buffer
 * holds exactly the line `createBasicEnglish` scans, so the two agree by construction (tested on generated strings
 * in test/runtime/tokenizer-paths.test.ts and against Python in test/runtime/tokenizer.slow.test.ts).
 */
function createIdScanner(python: PythonText, index: VocabIndex, unkId: number): (text: string) => ScannedIds {
  // `unit + lowered[unit]`: the unit it lowers to, -1 (see lowerAt) or DROPPED.
  const lowered = python.unitLowerDelta;
  const { astralBlocks } = python;
  const QUOTE = '"'.charCodeAt(0);
  lowered[QUOTE] = DROPPED - QUOTE;
  const kinds = new Uint8Array(0x10000);
  for (const [start, end] of python.spaceRanges) {
    if (start <= 0xffff) kinds.fill(SEPARATOR, start, Math.min(end, 0xffff) + 1);
  }
  for (const c of "'.,()!?") kinds[c.charCodeAt(0)] = OWN_TOKEN;
  for (const c of ';:') kinds[c.charCodeAt(0)] = SEPARATOR;
  kinds['<'.charCodeAt(0)] = BR_START;
  for (let unit = 0xd800; unit <= 0xdbff; unit++) kinds[unit] = HIGH_SURROGATE;
  const br = Array.from('<br />', (c) => c.charCodeAt(0));
  const [B, R, SPACE, SLASH, CLOSE] = br.slice(1) as [number, number, number, number, number];

  let units = new Uint16Array(1024);
  const result: ScannedIds = { count: 0, unknown: 0, ids: new Int32Array(1024) };

  /** Lowers `text` into `units` without `"`; returns how many units it wrote. */
  function lowerInto(text: string): number {
    const length = text.length;
    // The table and an unchanged pair write no more units than they read; only lowerAt's replacements can be longer,
    // and that branch grows the buffer.
    if (units.length < length) units = new Uint16Array(length * 2);
    let buffer = units;
    const table = lowered;
    let n = 0;
    for (let i = 0; i < length; i++) {
      const unit = text.charCodeAt(i);
      const low = unit + table[unit]!;
      if (low >= 0) buffer[n++] = low;
      else if (low === -1) {
        if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
          // A surrogate pair none of whose block lowers (emoji, most scripts) passes unchanged.
          const next = text.charCodeAt(i + 1);
          if ((next & 0xfc00) === 0xdc00 && (astralBlocks[unit - 0xd800]! & ASTRAL_LOWERS) === 0) {
            buffer[n++] = unit;
            buffer[n++] = next;
            i++;
            continue;
          }
        }
        const wide =
          unit >= 0xd800 && unit <= 0xdbff && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
        const replaced = python.lowerAt(text, i);
        const width = wide ? 2 : 1;
        const needed = n + (replaced === undefined ? width : replaced.length) + (length - i);
        if (buffer.length < needed) {
          const grown = new Uint16Array(needed * 2);
          grown.set(buffer.subarray(0, n));
          units = buffer = grown;
        }
        if (replaced === undefined) {
          buffer[n++] = unit;
          if (wide) buffer[n++] = text.charCodeAt(i + 1);
        } else {
          for (let k = 0; k < replaced.length; k++) {
            const c = replaced.charCodeAt(k);
            if (c + lowered[c]! !== DROPPED) buffer[n++] = c;
          }
        }
        i += width - 1;
      }
    }
    return n;
  }

  return function scanIds(text: string): ScannedIds {
    const n = lowerInto(text);
    const buffer = units;
    // A text of n code units has at most n tokens.
    if (result.ids.length < n) result.ids = new Int32Array(n);
    const ids = result.ids;
    const table = kinds;
    let count = 0;
    let unknown = 0;
    let id = 0;
    let start = -1;
    let hash = 0;
    for (let i = 0; i < n; i++) {
      const unit = buffer[i]!;
      let kind = table[unit]!;
      let width = 1;
      if (kind === BR_START) {
        if (
          i + 5 < n &&
          buffer[i + 1] === B &&
          buffer[i + 2] === R &&
          buffer[i + 3] === SPACE &&
          buffer[i + 4] === SLASH &&
          buffer[i + 5] === CLOSE
        ) {
          kind = SEPARATOR;
          width = 6;
        } else kind = 0;
      } else if (kind === HIGH_SURROGATE) {
        kind = 0;
        if (i + 1 < n) {
          const next = buffer[i + 1]!;
          if ((next & 0xfc00) === 0xdc00) {
            width = 2;
            if (
              (astralBlocks[unit - 0xd800]! & ASTRAL_SPACE) !== 0 &&
              python.isSpace(((unit - 0xd800) << 10) + (next - 0xdc00) + 0x10000)
            )
              kind = SEPARATOR;
          }
        } else if (python.isSpace(unit)) kind = SEPARATOR;
      }

      if (kind === 0) {
        if (start < 0) {
          start = i;
          hash = FNV_BASIS;
        }
        hash = Math.imul(hash ^ unit, FNV_PRIME);
        if (width === 2) hash = Math.imul(hash ^ buffer[++i]!, FNV_PRIME);
        continue;
      }
      if (start >= 0) {
        id = index.find(buffer, start, i, hash);
        ids[count++] = id < 0 ? (unknown++, unkId) : id;
        start = -1;
      }
      if (kind === OWN_TOKEN) {
        id = index.find(buffer, i, i + 1, Math.imul(FNV_BASIS ^ unit, FNV_PRIME));
        ids[count++] = id < 0 ? (unknown++, unkId) : id;
      }
      i += width - 1;
    }
    if (start >= 0) {
      id = index.find(buffer, start, n, hash);
      ids[count++] = id < 0 ? (unknown++, unkId) : id;
    }
    result.count = count;
    result.unknown = unknown;
    return result;
  };
}

/**
 * Parses vocab.txt: one token per line, "\n" line ends (the last line ends with "\n" too), line number = id.
 * Throws VOCAB_INVALID naming the line of an empty or duplicate entry.
 */
export function parseVocab(text: string, file = 'vocab.txt'): string[] {
  if (text.length === 0) throw new ShipshapeError('VOCAB_INVALID', `${file} is empty.`, { subject: file });
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const tokens = body.split('\n');
  tokens.forEach((token, id) => {
    if (token.length === 0) {
      throw new ShipshapeError('VOCAB_INVALID', `${file} line ${id + 1} is empty; every id needs a token.`, {
        subject: file,
      });
    }
  });
  builtIndexes.set(tokens, createVocabIndex(tokens, file));
  return tokens;
}

export interface TokenizerOptions {
  /**
   * How `encode` finds the ids. "fast" (the default): one scan that lowers, splits and looks tokens up without
   * making strings. "slow": the reference path, which lowers the whole text, scans it for token spans, then looks
   * each span up. Both give the same encoding for every string; "slow" exists to check and measure that.
   */
  readonly path?: 'fast' | 'slow';
}

export interface TokenizerSpec {
  readonly preprocessing: Manifest['preprocessing'];
  readonly vocab: readonly string[];
  readonly normalization: NormalizationRecord;
}

/** An encoding whose token strings are made on first access: serving needs the counts, not the tokens. */
class LazyEncoding implements Encoding {
  #tokens: string[] | undefined;
  readonly #text: string;
  readonly #tokenize: (text: string) => string[];

  constructor(
    readonly ids: Int32Array,
    readonly tokenCount: number,
    readonly unknown: number,
    readonly truncated: boolean,
    text: string,
    tokenize: (text: string) => string[],
  ) {
    this.#text = text;
    this.#tokenize = tokenize;
  }

  get tokens(): string[] {
    return (this.#tokens ??= this.#tokenize(this.#text));
  }
}

/**
 * Builds the tokenizer a manifest asks for. Throws TOKENIZER_UNSUPPORTED for an unknown tokenizer name and
 * PREPROCESSING_MISMATCH when the special tokens disagree with the vocabulary.
 */
export function createTokenizer(
  { preprocessing, vocab, normalization }: TokenizerSpec,
  options: TokenizerOptions = {},
): Tokenizer {
  const name = preprocessing.tokenizer;
  if (!(SUPPORTED_TOKENIZERS as readonly string[]).includes(name)) {
    throw new ShipshapeError(
      'TOKENIZER_UNSUPPORTED',
      `Unsupported tokenizer "${name}". Should be one of: ${SUPPORTED_TOKENIZERS.join(', ')}.`,
      { subject: 'manifest.json' },
    );
  }
  if (!preprocessing.lowercase) {
    throw new ShipshapeError(
      'PREPROCESSING_MISMATCH',
      'basic_english always lowercases, but preprocessing.lowercase is false in manifest.json.',
      { subject: 'manifest.json' },
    );
  }
  const { unk, pad } = preprocessing.specialTokens;
  for (const [role, special] of [
    ['unk', unk],
    ['pad', pad],
  ] as const) {
    if (vocab[special.id] !== special.token) {
      throw new ShipshapeError(
        'PREPROCESSING_MISMATCH',
        `Special token ${role} is ${JSON.stringify(special.token)} with id ${special.id} in manifest.json, but ` +
          `${preprocessing.vocab} has ${JSON.stringify(vocab[special.id] ?? null)} at that id.`,
        { subject: preprocessing.vocab },
      );
    }
  }

  const python = compilePythonText(normalization);
  const scan = createBasicEnglish(python);
  const index = builtIndexes.get(vocab) ?? createVocabIndex(vocab, preprocessing.vocab);
  const { maxLen } = preprocessing;
  const keepLeft = preprocessing.truncation === 'right';
  const padRight = preprocessing.padding === 'right';
  const unkId = unk.id;
  const padId = pad.id;

  function tokenize(text: string): string[] {
    return spansToTokens(scan(text));
  }

  // Each encoding's ids are a view on a shared slab, pre-filled with the pad id: one typed-array allocation per ~56
  // texts instead of one per text (each of which costs an ArrayBuffer). A kept encoding keeps its 16 KiB slab alive.
  const slabLength = Math.max(maxLen, 4096);
  let slab = new Int32Array(0);
  let slabAt = 0;

  /** Truncates and pads the ids of all `count` tokens of a text into its `maxLen` ids. */
  function place(all: Int32Array, count: number): Int32Array {
    if (slabAt + maxLen > slab.length) {
      slab = new Int32Array(slabLength);
      if (padId !== 0) slab.fill(padId);
      slabAt = 0;
    }
    const out = new Int32Array(slab.buffer, slabAt * 4, maxLen);
    slabAt += maxLen;
    const keptCount = count < maxLen ? count : maxLen;
    // Which tokens survive truncation, and where they land after padding.
    const first = keepLeft ? 0 : count - keptCount;
    const offset = padRight ? 0 : maxLen - keptCount;
    for (let i = 0; i < keptCount; i++) out[offset + i] = all[first + i]!;
    return out;
  }

  const encoding = (text: string, ids: Int32Array, count: number, unknown: number): Encoding =>
    new LazyEncoding(ids, count, unknown, count > maxLen, text, tokenize);

  let slowIds = new Int32Array(256);
  function encodeSlow(text: string): Encoding {
    const { line, count, starts, ends } = scan(text);
    if (slowIds.length < count) slowIds = new Int32Array(count);
    let unknown = 0;
    for (let i = 0; i < count; i++) {
      let id = index.lookup(line, starts[i]!, ends[i]!);
      if (id < 0) {
        unknown++;
        id = unkId;
      }
      slowIds[i] = id;
    }
    return encoding(text, place(slowIds, count), count, unknown);
  }

  const scanIds = options.path === 'slow' ? undefined : createIdScanner(python, index, unkId);
  function encodeFast(text: string): Encoding {
    const { ids, count, unknown } = scanIds!(text);
    return encoding(text, place(ids, count), count, unknown);
  }

  const encode = options.path === 'slow' ? encodeSlow : encodeFast;
  return { name, maxLen, unkId, padId, vocabSize: vocab.length, tokenize, encode };
}
