// Tokenizers that reproduce the training side id for id, built from a bundle's preprocessing config.
import type { Manifest, NormalizationRecord } from '../bundle/manifest.ts';
import { SUPPORTED_TOKENIZERS } from '../bundle/manifest.ts';
import { ShipshapeError } from '../errors.ts';
import type { Encoding, Tokenizer } from '../types.ts';
import { compilePythonText, type PythonText } from './python-text.ts';

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

type VocabIndex = (line: string, start: number, end: number) => number;

/** The index `parseVocab` built while checking for duplicates, so `createTokenizer` does not build a second one. */
const builtIndexes = new WeakMap<readonly string[], VocabIndex>();

/**
 * Token -> id without making a string per token: open addressing over an FNV-1a hash of the UTF-16 code units,
 * each hit confirmed by comparing the characters. One Int32Array, so a vocabulary of millions of lines costs a
 * fraction of a Map of strings.
 * @throws ShipshapeError VOCAB_INVALID naming both lines of a duplicate token.
 */
function createVocabIndex(vocab: readonly string[], file = 'vocab.txt'): VocabIndex {
  const hash = (text: string, start: number, end: number): number => {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h >>> 0;
  };
  let size = 16;
  while (size < vocab.length * 2) size *= 2;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  vocab.forEach((token, id) => {
    let at = hash(token, 0, token.length) & mask;
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
  });
  return (line, start, end) => {
    const length = end - start;
    let at = hash(line, start, end) & mask;
    for (let id = slots[at]!; id !== -1; at = (at + 1) & mask, id = slots[at]!) {
      const token = vocab[id]!;
      if (token.length !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = token.charCodeAt(i) === line.charCodeAt(start + i);
      if (same) return id;
    }
    return -1;
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

export interface TokenizerSpec {
  readonly preprocessing: Manifest['preprocessing'];
  readonly vocab: readonly string[];
  readonly normalization: NormalizationRecord;
}

/**
 * Builds the tokenizer a manifest asks for. Throws TOKENIZER_UNSUPPORTED for an unknown tokenizer name and
 * PREPROCESSING_MISMATCH when the special tokens disagree with the vocabulary.
 */
export function createTokenizer({ preprocessing, vocab, normalization }: TokenizerSpec): Tokenizer {
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
  const lookup = builtIndexes.get(vocab) ?? createVocabIndex(vocab, preprocessing.vocab);
  const { maxLen } = preprocessing;
  const keepLeft = preprocessing.truncation === 'right';
  const padRight = preprocessing.padding === 'right';
  const unkId = unk.id;
  const padId = pad.id;

  function tokenize(text: string): string[] {
    return spansToTokens(scan(text));
  }

  function encode(text: string): Encoding {
    const spans = scan(text);
    const { line, count, starts, ends } = spans;
    const keptCount = Math.min(count, maxLen);
    // Which tokens survive truncation, and where they land after padding.
    const first = keepLeft ? 0 : count - keptCount;
    const offset = padRight ? 0 : maxLen - keptCount;
    const out = new Int32Array(maxLen);
    if (padId !== 0) out.fill(padId);
    let unknown = 0;
    for (let i = 0; i < count; i++) {
      let id = lookup(line, starts[i]!, ends[i]!);
      if (id < 0) {
        unknown++;
        id = unkId;
      }
      const at = i - first;
      if (at >= 0 && at < keptCount) out[offset + at] = id;
    }
    let tokens: string[] | undefined;
    return {
      ids: out,
      tokenCount: count,
      unknown,
      truncated: count > maxLen,
      // Strings only when asked for: serving needs the counts, not the tokens.
      get tokens() {
        return (tokens ??= tokenize(text));
      },
    };
  }

  return { name, maxLen, unkId, padId, vocabSize: vocab.length, tokenize, encode };
}
