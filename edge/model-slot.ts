// The one model an edge serves: loaded once, warmed up, and ready (or not) for /readyz to report.
import type { Predictor } from '../runtime/types.ts';
import { isShipshapeError } from '../runtime/errors.ts';
import { EdgeError } from './errors.ts';
import type { Log } from './log.ts';

export type ModelState = 'idle' | 'loading' | 'ready' | 'failed';

/** Text the warm-up prediction runs, so the first client does not pay for lazy initialization inside the session. */
const WARM_UP_TEXT = 'shipshape warm-up';

/** After a failed load, calls within this many ms get the same failure instead of loading again. */
const RETRY_AFTER_FAILURE_MS = 5_000;

export interface ModelSlot {
  readonly state: ModelState;
  /** The predictor when `state` is 'ready'. */
  readonly current: Predictor | undefined;
  /** Why the last load failed, when `state` is 'failed'. */
  readonly failure: unknown;
  /**
   * Loads and warms up the predictor, once; concurrent callers share the load. After a failure the next call tries
   * again (a Worker's asset or R2 read may fail transiently).
   * @throws EdgeError MODEL_UNAVAILABLE when loading or warming up fails (the cause is kept, and logged).
   */
  load(): Promise<Predictor>;
  dispose(): Promise<void>;
}

/** @param log Where a failed load is reported (one line, repeats counted). */
export function createModelSlot(loadPredictor: () => Promise<Predictor>, log: Log): ModelSlot {
  let state: ModelState = 'idle';
  let current: Predictor | undefined;
  let failure: unknown;
  let pending: Promise<Predictor> | undefined;
  let failedAt = -Infinity;
  let failedWith: EdgeError | undefined;

  async function loadAndWarm(): Promise<Predictor> {
    const predictor = await loadPredictor();
    try {
      await predictor.predict(WARM_UP_TEXT);
    } catch (error) {
      await predictor.dispose().catch(() => undefined);
      throw error;
    }
    return predictor;
  }

  return {
    get state() {
      return state;
    },
    get current() {
      return current;
    },
    get failure() {
      return failure;
    },
    load() {
      if (current !== undefined) return Promise.resolve(current);
      if (pending !== undefined) return pending;
      if (failedWith !== undefined && Date.now() - failedAt < RETRY_AFTER_FAILURE_MS) {
        return Promise.reject(failedWith);
      }
      state = 'loading';
      pending = loadAndWarm().then(
        (predictor) => {
          current = predictor;
          state = 'ready';
          failure = undefined;
          failedWith = undefined;
          pending = undefined;
          return predictor;
        },
        (error: unknown) => {
          state = 'failed';
          failure = error;
          pending = undefined;
          const reason = error instanceof Error ? error.message : String(error);
          log.error('the model failed to load', { reason });
          failedAt = Date.now();
          // Clients get the code, not the message: a bundle error names server paths. Configuration errors name the
          // variable to fix (never its value), so they are passed on.
          const told = isShipshapeError(error)
            ? `The model failed to load (${error.code}); the server log has the details.`
            : `The model failed to load: ${reason}`;
          failedWith = new EdgeError('MODEL_UNAVAILABLE', told, { cause: error });
          throw failedWith;
        },
      );
      return pending;
    },
    async dispose() {
      const predictor = current ?? (await pending?.catch(() => undefined));
      current = undefined;
      state = 'idle';
      await predictor?.dispose();
    },
  };
}
