// The load-time parity proof as the edge runs it: one function for a first load and a swap, one log line either way.
import { proveParity, type ParityProof } from '../runtime/parity.ts';
import type { Predictor } from '../runtime/types.ts';
import type { Log } from './log.ts';

/** A passed proof, with the batch sizes it ran at and how long it took. */
export interface TimedProof {
  readonly proof: ParityProof;
  readonly batchSizes: readonly number[];
  readonly ms: number;
}

export interface LoadProofOptions {
  /** The serving batch size the proof runs at (besides batch 1, where `proveParity` does that too). */
  readonly batchSize: number;
  /** Serve without the proof (`--skip-parity`, `SHIPSHAPE_SKIP_PARITY=1`): a warning is logged instead. */
  readonly skip: boolean;
  /** Where the proof line, or the warning, goes. */
  readonly log: Log;
}

/**
 * The batch sizes a proof ran at: its own record when `proveParity` keeps one, else the one batch size it was given
 * (a result without `batchSizes` comes from a `proveParity` that runs only that one).
 */
function batchSizesOf(proof: ParityProof, asked: number): readonly number[] {
  const recorded: unknown = (proof as { readonly batchSizes?: unknown }).batchSizes;
  if (!Array.isArray(recorded)) return [asked];
  return recorded.filter((size): size is number => typeof size === 'number');
}

/**
 * Runs `proveParity(predictor, { batchSize })` and times it (wall clock; in workerd the clock moves only on I/O, so
 * there it leaves the CPU time out).
 * @throws whatever `proveParity` throws: ShipshapeError PARITY_MISMATCH, PREPROCESSING_MISMATCH, BUNDLE_*.
 */
export async function timeProof(predictor: Predictor, batchSize: number): Promise<TimedProof> {
  const started = performance.now();
  const proof = await proveParity(predictor, { batchSize });
  return { proof, batchSizes: batchSizesOf(proof, batchSize), ms: performance.now() - started };
}

/** `1e-4` for 0.0001: tolerances and differences as a person reads them. */
function short(value: number): string {
  return value === 0 ? '0' : Number(value.toPrecision(2)).toExponential();
}

/** `278/278 cases, logits within 1e-4 (max 2.4e-7) at batch 1 and 32, 41 ms`: what a passed proof checked. */
export function describeProof({ proof, batchSizes, ms }: TimedProof): string {
  const sizes =
    batchSizes.length <= 1
      ? batchSizes.join('')
      : `${batchSizes.slice(0, -1).join(', ')} and ${batchSizes[batchSizes.length - 1]!}`;
  return (
    `${proof.cases}/${proof.cases} cases, ${proof.compared} within ${short(proof.atol)} ` +
    `(max ${short(proof.maxAbsDiff)}) at batch ${sizes}, ${Math.round(ms)} ms`
  );
}

/**
 * Proves a freshly loaded predictor before it serves (or logs that the proof was skipped), on the backend it really
 * uses (for a worker pool, the workers' backend): the same step for the first load and for every swap, so both log
 * the same line. Disposes the predictor when the proof fails.
 * @returns the predictor, proven.
 * @throws whatever `proveParity` throws (PARITY_MISMATCH, PREPROCESSING_MISMATCH, BUNDLE_*).
 */
export async function proveBeforeServing(
  predictor: Predictor,
  options: LoadProofOptions,
): Promise<Predictor> {
  const { name, version } = predictor.bundle.manifest;
  const backend = predictor.backend.backend;
  if (options.skip) {
    // Not counted as a repeat: every load without the proof gets its own line, even two swaps within a second.
    options.log.write(
      'warn',
      `${name} ${version} serves on ${backend} WITHOUT its parity proof (--skip-parity or SHIPSHAPE_SKIP_PARITY=1): ` +
        'its outputs were not compared with parity.jsonl. Use this in emergencies only.',
      {},
      { dedupe: false },
    );
    return predictor;
  }
  try {
    const timed = await timeProof(predictor, options.batchSize);
    options.log.info(`${name} ${version} passed its parity proof on ${backend}: ${describeProof(timed)}`);
  } catch (error) {
    await predictor.dispose().catch(() => undefined);
    throw error;
  }
  return predictor;
}
