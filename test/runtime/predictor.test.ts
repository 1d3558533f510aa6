// The Node predictor on the real exported bundles and real onnxruntime: parity, batch invariance, errors, fallback.
// news-transformer's golden parity is in predictor-transformer.slow.test.ts: on wasm it alone takes seconds.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InferenceEngine, Platform } from '../../runtime/engine.ts';
import { createPredictor as createPortablePredictor } from '../../runtime/predictor.ts';
import {
  createNodePlatform,
  createPredictor,
  hasErrorCode,
  loadBundle,
  nodePlatform,
  type Bundle,
  type Predictor,
  type RunObservation,
} from '../../runtime/node.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';
import { describeGoldenParity } from './golden-parity.ts';
import { rejection } from '../helpers/rejection.ts';

describeGoldenParity('news-bag');

describe('createPredictor on Node', () => {
  let bundle: Bundle;

  beforeAll(async () => {
    bundle = await loadBundle(bundleDir('news-bag'));
  });

  it('takes native on auto and reports nothing skipped', async () => {
    const predictor = await createPredictor(bundle);
    try {
      expect(predictor.backend).toEqual({ backend: 'native', skipped: [] });
    } finally {
      await predictor.dispose();
    }
  });

  it('reports native as not requested when wasm is asked for', async () => {
    const predictor = await createPredictor(bundle, { backend: 'wasm' });
    try {
      expect(predictor.backend).toEqual({
        backend: 'wasm',
        skipped: [{ backend: 'native', reason: 'not requested (backend: "wasm")' }],
      });
    } finally {
      await predictor.dispose();
    }
  });

  it('rejects webgpu with BACKEND_UNAVAILABLE listing the backends Node has', async () => {
    const error = await rejection(createPredictor(bundle, { backend: 'webgpu' }));
    expect(hasErrorCode(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect(error.message).toBe('Unsupported backend "webgpu" on node. Should be one of: native, wasm.');
  });

  it('rejects a negative lengthAware.overheadTokens with INPUT_INVALID naming it', async () => {
    const error = await rejection(createPredictor(bundle, { lengthAware: { overheadTokens: -1 } }));
    expect(hasErrorCode(error, 'INPUT_INVALID')).toBe(true);
    expect(error.message).toBe('lengthAware.overheadTokens must be a finite number >= 0, got -1.');
  });

  it('rejects a backend name that does not exist with the same message', async () => {
    const error = await rejection(createPredictor(bundle, { backend: 'cuda' as 'native' }));
    expect(hasErrorCode(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect(error.message).toBe('Unsupported backend "cuda" on node. Should be one of: native, wasm.');
  });

  it('falls to wasm and says why when onnxruntime-node cannot be imported', async () => {
    // A real failed import: the package name does not exist in node_modules.
    const missing = 'onnxruntime-node-not-installed';
    const platform = createNodePlatform({ loadNative: () => import(missing) });
    const predictor = await createPortablePredictor(bundle, { platform });
    try {
      expect(predictor.backend.backend).toBe('wasm');
      expect(predictor.backend.skipped).toHaveLength(1);
      expect(predictor.backend.skipped[0]!.backend).toBe('native');
      expect(predictor.backend.skipped[0]!.reason).toMatch(
        /^onnxruntime-node is not installed \(it is an optional dependency\): Cannot find package 'onnxruntime-node-not-installed'/,
      );
      expect(predictor.backend.skipped[0]!.reason).toContain(
        'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node',
      );
      expect((await predictor.predict('NASA launches a new Mars rover')).label).toBe('Sci/Tech');
    } finally {
      await predictor.dispose();
    }
  });

  it('fails with BACKEND_UNAVAILABLE when native is asked for and cannot be imported', async () => {
    const missing = 'onnxruntime-node-not-installed';
    const platform = createNodePlatform({ loadNative: () => import(missing) });
    const error = await rejection(createPortablePredictor(bundle, { platform, backend: 'native' }));
    expect(hasErrorCode(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect(error.message).toMatch(/^onnxruntime-node is not installed/);
  });

  it('rejects a manifest whose input name the model does not have with BUNDLE_MODEL_MISMATCH', async () => {
    const [input] = bundle.manifest.model.inputs;
    const renamed: Bundle = {
      ...bundle,
      manifest: {
        ...bundle.manifest,
        model: { ...bundle.manifest.model, inputs: [{ ...input!, name: 'token_ids' }] },
      },
    };
    const error = await rejection(createPredictor(renamed));
    expect(hasErrorCode(error, 'BUNDLE_MODEL_MISMATCH')).toBe(true);
    expect(error.message).toContain('takes inputs [input_ids]');
    expect(error.message).toContain('the manifest feeds [token_ids]');
  });

  it('fails a run with BACKEND_FAILED when the model refuses the fed dtype', async () => {
    const [input] = bundle.manifest.model.inputs;
    const int32: Bundle = {
      ...bundle,
      manifest: {
        ...bundle.manifest,
        model: { ...bundle.manifest.model, inputs: [{ ...input!, dtype: 'int32' }] },
      },
    };
    const predictor = await createPredictor(int32, { backend: 'native' });
    try {
      const error = await rejection(predictor.predict('a text'));
      expect(hasErrorCode(error, 'BACKEND_FAILED')).toBe(true);
      expect(error.message).toMatch(/^The native session run failed: /);
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      await predictor.dispose();
    }
  });
});

describe('predict and predictBatch', () => {
  let bundle: Bundle;
  let predictor: Predictor;

  beforeAll(async () => {
    bundle = await loadBundle(bundleDir('news-bag'));
    predictor = await createPredictor(bundle, { maxTextLength: 100 });
  });
  afterAll(() => predictor.dispose());

  it('returns label and scores only, scores summing to 1 in label order', async () => {
    const prediction = await predictor.predict('The home team won the championship game');
    expect(Object.keys(prediction)).toEqual(['label', 'scores']);
    expect(Object.keys(prediction.scores)).toEqual(bundle.manifest.labels);
    const sum = Object.values(prediction.scores).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
    const best = Object.entries(prediction.scores).sort((a, b) => b[1] - a[1])[0]![0];
    expect(prediction.label).toBe(best);
  });

  it('rejects a non-string with INPUT_INVALID', async () => {
    const error = await rejection(predictor.predict(42 as unknown as string));
    expect(hasErrorCode(error, 'INPUT_INVALID')).toBe(true);
    expect(error.message).toBe('The text is not a string (got number); pass each text as a string.');
  });

  it('rejects a text longer than maxTextLength with INPUT_INVALID', async () => {
    const error = await rejection(predictor.predict('x'.repeat(101)));
    expect(hasErrorCode(error, 'INPUT_INVALID')).toBe(true);
    expect(error.message).toBe(
      'The text is 101 characters long; the limit is 100 (maxTextLength). Shorten the text or raise maxTextLength.',
    );
  });

  it('gives invalid items their own error and still answers the rest, in input order', async () => {
    const texts: unknown[] = [
      'stocks rallied today',
      null,
      'y'.repeat(101),
      'the striker scored twice',
      ['a'],
    ];
    const items = await predictor.predictBatch(texts, { batchSize: 2 });
    expect(items.map((item) => item.status)).toEqual(['ok', 'error', 'error', 'ok', 'error']);
    expect(items[1]).toEqual({
      status: 'error',
      error: {
        code: 'INPUT_INVALID',
        message: 'Item 1 is not a string (got null); pass each text as a string.',
      },
    });
    expect(items[2]).toEqual({
      status: 'error',
      error: {
        code: 'INPUT_INVALID',
        message:
          'Item 2 is 101 characters long; the limit is 100 (maxTextLength). Shorten the text or raise maxTextLength.',
      },
    });
    expect(items[4]).toEqual({
      status: 'error',
      error: {
        code: 'INPUT_INVALID',
        message: 'Item 4 is not a string (got an array); pass each text as a string.',
      },
    });
    const alone = await predictor.predict('the striker scored twice');
    expect(items[3]).toEqual({ status: 'ok', ...alone });
  });

  it('answers an empty list with an empty list', async () => {
    expect(await predictor.predictBatch([])).toEqual([]);
  });

  it('rejects a batchSize of 0 with INPUT_INVALID', async () => {
    const error = await rejection(predictor.predictBatch(['a'], { batchSize: 0 }));
    expect(hasErrorCode(error, 'INPUT_INVALID')).toBe(true);
    expect(error.message).toBe('batchSize must be an integer >= 1, got 0.');
  });
});

describe('observe', () => {
  let predictor: Predictor;

  beforeAll(async () => {
    // Runs in the caller's order even on a dynamic-length export, so each run's texts are known below
    // (test/runtime/length-aware.slow.test.ts observes grouped runs).
    predictor = await createPredictor(await loadBundle(bundleDir('news-bag')), {
      batching: false,
      lengthAware: false,
    });
  });
  afterAll(() => predictor.dispose());

  it('reports each run with its batch, tokens, unknown tokens, truncations and labels', async () => {
    const seen: RunObservation[] = [];
    const stop = predictor.observe((observation) => seen.push(observation));
    const long = Array.from({ length: 80 }, () => 'word').join(' ');
    const items = await predictor.predictBatch(['zqxvbnm stocks', long, 'rain'], { batchSize: 2 });
    stop();
    await predictor.predict('not observed');
    expect(seen).toHaveLength(2);
    expect(seen.map((o) => o.batchSize)).toEqual([2, 1]);
    expect(seen[0]!.tokens).toBe(2 + 80);
    expect(seen[0]!.unknownTokens).toBeGreaterThanOrEqual(1);
    expect(seen[0]!.truncations).toBe(1);
    expect(seen[1]!.truncations).toBe(0);
    const labels = predictor.bundle.manifest.labels;
    expect([...seen[0]!.labels, ...seen[1]!.labels].map((i) => labels[i])).toEqual(
      items.map((item) => (item.status === 'ok' ? item.label : undefined)),
    );
    for (const o of seen) {
      expect(o.backend).toBe('native');
      expect(o.runMs).toBeGreaterThanOrEqual(0);
      expect(o.totalMs).toBeGreaterThanOrEqual(o.runMs);
    }
  });

  it('keeps predicting when a listener throws, and warns once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const stop = predictor.observe(() => {
      throw new Error('listener bug');
    });
    const after: number[] = [];
    const stopAfter = predictor.observe((o) => after.push(o.batchSize));
    try {
      await predictor.predict('one');
      await predictor.predict('two');
      expect(after).toEqual([1, 1]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain('listener bug');
    } finally {
      stop();
      stopAfter();
      warn.mockRestore();
    }
  });
});

describe('dispose', () => {
  let bundle: Bundle;

  beforeAll(async () => {
    bundle = await loadBundle(bundleDir('news-bag'));
  });

  it('lets the running batch finish and rejects the calls still queued with DISPOSED', async () => {
    const predictor = await createPredictor(bundle, { batching: { maxBatchSize: 2, maxDelayMs: 60_000 } });
    let disposed: Promise<void> | undefined;
    // Dispose while the first batch is between its session run and its callers' results.
    predictor.observe(() => void (disposed ??= predictor.dispose()));
    const full = [predictor.predict('stocks fell'), predictor.predict('the match ended')];
    const queued = predictor.predict('waits for company that never comes');
    const results = await Promise.all(full);
    expect(results.map((r) => typeof r.label)).toEqual(['string', 'string']);
    const error = await rejection(queued);
    expect(hasErrorCode(error, 'DISPOSED')).toBe(true);
    await disposed;
  });

  it('rejects the rest of a predictBatch with DISPOSED when disposed between its runs', async () => {
    const predictor = await createPredictor(bundle);
    let runs = 0;
    predictor.observe(() => {
      runs += 1;
      void predictor.dispose();
    });
    const error = await rejection(predictor.predictBatch(['a', 'b', 'c', 'd'], { batchSize: 1 }));
    expect(hasErrorCode(error, 'DISPOSED')).toBe(true);
    expect(runs).toBe(1);
  });

  it('rejects every call after dispose with DISPOSED, and is idempotent', async () => {
    const predictor = await createPredictor(bundle);
    await predictor.dispose();
    await predictor.dispose();
    for (const call of [predictor.predict('late'), predictor.predictBatch(['late'])]) {
      const error = await rejection(call);
      expect(hasErrorCode(error, 'DISPOSED')).toBe(true);
      expect(error.message).toMatch(/was disposed; create a new one\.$/);
    }
  });
});

/**
 * Test-only engine wrapper: WebGPU's device-lost event cannot happen on Node, so this platform wraps the real native
 * engine with an `onLost` the test fires. Everything else (both sessions, the wasm rebuild) is real.
 */
function createLosablePlatform(): {
  platform: Platform;
  lose: (reason: string) => void;
  loseDuringNextRun: (reason: string) => void;
} {
  const lostListeners: ((reason: string) => void)[] = [];
  let loseOnRun: string | undefined;
  const platform: Platform = {
    name: 'node',
    ladder: ['native', 'wasm'],
    async createEngine(backend, model, options) {
      const engine = await nodePlatform.createEngine(backend, model, options);
      if (backend !== 'native') return engine;
      const wrapped: InferenceEngine = {
        backend: engine.backend,
        inputs: engine.inputs,
        outputs: engine.outputs,
        async run(feeds) {
          if (loseOnRun !== undefined) {
            const reason = loseOnRun;
            loseOnRun = undefined;
            for (const listener of lostListeners) listener(reason);
            throw new Error(`device lost: ${reason}`);
          }
          return engine.run(feeds);
        },
        onLost: (listener) => void lostListeners.push(listener),
        dispose: () => engine.dispose(),
      };
      return wrapped;
    },
  };
  return {
    platform,
    lose: (reason) => lostListeners.forEach((listener) => listener(reason)),
    loseDuringNextRun: (reason) => void (loseOnRun = reason),
  };
}

describe('device lost (test-only engine wrapper that fires onLost)', () => {
  let bundle: Bundle;
  const texts = [
    'The central bank raised interest rates',
    'The goalkeeper saved a penalty',
    'New chip doubles speed',
  ];

  beforeAll(async () => {
    bundle = await loadBundle(bundleDir('news-bag'));
  });

  it('rebuilds on wasm, keeps serving the same answers, and reports the fallback', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { platform, lose } = createLosablePlatform();
    const predictor = await createPortablePredictor(bundle, { platform });
    try {
      const before = await predictor.predictBatch(texts);
      expect(predictor.backend.backend).toBe('native');
      lose('GPU process crashed');
      const after = await predictor.predictBatch(texts);
      expect(predictor.backend).toEqual({
        backend: 'wasm',
        skipped: [{ backend: 'native', reason: 'device lost while serving: GPU process crashed' }],
        fallbackReason: 'native device lost (GPU process crashed); rebuilt on wasm',
      });
      expect(after.map((item) => item.status === 'ok' && item.label)).toEqual(
        before.map((item) => item.status === 'ok' && item.label),
      );
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toBe(
        'shipshape: native device lost (GPU process crashed); rebuilt on wasm.',
      );
      const observed: string[] = [];
      predictor.observe((o) => observed.push(o.backend));
      await predictor.predict(texts[0]!);
      expect(observed).toEqual(['wasm']);
    } finally {
      await predictor.dispose();
      warn.mockRestore();
    }
  });

  it('retries a batch whose run failed because the device was lost', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { platform, loseDuringNextRun } = createLosablePlatform();
    const predictor = await createPortablePredictor(bundle, { platform });
    try {
      loseDuringNextRun('context lost mid-run');
      const items = await predictor.predictBatch(texts);
      expect(items.every((item) => item.status === 'ok')).toBe(true);
      expect(predictor.backend.backend).toBe('wasm');
      expect(predictor.backend.fallbackReason).toBe(
        'native device lost (context lost mid-run); rebuilt on wasm',
      );
    } finally {
      await predictor.dispose();
      warn.mockRestore();
    }
  });
});
