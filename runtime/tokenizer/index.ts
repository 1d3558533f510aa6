// Tokenizers that reproduce the training side id for id, built from a bundle's preprocessing config.
import type { Manifest, NormalizationRecord } from '../bundle/manifest.ts';
import { SUPPORTED_TOKENIZERS } from '../bundle/manifest.ts';
import { ShipshapeError } from '../errors.ts';
import type { Encoding, Tokenizer } from '../types.ts';
import { compilePythonText, type PythonText } from './python-text.ts';

export { compilePythonText, type PythonText } from './python-text.ts';

/**
 * torchtext's basic_english rules after lower(), in order (torchtext/data/utils.py, `_patterns` and
 * `_replacements`). Sequential literal replace-alls are exactly its sequential `re.sub` calls: each pattern is a
 * literal, and e.g. removing `"` first is what lets `<b"r />` become `<br />` for the next rule, in both.
 */
const BASIC_ENGLISH_RULES: readonly (readonly [string, string])[] = [
  ["'", " '  "],
  ['"', ''],
  ['.', ' . '],
  ['<br />', ' '],
  [',', ' , '],
  ['(', ' ( '],
  [')', ' ) '],
  ['!', ' ! '],
  ['?', ' ? '],
  [';', ' '],
  [':', ' '],
];
// The last rule, `\s+` -> ' ', is folded into the final split on the same whitespace set.

export function basicEnglishTokens(text: string, python: PythonText): string[] {
  let line = python.lower(text);
  for (const [pattern, replacement] of BASIC_ENGLISH_RULES) {
    if (line.includes(pattern)) line = line.replaceAll(pattern, replacement);
  }
  return python.split(line);
}

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

  function tokenize(text: string): string[] {
    return basicEnglishTokens(text, python);
  }

  function encode(text: string): Encoding {
    const tokens = tokenize(text);
    const kept =
      tokens.length <= maxLen ? tokens : keepLeft ? tokens.slice(0, maxLen) : tokens.slice(-maxLen);
    const out = new Int32Array(maxLen).fill(pad.id);
    const offset = padRight ? 0 : maxLen - kept.length;
    let unknown = 0;
    for (const token of tokens) if (!ids.has(token)) unknown++;
    kept.forEach((token, i) => {
      out[offset + i] = ids.get(token) ?? unk.id;
    });
    return { ids: out, tokens, unknown, truncated: tokens.length > maxLen };
  }

  return { name, maxLen, unkId: unk.id, padId: pad.id, vocabSize: vocab.length, tokenize, encode };
}
