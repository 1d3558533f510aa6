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
 * The differential test in test/runtime/tokenizer.test.ts checks this against Python on 10,000 strings.
 */
export function createBasicEnglish(python: PythonText): (text: string) => string[] {
  const kinds = new Uint8Array(128);
  for (let cp = 0; cp < 128; cp++) if (python.isSpace(cp)) kinds[cp] = SEPARATOR;
  for (const c of "'.,()!?") kinds[c.charCodeAt(0)] = OWN_TOKEN;
  for (const c of ';:') kinds[c.charCodeAt(0)] = SEPARATOR;
  kinds['<'.charCodeAt(0)] = BR_START;
  return (text) => basicEnglishTokens(text, python, kinds);
}

function basicEnglishTokens(text: string, python: PythonText, kinds: Uint8Array): string[] {
  let line = python.lower(text);
  if (line.includes('"')) line = line.replaceAll('"', '');
  const tokens: string[] = [];
  const length = line.length;
  let start = -1;
  for (let i = 0; i < length; i++) {
    const unit = line.charCodeAt(i);
    let kind: 'char' | 'separator' | 'token' = 'char';
    let width = 1;
    if (unit < 0x80) {
      const k = kinds[unit]!;
      if (k === BR_START && line.startsWith('<br />', i)) {
        kind = 'separator';
        width = 6;
      } else if (k === SEPARATOR) kind = 'separator';
      else if (k === OWN_TOKEN) kind = 'token';
    } else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
      const low = line.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        if (python.isSpace(((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000)) kind = 'separator';
        width = 2;
      }
    } else if (python.isSpace(unit)) kind = 'separator';

    if (kind === 'char') {
      if (start < 0) start = i;
    } else {
      if (start >= 0) tokens.push(line.slice(start, i));
      start = -1;
      if (kind === 'token') tokens.push(line[i]!);
    }
    i += width - 1;
  }
  if (start >= 0) tokens.push(line.slice(start));
  return tokens;
}

/** What an ASCII character is to basic_english (a plain character is 0). */
const SEPARATOR = 1;
const OWN_TOKEN = 2;
const BR_START = 3;

/**
 * Parses vocab.txt: one token per line, "\n" line ends (the last line ends with "\n" too), line number = id.
 * Throws VOCAB_INVALID naming the line of an empty or duplicate entry.
 */
export function parseVocab(text: string, file = 'vocab.txt'): string[] {
  if (text.length === 0) throw new ShipshapeError('VOCAB_INVALID', `${file} is empty.`, { subject: file });
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const tokens = body.split('\n');
  const seen = new Map<string, number>();
  tokens.forEach((token, id) => {
    if (token.length === 0) {
      throw new ShipshapeError('VOCAB_INVALID', `${file} line ${id + 1} is empty; every id needs a token.`, {
        subject: file,
      });
    }
    const first = seen.get(token);
    if (first !== undefined) {
      throw new ShipshapeError(
        'VOCAB_INVALID',
        `${file} has duplicate entry ${JSON.stringify(token)} on lines ${first + 1} and ${id + 1}; ids must be unique.`,
        { subject: file },
      );
    }
    seen.set(token, id);
  });
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
  const ids = new Map<string, number>();
  vocab.forEach((token, id) => ids.set(token, id));
  const { maxLen } = preprocessing;
  const keepLeft = preprocessing.truncation === 'right';
  const padRight = preprocessing.padding === 'right';

  const tokenize = createBasicEnglish(python);

  const unkId = unk.id;
  const padId = pad.id;

  function encode(text: string): Encoding {
    const tokens = tokenize(text);
    const count = tokens.length;
    const keptCount = Math.min(count, maxLen);
    // Which tokens survive truncation, and where they land after padding.
    const first = keepLeft ? 0 : count - keptCount;
    const offset = padRight ? 0 : maxLen - keptCount;
    const out = new Int32Array(maxLen);
    if (padId !== 0) out.fill(padId);
    let unknown = 0;
    for (let i = 0; i < count; i++) {
      let id = ids.get(tokens[i]!);
      if (id === undefined) {
        unknown++;
        id = unkId;
      }
      const at = i - first;
      if (at >= 0 && at < keptCount) out[offset + at] = id;
    }
    return { ids: out, tokens, unknown, truncated: count > maxLen };
  }

  return { name, maxLen, unkId, padId, vocabSize: vocab.length, tokenize, encode };
}
