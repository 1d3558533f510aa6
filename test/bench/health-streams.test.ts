// The drift bench's text streams: seeded, and each one is the shift it claims to be, measured with news-bag's own
// tokenizer and vocabulary (the corpus texts come from the real training generator on Debian's Python).
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, type Bundle } from '../../runtime/node.ts';
import {
  buildStreams,
  corpusTexts,
  longTexts,
  oovHeavyTexts,
  otherLanguageTexts,
  STREAM_NAMES,
  type StreamText,
} from '../../bench/health/streams.ts';
import { foreignWords, LANGUAGES, TOPICS } from '../../bench/health/languages.ts';

const BAG = join(import.meta.dirname, '../../artifacts/news-bag');

let bundle: Bundle;
let base: StreamText[];
beforeAll(async () => {
  bundle = await loadBundle(BAG);
  base = await corpusTexts({ count: 400, seed: 11 });
});

/** Unknown tokens over all tokens of `texts`, with news-bag's vocabulary. */
function oovRate(texts: readonly StreamText[]): number {
  let tokens = 0;
  let unknown = 0;
  for (const { text } of texts) {
    const encoding = bundle.tokenizer.encode(text);
    tokens += encoding.tokenCount;
    unknown += encoding.unknown;
  }
  return unknown / tokens;
}

const share = (texts: readonly StreamText[], label: string) =>
  texts.filter((t) => t.label === label).length / texts.length;

describe('corpusTexts', () => {
  it('gives the same texts for the same seed', async () => {
    expect(await corpusTexts({ count: 400, seed: 11 })).toEqual(base);
  });

  it('gives other texts for another seed', async () => {
    const other = await corpusTexts({ count: 400, seed: 12 });
    const same = other.filter((t, i) => t.text === base[i]!.text).length;
    expect(same).toBeLessThan(10);
  });

  it('balances the labels without a mix', () => {
    for (const label of TOPICS) expect(share(base, label)).toBe(0.25);
  });

  it('gives Sports 80% of the texts with mix Sports=0.8', async () => {
    const texts = await corpusTexts({ count: 1000, seed: 13, mix: { Sports: 0.8 } });
    expect(texts).toHaveLength(1000);
    expect(share(texts, 'Sports')).toBeCloseTo(0.8, 2);
    expect(share(texts, 'World')).toBeCloseTo(0.067, 2);
  });

  it('keeps the OOV rate of the training corpus (news-bag reports 0.022 on its test split)', () => {
    expect(oovRate(base)).toBeGreaterThan(0.01);
    expect(oovRate(base)).toBeLessThan(0.04);
  });

  it("refuses the training corpus's seed with the reason", async () => {
    await expect(corpusTexts({ count: 4, seed: 20261126 })).rejects.toThrow(/training corpus's seed/);
  });
});

describe('otherLanguageTexts', () => {
  it('gives the same texts for the same seed', () => {
    expect(otherLanguageTexts(50, 5)).toEqual(otherLanguageTexts(50, 5));
  });

  it('mostly consists of words unknown to the English vocabulary', () => {
    expect(oovRate(otherLanguageTexts(300, 5))).toBeGreaterThan(0.5);
  });

  it('writes German, French and Spanish', () => {
    const all = otherLanguageTexts(300, 5)
      .map((t) => t.text)
      .join(' ');
    expect(all).toMatch(/\b(der|die|das|und)\b/);
    expect(all).toMatch(/\b(le|les|des|une?)\b/);
    expect(all).toMatch(/\b(el|los|las|por)\b/);
  });

  it('draws on about 200 words per language', () => {
    for (const language of LANGUAGES) {
      expect(foreignWords(language).size).toBeGreaterThan(150);
      expect(foreignWords(language).size).toBeLessThan(250);
    }
  });

  it('balances the topics', () => {
    const texts = otherLanguageTexts(400, 5);
    for (const label of TOPICS) expect(share(texts, label)).toBe(0.25);
  });
});

describe('oovHeavyTexts', () => {
  it('gives the same texts for the same seed', () => {
    expect(oovHeavyTexts(base, 3)).toEqual(oovHeavyTexts(base, 3));
  });

  it('raises the OOV rate far above the corpus rate', () => {
    expect(oovRate(oovHeavyTexts(base, 3))).toBeGreaterThan(0.15);
  });

  it('keeps each text its label and its number of words', () => {
    const garbled = oovHeavyTexts(base, 3);
    garbled.forEach((t, i) => {
      expect(t.label).toBe(base[i]!.label);
      expect(t.text.split(' ')).toHaveLength(base[i]!.text.split(' ').length);
    });
  });
});

describe('longTexts', () => {
  const count = (text: string) => bundle.tokenizer.encode(text).tokenCount;

  it('makes every text longer than the 72 tokens the models read', () => {
    const texts = longTexts(base, 100, 4, count);
    expect(Math.min(...texts.map((t) => count(t.text)))).toBeGreaterThan(bundle.tokenizer.maxLen);
  });

  it('makes texts of 150 tokens or more, at most 400 unless one corpus text is longer', () => {
    const lengths = longTexts(base, 100, 4, count).map((t) => count(t.text));
    expect(Math.min(...lengths)).toBeGreaterThanOrEqual(150);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(400 + Math.max(...base.map((t) => count(t.text))));
  });

  it('joins texts of one label only, and keeps the label mix of the pool', () => {
    const texts = longTexts(base, 200, 4, count);
    const pieces = new Map(base.map((t) => [t.text, t.label]));
    for (const t of texts.slice(0, 20)) {
      const first = [...pieces.keys()].find((p) => t.text.startsWith(p));
      expect(pieces.get(first!)).toBe(t.label);
    }
    for (const label of TOPICS) expect(share(texts, label)).toBeCloseTo(share(base.slice(0, 200), label), 5);
  });

  it('gives the same texts for the same seed', () => {
    expect(longTexts(base, 20, 4, count)).toEqual(longTexts(base, 20, 4, count));
  });
});

describe('buildStreams', () => {
  it('builds the five streams at the sizes asked, with the in-distribution stream expecting no alert', async () => {
    const streams = await buildStreams((t) => bundle.tokenizer.encode(t).tokenCount, {
      inDistribution: 200,
      shifted: 100,
      seed: 7,
    });
    expect(streams.map((s) => s.name)).toEqual([...STREAM_NAMES]);
    expect(streams.map((s) => s.texts.length)).toEqual([200, 100, 100, 100, 100]);
    expect(streams[0]!.expected).toEqual([]);
    expect(streams.slice(1).every((s) => s.expected.length > 0)).toBe(true);
  });
});
