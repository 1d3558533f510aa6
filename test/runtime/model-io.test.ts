// Packing encodings into feeds: fixed-length graphs get maxLen columns, dynamic ones the run's padded length.
import { describe, expect, it } from 'vitest';
import { feedsFor, resolveModelIo, type ModelIo } from '../../runtime/model-io.ts';
import { loadBundle } from '../../runtime/node.ts';
import type { Encoding } from '../../runtime/types.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';

const MAX_LEN = 12;
const PAD = 1;

/** An encoding as the tokenizer makes it: `tokens` ids placed on the padded side's far end, the rest PAD. */
function encoding(ids: number[], padLeft: boolean): Encoding {
  const kept = ids.slice(0, MAX_LEN);
  const row = new Int32Array(MAX_LEN).fill(PAD);
  row.set(kept, padLeft ? MAX_LEN - kept.length : 0);
  return { ids: row, tokenCount: ids.length, unknown: 0, truncated: ids.length > MAX_LEN, tokens: [] };
}

function io(options: { dynamicLength: boolean; padLeft?: boolean; dtype?: 'int64' | 'int32' }): ModelIo {
  const dtype = options.dtype ?? 'int64';
  return {
    ids: { name: 'input_ids', dtype },
    mask: { name: 'attention_mask', dtype },
    logits: 'logits',
    outputsAreProbabilities: false,
    padLeft: options.padLeft ?? false,
    dynamicLength: options.dynamicLength,
  };
}

const rows = (data: ArrayLike<number | bigint>, width: number): number[][] => {
  const values = Array.from(data, Number);
  return Array.from({ length: values.length / width }, (_, r) => values.slice(r * width, (r + 1) * width));
};

describe('feedsFor', () => {
  const texts = [
    [5, 6, 7],
    [8, 9, 10, 11, 12, 13, 14, 15, 16],
  ];

  it('pads a fixed-length graph to maxLen whatever the texts', () => {
    const feeds = feedsFor(
      io({ dynamicLength: false }),
      texts.map((t) => encoding(t, false)),
      MAX_LEN,
    );
    expect(feeds.input_ids!.dims).toEqual([2, MAX_LEN]);
    expect(feeds.attention_mask!.dims).toEqual([2, MAX_LEN]);
  });

  it('pads a dynamic graph to the longest text rounded up to 8, capped at maxLen', () => {
    const short = feedsFor(io({ dynamicLength: true }), [encoding([5, 6, 7], false)], MAX_LEN);
    expect(short.input_ids!.dims).toEqual([1, 8]);
    expect(rows(short.input_ids!.data as BigInt64Array, 8)).toEqual([[5, 6, 7, 1, 1, 1, 1, 1]]);
    expect(rows(short.attention_mask!.data as BigInt64Array, 8)).toEqual([[1, 1, 1, 0, 0, 0, 0, 0]]);
    const long = feedsFor(
      io({ dynamicLength: true }),
      texts.map((t) => encoding(t, false)),
      MAX_LEN,
    );
    expect(long.input_ids!.dims).toEqual([2, MAX_LEN]);
  });

  it('keeps right padding: tokens first, then the pad id, in int64 and int32', () => {
    for (const dtype of ['int64', 'int32'] as const) {
      const feeds = feedsFor(
        io({ dynamicLength: true, dtype }),
        [encoding([5, 6, 7], false), encoding([8, 9, 10, 11, 12], false)],
        MAX_LEN,
      );
      expect(feeds.input_ids!.dtype).toBe(dtype);
      expect(rows(feeds.input_ids!.data as ArrayLike<number | bigint>, 8)).toEqual([
        [5, 6, 7, 1, 1, 1, 1, 1],
        [8, 9, 10, 11, 12, 1, 1, 1],
      ]);
      expect(rows(feeds.attention_mask!.data as ArrayLike<number | bigint>, 8)).toEqual([
        [1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 0, 0, 0],
      ]);
    }
  });

  it('keeps left padding: the pad id first, then the tokens', () => {
    const feeds = feedsFor(
      io({ dynamicLength: true, padLeft: true }),
      [encoding([5, 6, 7], true), encoding([8, 9, 10, 11, 12], true)],
      MAX_LEN,
    );
    expect(rows(feeds.input_ids!.data as BigInt64Array, 8)).toEqual([
      [1, 1, 1, 1, 1, 5, 6, 7],
      [1, 1, 1, 8, 9, 10, 11, 12],
    ]);
    expect(rows(feeds.attention_mask!.data as BigInt64Array, 8)).toEqual([
      [0, 0, 0, 0, 0, 1, 1, 1],
      [0, 0, 0, 1, 1, 1, 1, 1],
    ]);
  });

  it('gives a run of empty texts one column', () => {
    const feeds = feedsFor(io({ dynamicLength: true }), [encoding([], false)], MAX_LEN);
    expect(feeds.input_ids!.dims).toEqual([1, 1]);
    expect(Array.from(feeds.attention_mask!.data as BigInt64Array, Number)).toEqual([0]);
  });

  it('feeds truncated texts at maxLen', () => {
    const long = Array.from({ length: 30 }, (_, i) => i + 2);
    const feeds = feedsFor(io({ dynamicLength: true }), [encoding(long, false)], MAX_LEN);
    expect(feeds.input_ids!.dims).toEqual([1, MAX_LEN]);
    expect(rows(feeds.input_ids!.data as BigInt64Array, MAX_LEN)).toEqual([long.slice(0, MAX_LEN)]);
  });
});

describe('resolveModelIo', () => {
  it('reads a manifest without model.sequence as fixed-length', async () => {
    const bundle = await loadBundle(bundleDir('news-bag'));
    const manifest = { ...bundle.manifest, model: { ...bundle.manifest.model, sequence: undefined } };
    expect(resolveModelIo(manifest).dynamicLength).toBe(false);
  });

  it('reads model.sequence.dynamic', async () => {
    const bundle = await loadBundle(bundleDir('news-bag'));
    const sequence = { dynamic: true, checkedLengths: [1, 8], maxAbsDiff: 0, atol: 1e-5 };
    const dynamic = { ...bundle.manifest, model: { ...bundle.manifest.model, sequence } };
    expect(resolveModelIo(dynamic).dynamicLength).toBe(true);
    const fixed = {
      ...bundle.manifest,
      model: { ...bundle.manifest.model, sequence: { ...sequence, dynamic: false } },
    };
    expect(resolveModelIo(fixed).dynamicLength).toBe(false);
  });
});
