import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePythonText, createTokenizer } from '../../runtime/tokenizer/index.ts';
import { expectSamePaths, fast, slow, spec } from '../helpers/tokenizer-paths.ts';

// Words from the vocabulary (so that lookups hit), their capitalised forms, and the characters the rules treat
// specially, joined without separators as often as with them.
const vocabWords = spec.vocab.slice(2, 400);
const asciiPiece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...vocabWords) },
  { weight: 2, arbitrary: fc.constantFrom(...vocabWords).map((w) => w.toUpperCase()) },
  { weight: 3, arbitrary: fc.constantFrom(...` \t\n'".,()!?;:<>/-$%0123456789`.split('')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('<br />', '<BR />', '<br/>', '<b"r />', '<br "/>', '"<br />"', '<<br />'),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }) },
);
const asciiText = fc.array(asciiPiece, { maxLength: 120 }).map((parts) => parts.join(''));

describe('the fast and slow encoding paths', () => {
  it('agree on ASCII-heavy text built from vocabulary words and the characters the rules treat specially', () => {
    fc.assert(
      fc.property(asciiText, (text) => expectSamePaths(text)),
      { seed: 12, numRuns: 1500 },
    );
  });

  it('agree on mixed text: vocabulary words between graphemes of any script', () => {
    const mixed = fc
      .array(fc.oneof(asciiPiece, fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 60 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(mixed, (text) => expectSamePaths(text)),
      { seed: 14, numRuns: 1000 },
    );
  });

  it('agree with left truncation and left padding, on texts longer and shorter than max_len', () => {
    for (const truncation of ['left', 'right'] as const) {
      for (const padding of ['left', 'right'] as const) {
        const preprocessing = { ...spec.preprocessing, truncation, padding };
        const a = createTokenizer({ ...spec, preprocessing });
        const b = createTokenizer({ ...spec, preprocessing }, { path: 'slow' });
        fc.assert(
          fc.property(
            fc.array(asciiPiece, { maxLength: 300 }).map((parts) => parts.join(' ')),
            (text) => expectSamePaths(text, a, b),
          ),
          { seed: 15, numRuns: 150 },
        );
      }
    }
  });

  it('keep each encoding intact when later encodings are made', () => {
    const first = fast.encode('Stocks rallied');
    const before = Array.from(first.ids);
    for (let i = 0; i < 500; i++) fast.encode(`the ${i} world , again`);
    expect(Array.from(first.ids)).toEqual(before);
    expect(first.ids.length).toBe(spec.preprocessing.maxLen);
  });

  it('give the same tokens, made on first access', () => {
    const text = 'ΟΔΟΣ İstanbul, "quoted"<br />end.';
    expect(fast.encode(text).tokens).toEqual(slow.encode(text).tokens);
    expect(fast.encode(text).tokens).toEqual(['οδος', 'i̇stanbul', ',', 'quoted', 'end', '.']);
  });
});

describe('the per-code-unit lowercase table (as offsets)', () => {
  it('matches str.lower() of every BMP code unit it covers, and covers every unit that lowers to one unit', () => {
    const python = compilePythonText(spec.normalization);
    const delta = python.unitLowerDelta;
    const wrong: number[] = [];
    for (let unit = 0; unit < 0x10000; unit++) {
      const isSurrogate = unit >= 0xd800 && unit <= 0xdfff;
      const lowered = isSurrogate ? undefined : python.lower(String.fromCharCode(unit));
      const expected =
        unit === 0x3a3 || lowered === undefined || lowered.length !== 1 ? -1 : lowered.charCodeAt(0);
      if (unit + delta[unit]! !== expected) wrong.push(unit);
    }
    expect(wrong).toEqual([]);
  });
});
