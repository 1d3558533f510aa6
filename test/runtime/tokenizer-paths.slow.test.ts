// fast-check's generator of any code point builds a table of them all on first use (seconds), so these are slow.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { adversarialStrings } from '../../bench/adversarial-texts.ts';
import { expectSamePaths } from '../helpers/tokenizer-paths.ts';

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
