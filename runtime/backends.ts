// The backend ladder: which backends each platform tries, in what order, and when a predictor falls back to the next.
import { ShipshapeError, messageOf } from './errors.ts';

/** Every backend shipshape knows, in no particular order. */
export const BACKEND_NAMES = Object.freeze(['native', 'webgpu', 'wasm'] as const);
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendChoice = 'auto' | BackendName;

/** The platforms a predictor runs on; each has one ladder. */
export type PlatformName = 'node' | 'browser' | 'workerd';

/**
 * Each platform's ladder, best backend first. 'auto' takes the first that starts; a backend lost while serving
 * (a WebGPU device) is replaced by the next one below it. Nothing else falls back.
 */
export const BACKEND_LADDERS: Readonly<Record<PlatformName, readonly BackendName[]>> = Object.freeze({
  // onnxruntime-node is an optional dependency (its install can fail offline); WASM always ships.
  node: Object.freeze(['native', 'wasm'] as const),
  // WebGPU needs a GPU adapter from the browser, and its device can be lost while serving.
  browser: Object.freeze(['webgpu', 'wasm'] as const),
  // onnxruntime-web's WebGPU bundle instantiates in workerd and then hangs the request: Workers get WASM only.
  workerd: Object.freeze(['wasm'] as const),
});

/** Why a backend above the one in use was not used. */
export interface SkippedBackend {
  readonly backend: BackendName;
  readonly reason: string;
}

/** The backend that really runs, and why each one above it on the ladder was skipped. */
export interface BackendReport {
  readonly backend: BackendName;
  readonly skipped: readonly SkippedBackend[];
  /** Set when the backend changed while serving (e.g. WebGPU device lost, rebuilt on WASM). */
  readonly fallbackReason?: string;
}

/** True when `value` names a backend (on some platform). */
export function isBackendName(value: unknown): value is BackendName {
  return typeof value === 'string' && (BACKEND_NAMES as readonly string[]).includes(value);
}

/** Where to start on a ladder: the backends to try in order, and those above them skipped by request. */
export interface LadderStart {
  readonly candidates: readonly BackendName[];
  readonly skipped: readonly SkippedBackend[];
}

/**
 * The backends to try for `choice` on `ladder`: the whole ladder for 'auto'; for a named backend, only that one,
 * with every backend above it recorded as skipped ("not requested").
 * @throws ShipshapeError BACKEND_UNAVAILABLE (`Unsupported backend "webgpu" on node. Should be one of: native,
 *   wasm.`) when `choice` is neither 'auto' nor on the ladder.
 */
export function ladderStart(platform: string, ladder: readonly BackendName[], choice: string): LadderStart {
  if (choice === 'auto') return { candidates: ladder, skipped: [] };
  const at = ladder.indexOf(choice as BackendName);
  if (at < 0) {
    throw new ShipshapeError(
      'BACKEND_UNAVAILABLE',
      `Unsupported backend "${choice}" on ${platform}. Should be one of: ${ladder.join(', ')}.`,
      { subject: choice },
    );
  }
  return {
    candidates: [choice as BackendName],
    skipped: ladder
      .slice(0, at)
      .map((backend) => ({ backend, reason: `not requested (backend: "${choice}")` })),
  };
}

/** The backends a predictor may fall back to when `lost` fails while serving: the ones below it, in order. */
export function fallbacksBelow(ladder: readonly BackendName[], lost: BackendName): readonly BackendName[] {
  return ladder.slice(ladder.indexOf(lost) + 1);
}

/** The outcome of trying backends in order: the first that started, or why each failed. */
export type LadderClimb<T> =
  | { readonly started: T; readonly backend: BackendName; readonly skipped: readonly SkippedBackend[] }
  | { readonly started: undefined; readonly skipped: readonly SkippedBackend[]; readonly lastError: unknown };

/**
 * Tries `start` on each backend of `candidates` in order and stops at the first that resolves; each failure is
 * recorded as a skip with its message. Never throws: the caller decides what no backend starting means.
 */
export async function climbLadder<T>(
  candidates: readonly BackendName[],
  start: (backend: BackendName) => Promise<T>,
): Promise<LadderClimb<T>> {
  const skipped: SkippedBackend[] = [];
  let lastError: unknown;
  for (const backend of candidates) {
    try {
      return { started: await start(backend), backend, skipped };
    } catch (error) {
      lastError = error;
      skipped.push({ backend, reason: messageOf(error) });
    }
  }
  return { started: undefined, skipped, lastError };
}

/** A report frozen all the way down, so a caller cannot edit what the predictor says about itself. */
export function freezeReport(report: BackendReport): BackendReport {
  return Object.freeze({
    ...report,
    skipped: Object.freeze(report.skipped.map((skip) => Object.freeze({ ...skip }))),
  });
}

/** `backend: reason`, for messages listing skips. */
export function describeSkip(skip: SkippedBackend): string {
  return `${skip.backend}: ${skip.reason}`;
}
