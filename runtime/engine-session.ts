// A predictor's session lifecycle: start on the platform's ladder, one run at a time, rebuild below a lost device,
// dispose once.
import {
  climbLadder,
  describeSkip,
  fallbacksBelow,
  freezeReport,
  ladderStart,
  type BackendName,
  type BackendReport,
  type SkippedBackend,
} from './backends.ts';
import type { EngineMemory, InferenceEngine, PlainTensor, Platform } from './engine.ts';
import { ShipshapeError, isShipshapeError, messageOf } from './errors.ts';
import { checkEngineIo, type ModelIo } from './model-io.ts';

export interface EngineSessionOptions {
  readonly platform: Platform;
  /** The model's bytes, kept to rebuild on another backend after a lost device. */
  readonly model: Uint8Array;
  /** Where the bundle was loaded from, for messages. */
  readonly source: string;
  readonly io: ModelIo;
  /** 'auto', a backend name, or anything else (refused with the ladder in the message). */
  readonly backend: string;
  readonly numThreads: number;
}

/** The outputs of one session run, with the backend that produced them. */
export interface SessionRun {
  readonly outputs: Record<string, PlainTensor>;
  /** Wall-clock ms of the (last) session run alone. */
  readonly runMs: number;
  readonly backend: BackendName;
}

/** One engine at a time behind a queue; replaced by the next backend down the ladder when its device is lost. */
export interface EngineSession {
  /** The backend in use and why the ones above it were skipped; changes after a rebuild. */
  readonly report: BackendReport;
  /** True once `dispose` was called. */
  readonly disposing: boolean;
  /** Runs `task` after every task queued before it: one session run at a time per engine. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  /**
   * Makes the session ready for a run: refuses after dispose, rebuilds first when the device was lost.
   * @throws ShipshapeError DISPOSED, or BACKEND_UNAVAILABLE when a lost device could not be replaced.
   */
  ready(): Promise<void>;
  /**
   * Runs `feeds` on the current engine. A device lost mid-run: rebuild below it and retry once, so callers never
   * see the loss. Call under `exclusive`, after `ready`.
   * @throws the engine's error (BACKEND_FAILED) when the run fails otherwise.
   */
  run(feeds: Readonly<Record<string, PlainTensor>>): Promise<SessionRun>;
  /** The current engine's memory; `{}` when it cannot tell. */
  memory(): EngineMemory;
  /** Disposes the engine after the task in progress; tasks queued after see DISPOSED. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Starts an engine on the platform's ladder and checks its inputs and outputs against the manifest.
 *
 * Backend choice: 'auto' walks the ladder and takes the first backend whose engine starts, recording why each one
 * above it was skipped; a named backend starts exactly that one or fails. If the engine later reports a lost device,
 * the session rebuilds on the next backend down the ladder and says so in `report.fallbackReason` (logged once with
 * `console.warn`).
 * @throws ShipshapeError BACKEND_UNAVAILABLE when the named backend is not on the ladder or cannot start, or when no
 *   backend on the ladder starts ('auto'); BUNDLE_MODEL_MISMATCH when the session's inputs or outputs are not the
 *   manifest's.
 */
export async function startEngineSession(options: EngineSessionOptions): Promise<EngineSession> {
  const { platform, model, source, io, numThreads } = options;
  let { engine, report } = await startOnLadder(platform, model, options.backend, numThreads);
  try {
    checkEngineIo(engine, io, source);
  } catch (error) {
    await engine.dispose();
    throw error;
  }

  let tail: Promise<unknown> = Promise.resolve();
  let disposing: Promise<void> | undefined;
  let lostReason: string | undefined;
  let broken: ShipshapeError | undefined;

  const disposedError = (): ShipshapeError =>
    new ShipshapeError('DISPOSED', `The predictor for ${source} was disposed; create a new one.`);

  function exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = tail.then(task);
    tail = result.catch(() => undefined);
    return result;
  }

  function watch(current: InferenceEngine): void {
    current.onLost?.((reason) => {
      if (current !== engine || lostReason !== undefined || disposing !== undefined) return;
      lostReason = reason;
      // Rebuild now rather than at the next call, so `report` tells the truth as soon as possible.
      exclusive(rebuildIfLost).catch(() => undefined);
    });
  }
  watch(engine);

  async function rebuildIfLost(): Promise<void> {
    const reason = lostReason;
    if (reason === undefined || disposing !== undefined) return;
    const lost = engine;
    const below = fallbacksBelow(platform.ladder, lost.backend);
    const climb = await climbLadder(below, async (backend) => {
      const next = await platform.createEngine(backend, model, { numThreads });
      try {
        checkEngineIo(next, io, source);
      } catch (error) {
        await next.dispose().catch(() => undefined);
        throw error;
      }
      return next;
    });
    const skipped: SkippedBackend[] = [
      ...report.skipped,
      { backend: lost.backend, reason: `device lost while serving: ${reason}` },
      ...climb.skipped,
    ];
    lostReason = undefined;
    await lost.dispose().catch(() => undefined);
    if (climb.started === undefined) {
      broken = new ShipshapeError(
        'BACKEND_UNAVAILABLE',
        `The ${lost.backend} device was lost (${reason}) and no backend below it on ${platform.name} could start` +
          (below.length === 0 ? '.' : `: ${climb.skipped.map(describeSkip).join('; ')}.`) +
          ' Create a new predictor.',
        { cause: climb.lastError, subject: lost.backend },
      );
      return;
    }
    const next = climb.started;
    engine = next;
    const fallbackReason = `${lost.backend} device lost (${reason}); rebuilt on ${next.backend}`;
    report = freezeReport({ backend: next.backend, skipped, fallbackReason });
    console.warn(`shipshape: ${fallbackReason}.`);
    watch(next);
  }

  function throwIfBroken(): void {
    if (broken !== undefined) throw broken;
  }

  return {
    get report() {
      return report;
    },
    get disposing() {
      return disposing !== undefined;
    },
    exclusive,
    async ready(): Promise<void> {
      if (disposing !== undefined) throw disposedError();
      if (lostReason !== undefined) await rebuildIfLost();
      throwIfBroken();
    },
    async run(feeds: Readonly<Record<string, PlainTensor>>): Promise<SessionRun> {
      let runStarted = performance.now();
      let outputs: Record<string, PlainTensor>;
      try {
        outputs = await engine.run(feeds);
      } catch (error) {
        if (lostReason === undefined) throw error;
        await rebuildIfLost();
        throwIfBroken();
        runStarted = performance.now();
        outputs = await engine.run(feeds);
      }
      return { outputs, runMs: performance.now() - runStarted, backend: engine.backend };
    },
    memory(): EngineMemory {
      return engine.memory?.() ?? {};
    },
    dispose(): Promise<void> {
      // Let the run in progress finish for its callers; everything queued after it sees DISPOSED.
      disposing ??= exclusive(() => engine.dispose());
      return disposing;
    },
  };
}

/** Starts the first engine for `choice`: see `ladderStart` for which backends are tried. */
async function startOnLadder(
  platform: Platform,
  model: Uint8Array,
  choice: string,
  numThreads: number,
): Promise<{ engine: InferenceEngine; report: BackendReport }> {
  const { candidates, skipped } = ladderStart(platform.name, platform.ladder, choice);
  const start = (backend: BackendName) => platform.createEngine(backend, model, { numThreads });
  if (choice !== 'auto') {
    const backend = candidates[0] as BackendName;
    try {
      const engine = await start(backend);
      return { engine, report: freezeReport({ backend: engine.backend, skipped }) };
    } catch (error) {
      throw asUnavailable(error, backend);
    }
  }
  const climb = await climbLadder(candidates, start);
  if (climb.started !== undefined) {
    return {
      engine: climb.started,
      report: freezeReport({ backend: climb.started.backend, skipped: climb.skipped }),
    };
  }
  throw new ShipshapeError(
    'BACKEND_UNAVAILABLE',
    `No backend could start on ${platform.name}: ${climb.skipped.map(describeSkip).join('; ')}.`,
    { cause: climb.lastError },
  );
}

function asUnavailable(error: unknown, backend: BackendName): ShipshapeError {
  if (isShipshapeError(error)) return error;
  return new ShipshapeError(
    'BACKEND_UNAVAILABLE',
    `Backend "${backend}" could not start: ${messageOf(error)}`,
    {
      cause: error,
      subject: backend,
    },
  );
}
