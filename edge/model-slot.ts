// The one model an edge serves: loaded once, warmed up, swapped atomically for a new one, drained at shutdown.
import type { Predictor } from '../runtime/types.ts';
import { isShipshapeError, ShipshapeError } from '../runtime/errors.ts';
import { EdgeError, isEdgeError } from './errors.ts';
import type { Log } from './log.ts';

export type ModelState = 'idle' | 'loading' | 'ready' | 'failed';

/** Text the warm-up prediction runs, so the first client does not pay for lazy initialization inside the session. */
const WARM_UP_TEXT = 'shipshape warm-up';

/** After a failed load, calls within this many ms get the same failure instead of loading again. */
const RETRY_AFTER_FAILURE_MS = 5_000;

/** A model's name and version, as `/v1/models` reports them. */
export interface ModelVersion {
  readonly name: string;
  readonly version: string;
}

/** What a swap did: the model that served before (none if none had loaded) and the one serving now. */
export interface ModelSwap {
  readonly previous: ModelVersion | undefined;
  readonly current: ModelVersion;
  readonly backend: string;
}

export interface ModelSlot {
  readonly state: ModelState;
  /** The predictor when `state` is 'ready'. */
  readonly current: Predictor | undefined;
  /** Why the last load failed, when `state` is 'failed'. */
  readonly failure: unknown;
  /** True once `drain()` was called: the server is shutting down and readiness probes answer "not ready". */
  readonly draining: boolean;
  /**
   * Loads and warms up the predictor, once; concurrent callers share the load. After a failure the next call tries
   * again (a Worker's asset or R2 read may fail transiently).
   * @throws EdgeError MODEL_UNAVAILABLE when loading or warming up fails (the cause is kept, and logged).
   */
  load(): Promise<Predictor>;
  /**
   * Runs `work` with the serving predictor (loading it first if needed) and holds that predictor until `work`
   * settles: a swap meanwhile disposes it only after its last holder let go, so no request sees DISPOSED.
   * @throws EdgeError MODEL_UNAVAILABLE as `load()`; ShipshapeError DISPOSED after `dispose()`; whatever `work` throws.
   */
  use<T>(work: (predictor: Predictor) => T | Promise<T>): Promise<T>;
  /**
   * Loads a new predictor with `loadPredictor` (which verifies it), warms it up while the old one serves, then
   * switches in one step. Requests that took the old predictor finish on it; it is disposed after the last one.
   * @throws EdgeError SWAP_REFUSED when loading, verifying or warming up fails (the old model keeps serving; the cause
   *   is kept and logged, never sent: it names server paths), SWAP_IN_PROGRESS while another swap runs, NOT_READY
   *   while draining.
   */
  swap(loadPredictor: () => Promise<Predictor>): Promise<ModelSwap>;
  /** Marks the slot draining (shutdown has begun); the predictor keeps serving the requests that still come. */
  drain(): void;
  /** Disposes every predictor now, held or not (at shutdown, after the drain). */
  dispose(): Promise<void>;
}

/** A predictor and how many requests hold it; `retired` once a swap replaced it. */
interface Lease {
  readonly predictor: Predictor;
  users: number;
  retired: boolean;
}

const versionOf = (predictor: Predictor): ModelVersion => {
  const { name, version } = predictor.bundle.manifest;
  return { name, version };
};

const describe = (model: ModelVersion | undefined) =>
  model === undefined ? 'no model' : `${model.name} ${model.version}`;

async function warmUp(predictor: Predictor): Promise<Predictor> {
  try {
    await predictor.predict(WARM_UP_TEXT);
  } catch (error) {
    await predictor.dispose().catch(() => undefined);
    throw error;
  }
  return predictor;
}

/** @param log Where failed loads, swaps and disposals are reported (one line each, repeats counted). */
export function createModelSlot(loadPredictor: () => Promise<Predictor>, log: Log): ModelSlot {
  let state: ModelState = 'idle';
  let lease: Lease | undefined;
  let failure: unknown;
  let pending: Promise<Predictor> | undefined;
  let swapping: Promise<ModelSwap> | undefined;
  let failedAt = -Infinity;
  let failedWith: EdgeError | undefined;
  let draining = false;
  let disposed = false;
  const retired = new Set<Lease>();

  function disposeLease(held: Lease): void {
    retired.delete(held);
    held.predictor.dispose().catch((error: unknown) => {
      log.error(`disposing ${describe(versionOf(held.predictor))} failed`, {
        reason: error instanceof Error ? error.message : String(error),
      });
    });
  }

  function install(predictor: Predictor): void {
    const old = lease;
    lease = { predictor, users: 0, retired: false };
    state = 'ready';
    failure = undefined;
    failedWith = undefined;
    if (old !== undefined) {
      old.retired = true;
      if (old.users === 0) disposeLease(old);
      else retired.add(old);
    }
  }

  const slot: ModelSlot = {
    get state() {
      return state;
    },
    get current() {
      return lease?.predictor;
    },
    get failure() {
      return failure;
    },
    get draining() {
      return draining;
    },
    load() {
      if (lease !== undefined) return Promise.resolve(lease.predictor);
      if (disposed) return Promise.reject(new ShipshapeError('DISPOSED', 'The server is shutting down.'));
      if (pending !== undefined) return pending;
      if (failedWith !== undefined && Date.now() - failedAt < RETRY_AFTER_FAILURE_MS) {
        return Promise.reject(failedWith);
      }
      state = 'loading';
      pending = loadPredictor()
        .then(warmUp)
        .then(
          (predictor) => {
            pending = undefined;
            // A swap finished first: its model is newer, so this one is not installed.
            if (lease !== undefined || disposed) {
              void predictor.dispose().catch(() => undefined);
              if (lease !== undefined) return lease.predictor;
              throw new ShipshapeError('DISPOSED', 'The server is shutting down.');
            }
            install(predictor);
            return predictor;
          },
          (error: unknown) => {
            state = lease === undefined ? 'failed' : state;
            failure = error;
            pending = undefined;
            const reason = error instanceof Error ? error.message : String(error);
            log.error('the model failed to load', { reason });
            failedAt = Date.now();
            // Clients get the code, not the message: a bundle error names server paths. Configuration errors name
            // the variable to fix (never its value), so they are passed on.
            const told = isShipshapeError(error)
              ? `The model failed to load (${error.code}); the server log has the details.`
              : `The model failed to load: ${reason}`;
            failedWith = new EdgeError('MODEL_UNAVAILABLE', told, { cause: error });
            throw failedWith;
          },
        );
      return pending;
    },
    async use(work) {
      await slot.load();
      // Read after the await: a swap may have installed a newer predictor meanwhile, and the old one may be gone.
      const held = lease;
      if (held === undefined) throw new ShipshapeError('DISPOSED', 'The server is shutting down.');
      held.users += 1;
      try {
        return await work(held.predictor);
      } finally {
        held.users -= 1;
        if (held.retired && held.users === 0 && retired.has(held)) disposeLease(held);
      }
    },
    swap(loadNext) {
      if (draining || disposed) {
        return Promise.reject(new EdgeError('NOT_READY', 'The server is shutting down; no model swap now.'));
      }
      if (swapping !== undefined) {
        return Promise.reject(
          new EdgeError('SWAP_IN_PROGRESS', 'A model swap is already running; retry when it has finished.'),
        );
      }
      const run = async (): Promise<ModelSwap> => {
        // A first load still running would install its (older) model after ours; let it settle first.
        await pending?.catch(() => undefined);
        const before = lease === undefined ? undefined : versionOf(lease.predictor);
        let next: Predictor;
        try {
          next = await warmUp(await loadNext());
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          log.error(`model swap refused, ${describe(before)} keeps serving`, { reason });
          const code = isShipshapeError(error) || isEdgeError(error) ? ` (${error.code})` : '';
          throw new EdgeError(
            'SWAP_REFUSED',
            `The new model was refused${code}; ${describe(before)} keeps serving. The server log has the details.`,
            { cause: error },
          );
        }
        if (draining || disposed) {
          await next.dispose();
          throw new EdgeError('NOT_READY', 'The server is shutting down; no model swap now.');
        }
        install(next);
        const swap = { previous: before, current: versionOf(next), backend: next.backend.backend };
        log.info(`now serving ${describe(swap.current)} on ${swap.backend} (was ${describe(before)})`);
        return swap;
      };
      swapping = run().finally(() => {
        swapping = undefined;
      });
      return swapping;
    },
    drain() {
      draining = true;
    },
    async dispose() {
      disposed = true;
      await swapping?.catch(() => undefined);
      const loaded = await pending?.catch(() => undefined);
      const all = [...retired, ...(lease === undefined ? [] : [lease])];
      lease = undefined;
      retired.clear();
      state = 'idle';
      await Promise.all([
        ...all.map((held) => held.predictor.dispose()),
        ...(loaded === undefined || all.some((held) => held.predictor === loaded) ? [] : [loaded.dispose()]),
      ]);
    },
  };
  return slot;
}
