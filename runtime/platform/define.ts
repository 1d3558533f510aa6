// Builds a platform from a table of its backends' engine factories, so each platform only says what it can run.
import { BACKEND_LADDERS, type BackendName, type PlatformName } from '../backends.ts';
import type { EngineOptions, InferenceEngine, Platform } from '../engine.ts';
import { ShipshapeError } from '../errors.ts';

/** Starts an engine on one backend of a platform. */
export type EngineFactory = (model: Uint8Array, options: EngineOptions) => Promise<InferenceEngine>;

/**
 * The platform `name` with its ladder from `BACKEND_LADDERS` and one engine factory per backend it has. A backend
 * without a factory is refused (a rejected promise, never a fallback) with BACKEND_UNAVAILABLE, its message from
 * `refusal`, and the backend as `subject`.
 */
export function definePlatform(
  name: PlatformName,
  engines: Partial<Readonly<Record<BackendName, EngineFactory>>>,
  refusal: (backend: BackendName) => string,
): Platform {
  return {
    name,
    ladder: BACKEND_LADDERS[name],
    createEngine(backend: BackendName, model: Uint8Array, options: EngineOptions): Promise<InferenceEngine> {
      const create = engines[backend];
      if (create === undefined) {
        return Promise.reject(
          new ShipshapeError('BACKEND_UNAVAILABLE', refusal(backend), { subject: backend }),
        );
      }
      return create(model, options);
    },
  };
}
