// The two encoding paths of news-bag's tokenizer (fast, and the exact slow path) and the check that they agree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Manifest, NormalizationRecord } from '../../runtime/bundle/manifest.ts';
import { createTokenizer, parseVocab, type TokenizerSpec } from '../../runtime/tokenizer/index.ts';
import type { Encoding, Tokenizer } from '../../runtime/types.ts';
import { bundleDir } from './bundle-copy.ts';

const dir = bundleDir('news-bag');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const normalization = JSON.parse(
  readFileSync(join(dir, manifest.preprocessing.normalization), 'utf8'),
) as NormalizationRecord;
export const spec: TokenizerSpec = {
  preprocessing: manifest.preprocessing,
  vocab: parseVocab(readFileSync(join(dir, manifest.preprocessing.vocab), 'utf8')),
  normalization,
};
export const fast = createTokenizer(spec);
export const slow = createTokenizer(spec, { path: 'slow' });

const plain = (e: Encoding) => ({
  ids: Array.from(e.ids),
  tokenCount: e.tokenCount,
  unknown: e.unknown,
  truncated: e.truncated,
});

/** Asserts that both paths give the same encoding, with the text in the message when they do not. */
export function expectSamePaths(text: string, a: Tokenizer = fast, b: Tokenizer = slow): void {
  expect({ text, ...plain(a.encode(text)) }).toEqual({ text, ...plain(b.encode(text)) });
}
