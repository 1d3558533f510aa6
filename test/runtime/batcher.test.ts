// Dynamic micro-batching: the batcher's own rules, then concurrent predict calls on real onnxruntime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatcher } from '../../runtime/batcher.ts';
import {
  createPredictor,
  hasErrorCode,
  loadBundle,
  readParityCases,
  type Bundle,
  type Predictor,
} from '../../runtime/node.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';

/** A batch function that records each batch and how many runs overlap. */
function recordingRun() {
  const batches: number[][] = [];
  let active = 0;
  let maxActive = 0;
  const run = async (items: readonly number[]): Promise<number[]> => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    batches.push([...items]);
    await new Promise((resolve) => setTimeout(resolve, 1));
    active -= 1;
    if (items.includes(-1)) throw new Error(`batch ${batches.length} holds a bad item`);
    return items.map((item) => item * 10);
  };
  return { run, batches, maxActive: () => maxActive };
}

describe('createBatcher', () => {
  it('runs as soon as maxBatchSize items wait, without waiting for the delay', async () => {
    const { run, batches } = recordingRun();
    const batcher = createBatcher({ maxBatchSize: 4, maxDelayMs: 60_000, maxQueue: 100, run });
    const results = await Promise.all([1, 2, 3, 4].map((i) => batcher.submit(i)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('holds a lone item for maxDelayMs, then runs it alone', async () => {
    const { run, batches } = recordingRun();
    // Long enough that a turn of the event loop never reaches it, even on a loaded machine.
    const batcher = createBatcher({ maxBatchSize: 4, maxDelayMs: 1_000, maxQueue: 100, run });
    const answer = batcher.submit(7);
    // A batcher that ignored the delay would have run the item by now (dispatch is synchronous on submit).
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(batches).toEqual([]);
    expect(await answer).toBe(70);
    expect(batches).toEqual([[7]]);
  });

  it('runs one batch at a time and coalesces what arrives meanwhile', async () => {
    const { run, batches, maxActive } = recordingRun();
    const batcher = createBatcher({ maxBatchSize: 3, maxDelayMs: 0, maxQueue: 100, run });
    const items = Array.from({ length: 10 }, (_, i) => i);
    const results = await Promise.all(items.map((i) => batcher.submit(i)));
    expect(results).toEqual(items.map((i) => i * 10));
    expect(maxActive()).toBe(1);
    // maxDelayMs 0: the first item runs alone at once, the others wait for it and go three by three.
    expect(batches).toEqual([[0], [1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  });

  it('rejects only the callers of the batch that failed', async () => {
    const { run } = recordingRun();
    const batcher = createBatcher({ maxBatchSize: 2, maxDelayMs: 60_000, maxQueue: 100, run });
    const settled = await Promise.allSettled([1, -1, 3, 4].map((i) => batcher.submit(i)));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[0] as PromiseRejectedResult).reason).toEqual(new Error('batch 1 holds a bad item'));
    expect(settled.slice(2).map((s) => (s as PromiseFulfilledResult<number>).value)).toEqual([30, 40]);
  });

  it('fails fast with OVERLOADED past maxQueue waiting items', async () => {
    const { run, batches } = recordingRun();
    const batcher = createBatcher({ maxBatchSize: 100, maxDelayMs: 1, maxQueue: 3, run });
    const settled = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => batcher.submit(i)));
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    const error = (settled[3] as PromiseRejectedResult).reason as Error;
    expect(hasErrorCode(error, 'OVERLOADED')).toBe(true);
    expect(error.message).toBe(
      'The prediction queue is full (3 items waiting). Retry later, or raise batching.maxQueue.',
    );
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('rejects waiting items and later submissions with the close error', async () => {
    const { run, batches } = recordingRun();
    const batcher = createBatcher({ maxBatchSize: 10, maxDelayMs: 60_000, maxQueue: 100, run });
    const waiting = batcher.submit(1);
    const closed = new Error('closed');
    batcher.close(closed);
    await expect(waiting).rejects.toBe(closed);
    await expect(batcher.submit(2)).rejects.toBe(closed);
    expect(batches).toEqual([]);
  });

  it('runs up to maxConcurrentBatches batches at once and coalesces what arrives while every slot is busy', async () => {
    const { run, batches, maxActive } = recordingRun();
    const batcher = createBatcher({
      maxBatchSize: 3,
      maxDelayMs: 0,
      maxQueue: 100,
      maxConcurrentBatches: 2,
      run,
    });
    const items = Array.from({ length: 10 }, (_, i) => i);
    const results = await Promise.all(items.map((i) => batcher.submit(i)));
    expect(results).toEqual(items.map((i) => i * 10));
    expect(maxActive()).toBe(2);
    // Two slots: 0 and 1 start alone at once, the rest wait for a free slot and go three by three.
    expect(batches).toEqual([[0], [1], [2, 3, 4], [5, 6, 7], [8, 9]]);
  });

  it('starts a batch in each free slot as soon as it is full, without waiting for the others to end', async () => {
    const { run, batches, maxActive } = recordingRun();
    const batcher = createBatcher({
      maxBatchSize: 2,
      maxDelayMs: 60_000,
      maxQueue: 100,
      maxConcurrentBatches: 3,
      run,
    });
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => batcher.submit(i)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(maxActive()).toBe(3);
  });

  it('refuses a maxConcurrentBatches of 0 with INPUT_INVALID', () => {
    const { run } = recordingRun();
    expect(() =>
      createBatcher({ maxBatchSize: 1, maxDelayMs: 1, maxQueue: 1, maxConcurrentBatches: 0, run }),
    ).toThrow('batching.maxConcurrentBatches must be an integer >= 1, got 0.');
  });

  it('refuses a maxBatchSize of 0 with INPUT_INVALID', () => {
    const { run } = recordingRun();
    expect(() => createBatcher({ maxBatchSize: 0, maxDelayMs: 1, maxQueue: 1, run })).toThrow(
      'batching.maxBatchSize must be an integer >= 1, got 0.',
    );
  });
});

describe('micro-batching in the predictor (news-transformer, native)', () => {
  let bundle: Bundle;
  let texts: string[];

  beforeAll(async () => {
    bundle = await loadBundle(bundleDir('news-transformer'));
    const cases = await readParityCases(bundle);
    texts = Array.from({ length: 200 }, (_, i) => cases[i % cases.length]!.text);
  });

  describe('with default batching', () => {
    let predictor: Predictor;

    beforeAll(async () => {
      predictor = await createPredictor(bundle, { backend: 'native' });
    });
    afterAll(() => predictor.dispose());

    it('answers 200 concurrent predict calls like predictBatch, in fewer session runs', async () => {
      const expected = await predictor.predictBatch(texts);
      const batchSizes: number[] = [];
      const stop = predictor.observe((o) => batchSizes.push(o.batchSize));
      const predictions = await Promise.all(texts.map((text) => predictor.predict(text)));
      stop();
      expect(predictions.map((p) => p.label)).toEqual(
        expected.map((item) => item.status === 'ok' && item.label),
      );
      predictions.forEach((p, i) => {
        const item = expected[i]!;
        if (item.status !== 'ok') throw new Error(`item ${i} failed`);
        for (const label of bundle.manifest.labels) {
          expect(Math.abs(p.scores[label]! - item.scores[label]!)).toBeLessThanOrEqual(1e-5);
        }
      });
      expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(200);
      expect(batchSizes.length).toBeLessThan(200);
      expect(Math.max(...batchSizes)).toBeLessThanOrEqual(32);
    });
  });

  it('fails calls past maxQueue fast with OVERLOADED and answers the others', async () => {
    const predictor = await createPredictor(bundle, {
      backend: 'native',
      batching: { maxBatchSize: 4, maxDelayMs: 1, maxQueue: 8 },
    });
    try {
      const order: string[] = [];
      const calls = texts.slice(0, 50).map((text) =>
        predictor.predict(text).then(
          () => void order.push('ok'),
          (error: unknown) => {
            order.push(hasErrorCode(error, 'OVERLOADED') ? 'overloaded' : String(error));
          },
        ),
      );
      await Promise.all(calls);
      const overloaded = order.filter((o) => o === 'overloaded').length;
      // 4 fill the first batch, which starts at once; 8 wait; the other 38 are refused.
      expect(overloaded).toBe(38);
      expect(order.filter((o) => o === 'ok')).toHaveLength(12);
      // Refusals settle before any session run has answered.
      expect(order.indexOf('ok')).toBeGreaterThan(order.lastIndexOf('overloaded'));
    } finally {
      await predictor.dispose();
    }
  });
});
