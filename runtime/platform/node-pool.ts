// The worker pool on Node: piscina worker threads that each load the bundle and hold their own predictor.
import { Piscina } from 'piscina';
import { resolve } from 'node:path';
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import type { EngineMemory } from '../engine.ts';
import { ShipshapeError, isShipshapeError, messageOf } from '../errors.ts';
import type { BackendChoice, BackendReport } from '../types.ts';
import type { PoolRun, WorkerPool } from '../worker-pool.ts';
import type { PoolReply, PoolTask, PoolTaskError, PoolWorkerData } from './pool-worker.ts';

/** The thread entry: a JavaScript bootstrap that registers tsx, then loads `pool-worker.ts`. */
const WORKER_ENTRY = new URL('./pool-worker.mjs', import.meta.url).href;

/**
 * Workers run at a lower priority than the thread that feeds them: when they saturate every core, the event loop
 * that reads requests, answers health checks and hands out batches still gets a core at once (piscina sets it
 * through its optional dependency @napi-rs/nice; without it the workers keep the caller's priority).
 */
const DEFAULT_NICE_INCREMENT = 10;

/** How long closing waits for the workers to confirm they released their sessions before ending them anyway. */
const RELEASE_TIMEOUT_MS = 5_000;

/** Numbers this process's pools, so each has its own release channel. */
let poolCount = 0;

export interface NodeWorkerPoolOptions {
  /** Worker threads, each with its own session. */
  readonly workers: number;
  /** Each worker's backend choice. Default 'auto' (native, else WASM). */
  readonly backend?: BackendChoice;
  /** Threads per worker's session. Default 1: the pool already spreads over the cores. */
  readonly numThreads?: number;
  /** Checked on the main thread too; the workers apply it again. Default 10,000. */
  readonly maxTextLength?: number;
  /** Default false. */
  readonly returnLogits?: boolean;
  /** How much lower the workers' CPU priority is than the caller's (Linux nice). Default 10. */
  readonly niceIncrement?: number;
}

/** A `WorkerPool` on Node threads; `threads` is the live set of worker threads (a crashed one is replaced). */
export interface NodeWorkerPool extends WorkerPool {
  readonly threads: readonly Worker[];
}

/**
 * Starts `workers` worker threads on `bundleDir` and resolves once every worker's predictor has started.
 * @throws ShipshapeError INPUT_INVALID when `workers` is not an integer from 1 to 1024 or `niceIncrement` not one
 *   from 0 to 19; whatever a worker's start fails with (e.g. BUNDLE_HASH_MISMATCH, BACKEND_UNAVAILABLE), with its
 *   code, after the threads are stopped.
 */
export async function startNodeWorkerPool(
  bundleDir: string,
  options: NodeWorkerPoolOptions,
): Promise<NodeWorkerPool> {
  const { workers } = options;
  const niceIncrement = options.niceIncrement ?? DEFAULT_NICE_INCREMENT;
  checkRange('workers', workers, 1, 1024);
  checkRange('niceIncrement', niceIncrement, 0, 19);
  const workerData: PoolWorkerData = {
    bundleDir: resolve(bundleDir),
    backend: options.backend ?? 'auto',
    numThreads: options.numThreads ?? 1,
    maxTextLength: options.maxTextLength ?? 10_000,
    returnLogits: options.returnLogits ?? false,
    releaseChannel: `shipshape-pool-${process.pid}-${(poolCount += 1)}`,
  };
  const piscina = new Piscina<PoolTask, PoolReply>({
    filename: WORKER_ENTRY,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: 1,
    // A worker keeps async work going while idle (its predictor starting up, onnxruntime completing a run on the
    // worker's event loop); Atomics.wait between tasks would block it.
    atomics: 'disabled',
    niceIncrement,
    workerData,
  });
  // A worker that fails outside any task is replaced by piscina; without a listener the 'error' event would throw.
  piscina.on('error', (error: unknown) => {
    console.warn(`shipshape: a pool worker failed and was replaced: ${messageOf(error)}`);
  });
  const memories = new Map<number, EngineMemory>();
  let closing: Promise<void> | undefined;
  // Batches go to piscina only while a worker is free, so that closing can tell queued batches (refused with
  // DISPOSED) from running ones (finished), and knows when the last one is done.
  let busy = 0;
  const queued: { start: () => void; refuse: (error: ShipshapeError) => void }[] = [];
  let idle: (() => void) | undefined;

  const startReplies = await Promise.allSettled(
    Array.from({ length: workers }, () => piscina.run({ kind: 'start' })),
  );
  let backend: BackendReport | undefined;
  for (const settled of startReplies) {
    const reply: PoolReply =
      settled.status === 'fulfilled'
        ? settled.value
        : {
            status: 'failed',
            error: { code: 'BACKEND_FAILED', message: messageOf(settled.reason), starting: true },
          };
    if (reply.status === 'started') {
      backend ??= reply.backend;
      continue;
    }
    await piscina.destroy();
    if (reply.status === 'failed') throw new ShipshapeError(reply.error.code, reply.error.message);
    throw new ShipshapeError('BACKEND_FAILED', `A pool worker answered "${reply.status}" to its start.`);
  }

  function failure(error: PoolTaskError, size: number): ShipshapeError {
    if (!error.starting) return new ShipshapeError(error.code, error.message);
    // A replacement worker whose predictor cannot start (say, the bundle changed on disk) fails its batches.
    return new ShipshapeError(
      'BACKEND_FAILED',
      `A pool worker could not start its predictor (${error.code}: ${error.message}); a batch of ${size} texts ` +
        'failed with it.',
    );
  }

  async function takeWorker(): Promise<void> {
    if (busy < workers) {
      busy += 1;
      return;
    }
    await new Promise<void>((start, refuse) => queued.push({ start, refuse }));
  }

  function freeWorker(): void {
    const next = queued.shift();
    if (next !== undefined) next.start();
    else if ((busy -= 1) === 0) idle?.();
  }

  /**
   * Ends the threads without ending a live onnxruntime session with them: terminating a worker thread whose native
   * session has run batches aborted the whole process now and then ("terminate called after throwing an instance of
   * 'Napi::Error'"), so each worker releases its predictor first, on a broadcast, and confirms it.
   */
  async function close(): Promise<void> {
    for (const waiter of queued.splice(0)) waiter.refuse(disposedError(bundleDir));
    if (busy > 0) await new Promise<void>((resolveIdle) => (idle = resolveIdle));
    const channel = new BroadcastChannel(workerData.releaseChannel);
    try {
      const live = piscina.threads.length;
      await new Promise<void>((released) => {
        let confirmed = 0;
        const timer = setTimeout(released, RELEASE_TIMEOUT_MS);
        channel.onmessage = () => {
          confirmed += 1;
          if (confirmed >= live) {
            clearTimeout(timer);
            released();
          }
        };
        channel.postMessage('release');
      });
    } finally {
      channel.close();
    }
    await piscina.destroy();
  }

  async function run(texts: readonly string[]): Promise<PoolRun> {
    if (closing !== undefined) throw disposedError(bundleDir);
    await takeWorker();
    let reply: PoolReply;
    try {
      reply = await piscina.run({ kind: 'run', texts });
    } catch (error) {
      if (isShipshapeError(error)) throw error;
      throw new ShipshapeError(
        'BACKEND_FAILED',
        `A pool worker failed while running a batch of ${texts.length} texts (${messageOf(error)}); the pool ` +
          'starts a new worker in its place. Retry the call.',
        { cause: error },
      );
    } finally {
      freeWorker();
    }
    if (reply.status === 'failed') throw failure(reply.error, texts.length);
    if (reply.status !== 'ran') {
      throw new ShipshapeError('BACKEND_FAILED', `A pool worker answered "${reply.status}" to a batch.`);
    }
    if (reply.observation.worker !== undefined) memories.set(reply.observation.worker, reply.memory);
    return { predictions: reply.predictions, observation: reply.observation };
  }

  return {
    size: workers,
    backend: backend as BackendReport,
    get threads() {
      return piscina.threads;
    },
    run,
    memory(): EngineMemory {
      const live = new Set(piscina.threads.map((thread) => thread.threadId));
      let wasmHeapBytes: number | undefined;
      for (const [worker, memory] of memories) {
        if (!live.has(worker)) memories.delete(worker);
        else if (memory.wasmHeapBytes !== undefined)
          wasmHeapBytes = (wasmHeapBytes ?? 0) + memory.wasmHeapBytes;
      }
      return wasmHeapBytes === undefined ? {} : { wasmHeapBytes };
    },
    close(): Promise<void> {
      // Batches still queued are refused with DISPOSED at once; running ones finish, then every thread is ended.
      closing ??= close();
      return closing;
    },
  };
}

function checkRange(name: string, value: unknown, min: number, max: number): void {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `${name} must be an integer from ${min} to ${max}, got ${String(value)}.`,
      {
        subject: name,
      },
    );
  }
}

function disposedError(bundleDir: string): ShipshapeError {
  return new ShipshapeError(
    'DISPOSED',
    `The predictor pool for ${bundleDir} was disposed; create a new one.`,
  );
}
