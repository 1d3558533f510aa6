// The load-time parity proof as the edge runs it: one function for a first load and a swap, one log line either way.
import { describeProof, proveParity } from '../runtime/parity.ts';
import type { Predictor } from '../runtime/types.ts';
import type { Log } from './log.ts';

export interface LoadProofOptions {
  /** The serving batch size the proof runs at (besides batch 1, where `proveParity` does that too). */
  readonly batchSize: number;
  /** Serve without the proof (`--skip-parity`, `SHIPSHAPE_SKIP_PARITY=1`): a warning is logged instead. */
  readonly skip: boolean;
  /** Where the proof line, or the warning, goes. */
  readonly log: Log;
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
    const proof = await proveParity(predictor, { batchSize: options.batchSize });
    options.log.info(`${name} ${version} passed its parity proof on ${backend}: ${describeProof(proof)}`);
  } catch (error) {
    await predictor.dispose().catch(() => undefined);
    throw error;
  }
  return predictor;
}
