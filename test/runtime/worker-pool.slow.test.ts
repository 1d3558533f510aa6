// The predictor pool on real worker threads and real onnxruntime: parity with the in-process predictor, batching
// across workers, input errors, dispose, and a worker that dies mid-batch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPooledPredictor,
  createPredictor,
  createPredictorPool,
  hasErrorCode,
  loadBundle,
  readParityCases,
  startNodeWorkerPool,
  type BatchItem,
  type Bundle,
  type NodeWorkerPool,
  type Predictor,
  type RunObservation,
} from '../../runtime/node.ts';
import { ROOT, bundleDir } from '../helpers/bundle-copy.ts';
import { rejection } from '../helpers/rejection.ts';

const SCORE_ATOL = 1e-5;
const TRANSFORMER = bundleDir('news-transformer');

/** Differences between two predictBatch answers: labels exact, scores within SCORE_ATOL, errors identical. */
function differences(actual: readonly BatchItem[], expected: readonly BatchItem[]): string[] {
  const found: string[] = [];
  if (actual.length !== expected.length) return [`${actual.length} items, expected ${expected.length}`];
  expected.forEach((want, i) => {
    const got = actual[i]!;
    if (want.status === 'error' || got.status === 'error') {
      if (JSON.stringify(got) !== JSON.stringify(want)) found.push(`item ${i}: ${JSON.stringify(got)}`);
      return;
    }
    const worst = Math.max(
      ...Object.keys(want.scores).map((k) => Math.abs(got.scores[k]! - want.scores[k]!)),
    );
    if (got.label !== want.label || !(worst <= SCORE_ATOL)) {
      found.push(`item ${i}: ${got.label} (in-process ${want.label}), max |dscore| ${worst}`);
    }
  });
  return found;
}

describe.each(['native', 'wasm'] as const)('a pool of 2 workers on %s (news-transformer)', (backend) => {
  let bundle: Bundle;
  let pool: Predictor;
  let inProcess: Predictor;

  beforeAll(async () => {
    bundle = await loadBundle(TRANSFORMER);
    [pool, inProcess] = await Promise.all([
      createPredictorPool(TRANSFORMER, { workers: 2, backend }),
      createPredictor(bundle, { backend }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([pool?.dispose(), inProcess?.dispose()]);
  });

  it('reports the backend its workers run on', () => {
    expect(pool.backend.backend).toBe(backend);
  });

  it('answers every parity case like the in-process predictor: labels exact, scores within 1e-5', async () => {
    const texts = (await readParityCases(bundle)).map((c) => c.text);
    const [pooled, local] = await Promise.all([pool.predictBatch(texts), inProcess.predictBatch(texts)]);
    expect(differences(pooled, local)).toEqual([]);
  });

  it('reports memory as the in-process predictor does: the WASM heaps summed over workers, nothing on native', () => {
    const memory = pool.memory();
    if (backend === 'native') expect(memory).toEqual(inProcess.memory());
    else expect(memory.wasmHeapBytes).toBeGreaterThanOrEqual(inProcess.memory().wasmHeapBytes!);
  });
});

describe('a pool of 2 native workers (news-transformer)', () => {
  let bundle: Bundle;
  let texts: string[];
  let pool: Predictor;
  let inProcess: Predictor;
  const observations: RunObservation[] = [];

  beforeAll(async () => {
    bundle = await loadBundle(TRANSFORMER);
    // Texts within the pool's maxTextLength of 500, so every one of them runs.
    const cases = (await readParityCases(bundle)).filter((c) => c.text.length <= 500);
    texts = Array.from({ length: 256 }, (_, i) => cases[i % cases.length]!.text);
    [pool, inProcess] = await Promise.all([
      createPredictorPool(TRANSFORMER, { workers: 2, backend: 'native', maxTextLength: 500 }),
      createPredictor(bundle, { backend: 'native', maxTextLength: 500 }),
    ]);
    pool.observe((observation) => observations.push(observation));
  });
  afterAll(async () => {
    await Promise.all([pool?.dispose(), inProcess?.dispose()]);
  });

  it('runs its two worker threads at nice +10, below the event loop (Linux)', ({ skip }) => {
    if (process.platform !== 'linux') {
      console.warn('thread priorities are read from /proc; skipped off Linux');
      skip();
    }
    // Field 19 of /proc/self/task/TID/stat is the thread's nice value; the command name in parentheses may hold
    // spaces, so split after the last ')'.
    const niceOf = (tid: string) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    // Each worker thread is niced before it loads anything, so threads it starts (tsx's loader) inherit it.
    const niced = readdirSync('/proc/self/task').filter((tid) => niceOf(tid) === 10);
    expect(niced.length).toBeGreaterThanOrEqual(2);
    expect(niceOf(String(process.pid))).toBe(0);
  });

  it('coalesces concurrent predict calls into batches of more than one text', async () => {
    observations.length = 0;
    const predictions = await Promise.all(texts.slice(0, 64).map((text) => pool.predict(text)));
    expect(predictions).toHaveLength(64);
    const sizes = observations.map((o) => o.batchSize);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(32);
  });

  it('runs the batches of one predictBatch on both worker threads', async () => {
    observations.length = 0;
    await pool.predictBatch(texts, { batchSize: 32 });
    expect(observations.map((o) => o.batchSize)).toEqual(Array.from({ length: 8 }, () => 32));
    const workers = new Set(observations.map((o) => o.worker));
    expect(workers.size).toBe(2);
    expect([...workers].every((worker) => Number.isInteger(worker) && worker! > 0)).toBe(true);
  });

  it('forwards each run observation with the fields the in-process predictor reports', async () => {
    observations.length = 0;
    const local: RunObservation[] = [];
    const stop = inProcess.observe((o) => local.push(o));
    await Promise.all([pool.predictBatch(texts.slice(0, 20)), inProcess.predictBatch(texts.slice(0, 20))]);
    stop();
    expect(observations).toHaveLength(1);
    // Timings differ from run to run; every other field must be the same.
    const untimed = ({ runMs, totalMs, ...fields }: RunObservation) => ({
      ...fields,
      runMs: typeof runMs,
      totalMs: typeof totalMs,
    });
    const { worker, ...pooled } = untimed(observations[0]!);
    expect(pooled).toEqual(untimed(local[0]!));
    expect(worker).toBeGreaterThan(0);
  });

  it('gives invalid items the in-process predictor INPUT_INVALID errors and classifies the rest', async () => {
    const mixed: unknown[] = [
      'Stocks rallied after the earnings report',
      42,
      'x'.repeat(501),
      null,
      texts[3],
    ];
    const [pooled, local] = await Promise.all([pool.predictBatch(mixed), inProcess.predictBatch(mixed)]);
    expect(pooled.map((item) => item.status)).toEqual(['ok', 'error', 'error', 'error', 'ok']);
    expect(differences(pooled, local)).toEqual([]);
  });

  it('rejects a predict of a text that is too long with the in-process INPUT_INVALID message', async () => {
    const long = 'y'.repeat(501);
    const [pooled, local] = await Promise.all([
      rejection(pool.predict(long)),
      rejection(inProcess.predict(long)),
    ]);
    expect(hasErrorCode(pooled, 'INPUT_INVALID')).toBe(true);
    expect(pooled.message).toBe(local.message);
  });
});

describe('starting a pool', () => {
  it('fails with the workers own BACKEND_UNAVAILABLE when their backend cannot start', async () => {
    const error = await rejection(createPredictorPool(TRANSFORMER, { workers: 1, backend: 'webgpu' }));
    expect(hasErrorCode(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect(error.message).toBe('Unsupported backend "webgpu" on node. Should be one of: native, wasm.');
  });

  it('refuses 0 workers with INPUT_INVALID', async () => {
    const error = await rejection(createPredictorPool(TRANSFORMER, { workers: 0 }));
    expect(hasErrorCode(error, 'INPUT_INVALID')).toBe(true);
    expect(error.message).toBe('workers must be an integer >= 1, got 0.');
  });
});

describe('dispose', () => {
  let bundle: Bundle;
  let texts: string[];

  beforeAll(async () => {
    bundle = await loadBundle(TRANSFORMER);
    texts = (await readParityCases(bundle)).map((c) => c.text);
  });

  it('lets the running batch finish and rejects queued calls and batches with DISPOSED', async () => {
    const workers = await startNodeWorkerPool(TRANSFORMER, { workers: 1, backend: 'native' });
    const pool = createPooledPredictor(bundle, workers, { batching: { maxBatchSize: 1, maxDelayMs: 0 } });
    // The first call goes to the only worker at once; the second waits in the batcher, the batch in the pool.
    const running = pool.predict(texts[0]!);
    const waiting = rejection(pool.predict(texts[1]!));
    const queued = rejection(pool.predictBatch(texts.slice(0, 64), { batchSize: 16 }));
    await pool.dispose();
    expect((await running).label).toEqual(expect.any(String));
    expect(hasErrorCode(await waiting, 'DISPOSED')).toBe(true);
    expect(hasErrorCode(await queued, 'DISPOSED')).toBe(true);
    expect(hasErrorCode(await rejection(pool.predict('after')), 'DISPOSED')).toBe(true);
  });

  it('ends every worker thread', async () => {
    const workers = await startNodeWorkerPool(TRANSFORMER, { workers: 2, backend: 'native' });
    const pool = createPooledPredictor(bundle, workers);
    await pool.predict(texts[0]!);
    expect(workers.threads).toHaveLength(2);
    await pool.dispose();
    expect(workers.threads).toHaveLength(0);
  });

  it('leaves nothing running, so a process that used a pool exits on its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-pool-exit-'));
    try {
      const script = join(dir, 'use-pool.mts');
      writeFileSync(
        script,
        `import { createPredictorPool } from ${JSON.stringify(join(ROOT, 'runtime/node.ts'))};\n` +
          `const pool = await createPredictorPool(${JSON.stringify(TRANSFORMER)}, { workers: 2 });\n` +
          `console.log((await pool.predict('The striker scored twice in the final')).label);\n` +
          `await pool.dispose();\n`,
      );
      // No process.exit in the script: it ends only when no thread or handle is left.
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ status: child.status, signal: child.signal, stdout: child.stdout }, child.stderr).toEqual({
        status: 0,
        signal: null,
        stdout: 'Sports\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a worker thread terminated mid-batch (a fault caused by the test)', () => {
  let bundle: Bundle;
  let texts: string[];
  let workers: NodeWorkerPool;
  let pool: Predictor;
  let failed: Error;
  let deadThread: number;

  beforeAll(async () => {
    bundle = await loadBundle(TRANSFORMER);
    const cases = await readParityCases(bundle);
    texts = Array.from({ length: 256 }, (_, i) => cases[i % cases.length]!.text);
    workers = await startNodeWorkerPool(TRANSFORMER, { workers: 1, backend: 'native' });
    pool = createPooledPredictor(bundle, workers);
    const thread = workers.threads[0]!;
    deadThread = thread.threadId;
    const batch = pool.predictBatch(texts, { batchSize: 256 });
    await thread.terminate();
    failed = await rejection(batch);
  });
  afterAll(() => pool?.dispose());

  it('fails that batch with BACKEND_FAILED instead of hanging its caller', () => {
    expect(hasErrorCode(failed, 'BACKEND_FAILED')).toBe(true);
    expect(failed.message).toBe(
      'A pool worker failed while running a batch of 256 texts (worker exited with code: 1); the pool starts a ' +
        'new worker in its place. Retry the call.',
    );
  });

  it('answers the next call on a new worker thread', async () => {
    const seen: RunObservation[] = [];
    pool.observe((o) => seen.push(o));
    expect((await pool.predict('The striker scored twice in the final')).label).toBe('Sports');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.worker).not.toBe(deadThread);
    expect(workers.threads.map((thread) => thread.threadId)).not.toContain(deadThread);
  });
});
