// fast-check's generator of any code point builds a table of them all on first use (seconds), so these are slow.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Manifest, NormalizationRecord } from '../../runtime/bundle/manifest.ts';
import { createTokenizer, parseVocab, type TokenizerSpec } from '../../runtime/tokenizer/index.ts';
import { adversarialStrings } from '../../bench/adversarial-texts.ts';
import type { Encoding, Tokenizer } from '../../runtime/types.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';

const dir = bundleDir('news-bag');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const normalization = JSON.parse(
  readFileSync(join(dir, manifest.preprocessing.normalization), 'utf8'),
) as NormalizationRecord;
const spec: TokenizerSpec = {
  preprocessing: manifest.preprocessing,
  vocab: parseVocab(readFileSync(join(dir, manifest.preprocessing.vocab), 'utf8')),
  normalization,
};
const fast = createTokenizer(spec);
const slow = createTokenizer(spec, { path: 'slow' });

const plain = (e: Encoding) => ({
  ids: Array.from(e.ids),
  tokenCount: e.tokenCount,
  unknown: e.unknown,
  truncated: e.truncated,
});

/** Asserts that both paths give the same encoding, with the text in the message when they do not. */
function expectSamePaths(text: string, a: Tokenizer = fast, b: Tokenizer = slow): void {
  expect({ text, ...plain(a.encode(text)) }).toEqual({ text, ...plain(b.encode(text)) });
}

describe('the fast and slow encoding paths', () => {
  it('agree on arbitrary strings of code points, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => expectSamePaths(text)),
      { seed: 13, numRuns: 3000 },
    );
  });

  it('agree on 3,000 strings of the adversarial generator', () => {
    for (const text of adversarialStrings(3000, 12)) expectSamePaths(text);
  });
});
