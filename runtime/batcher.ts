// Dynamic micro-batching: concurrent single-item calls coalesce into one run, with Triton's dynamic-batcher rules.
//
// A batch runs as soon as `maxBatchSize` items wait, or when the oldest waiting item has waited `maxDelayMs`
// (https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/model_configuration.html
// #dynamic-batcher). Up to `maxConcurrentBatches` batches run at once (one per session: 1 in process, one per worker
// in a pool); items that arrive while every slot is busy wait and form the next batch when a run ends. The queue is
// bounded: past `maxQueue` waiting items a call fails fast instead of adding latency for everyone.
import { ShipshapeError } from './errors.ts';

export interface BatcherOptions<I, O> {
  /** Most items in one run. */
  readonly maxBatchSize: number;
  /** Longest the oldest waiting item waits for company, in ms. With 0 a batch starts as soon as no run is going on. */
  readonly maxDelayMs: number;
  /** Most items waiting (not counting batches that are running); past it `submit` rejects with OVERLOADED. */
  readonly maxQueue: number;
  /** Most batches running at once (e.g. the workers of a pool). Default 1: a batch starts when the last one ends. */
  readonly maxConcurrentBatches?: number;
  /** Runs one batch; must return one result per item, in order. A throw rejects every item of the batch. */
  readonly run: (items: readonly I[]) => Promise<readonly O[]>;
}

export interface Batcher<I, O> {
  /** Queues one item; resolves with its own result. Rejects with OVERLOADED when full, and after `close`. */
  submit(item: I): Promise<O>;
  /** Items waiting now (not counting running batches). */
  readonly waiting: number;
  /** Rejects every waiting item and every later `submit` with `error`; running batches still complete. */
  close(error: Error): void;
}

interface Waiter<I, O> {
  readonly item: I;
  readonly enqueuedAt: number;
  readonly resolve: (value: O) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Creates a dynamic batcher around `run`.
 * @throws ShipshapeError INPUT_INVALID when an option is out of range.
 */
export function createBatcher<I, O>(options: BatcherOptions<I, O>): Batcher<I, O> {
  const { maxBatchSize, maxDelayMs, maxQueue, maxConcurrentBatches = 1, run } = options;
  checkInteger('maxBatchSize', maxBatchSize, 1);
  checkInteger('maxQueue', maxQueue, 1);
  checkInteger('maxConcurrentBatches', maxConcurrentBatches, 1);
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0)) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `batching.maxDelayMs must be a finite number >= 0, got ${String(maxDelayMs)}.`,
      { subject: 'batching.maxDelayMs' },
    );
  }

  let queue: Waiter<I, O>[] = [];
  /** Batches running now; at most `maxConcurrentBatches`. */
  let running = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closedWith: Error | undefined;

  function clearTimer(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
  }

  function schedule(): void {
    // Several slots may be free at once (a pool's workers): fill each with a batch that is due.
    while (running < maxConcurrentBatches && queue.length > 0 && closedWith === undefined) {
      const oldest = queue[0] as Waiter<I, O>;
      const waited = now() - oldest.enqueuedAt;
      if (queue.length >= maxBatchSize || waited >= maxDelayMs) {
        clearTimer();
        dispatch();
        continue;
      }
      timer ??= setTimeout(
        () => {
          timer = undefined;
          if (running < maxConcurrentBatches && queue.length > 0 && closedWith === undefined) dispatch();
          schedule();
        },
        Math.max(0, maxDelayMs - waited),
      );
      return;
    }
  }

  function dispatch(): void {
    const batch = queue.splice(0, maxBatchSize);
    running += 1;
    // The async wrapper turns a synchronous throw of `run` into a rejection of this batch.
    const results = (async () => run(batch.map((waiter) => waiter.item)))();
    results
      .then(
        (values) => {
          if (values.length !== batch.length) {
            const error = new Error(`Batch run returned ${values.length} results for ${batch.length} items.`);
            for (const waiter of batch) waiter.reject(error);
            return;
          }
          batch.forEach((waiter, i) => waiter.resolve(values[i] as O));
        },
        (error: unknown) => {
          for (const waiter of batch) waiter.reject(error);
        },
      )
      .finally(() => {
        running -= 1;
        schedule();
      });
  }

  return {
    submit(item: I): Promise<O> {
      if (closedWith !== undefined) return Promise.reject(closedWith);
      if (queue.length >= maxQueue) {
        return Promise.reject(
          new ShipshapeError(
            'OVERLOADED',
            `The prediction queue is full (${maxQueue} items waiting). Retry later, or raise batching.maxQueue.`,
          ),
        );
      }
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, enqueuedAt: now(), resolve, reject });
        schedule();
      });
    },
    get waiting() {
      return queue.length;
    },
    close(error: Error): void {
      if (closedWith !== undefined) return;
      closedWith = error;
      clearTimer();
      const dropped = queue;
      queue = [];
      for (const waiter of dropped) waiter.reject(error);
    },
  };
}

function checkInteger(name: string, value: number, min: number): void {
  if (!(Number.isInteger(value) && value >= min)) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `batching.${name} must be an integer >= ${min}, got ${String(value)}.`,
      { subject: `batching.${name}` },
    );
  }
}

function now(): number {
  return performance.now();
}
