// The parity proof: a predictor reproduces its bundle's golden cases (torch's labels and logits) before it serves.
import { readParityCases } from './bundle/index.ts';
import { ShipshapeError } from './errors.ts';
import { softmax } from './softmax.ts';
import type { Predictor } from './types.ts';

/** What a passed proof checked. */
export interface ParityProof {
  /** Golden cases run. */
  readonly cases: number;
  /**
   * `logits` when the predictor returns them (`returnLogits`), else `scores`: its probabilities against the softmax of
   * the golden logits, within the same tolerance (softmax moves no probability by more than the largest logit change).
   */
  readonly compared: 'logits' | 'scores';
  /** The largest absolute difference seen. */
  readonly maxAbsDiff: number;
  /** The tolerance used. */
  readonly atol: number;
}

export interface ParityProofOptions {
  /** Texts per session run. Default 32. */
  readonly batchSize?: number;
  /** Absolute tolerance. Default the manifest's `parity.atol` (docs/bundle-format.md). */
  readonly atol?: number;
}

function describeRow(values: readonly number[]): string {
  return `[${values.map((value) => value.toPrecision(6)).join(', ')}]`;
}

/**
 * Runs every case of the bundle's `parity.jsonl` through `predictor` (on the backend it really uses) and compares
 * labels exactly and logits (or scores, see `ParityProof.compared`) within `atol`.
 * @throws ShipshapeError PARITY_MISMATCH naming the first failing case id, its expected and actual values, and the
 *   count of failing cases; BUNDLE_INVALID / BUNDLE_FILE_* when parity.jsonl does not read or parse, or when it holds
 *   a number of cases other than the manifest's `parity.cases`.
 */
export async function proveParity(
  predictor: Predictor,
  options: ParityProofOptions = {},
): Promise<ParityProof> {
  const { manifest } = predictor.bundle;
  const cases = await readParityCases(predictor.bundle);
  const where = `${predictor.bundle.source}/${manifest.parity.file}`;
  if (cases.length !== manifest.parity.cases) {
    throw new ShipshapeError(
      'BUNDLE_INVALID',
      `${where} holds ${cases.length} cases; manifest.json says parity.cases is ${manifest.parity.cases}. Re-export the bundle.`,
      { subject: manifest.parity.file },
    );
  }
  const atol = options.atol ?? manifest.parity.atol;
  const items = await predictor.predictBatch(
    cases.map((golden) => golden.text),
    { batchSize: options.batchSize ?? 32 },
  );
  let compared: ParityProof['compared'] = 'logits';
  let maxAbsDiff = 0;
  const failures: string[] = [];
  items.forEach((item, i) => {
    const golden = cases[i]!;
    if (item.status === 'error') {
      failures.push(`case ${golden.id}: the prediction failed (${item.error.code}: ${item.error.message})`);
      return;
    }
    let expected: readonly number[] = golden.logits;
    let actual: readonly number[];
    if (item.logits !== undefined) {
      actual = item.logits;
    } else {
      compared = 'scores';
      expected = softmax(golden.logits);
      actual = manifest.labels.map((label) => item.scores[label] ?? Number.NaN);
    }
    let diff = expected.length === actual.length ? 0 : Infinity;
    expected.forEach((value, j) => {
      const d = Math.abs(value - (actual[j] ?? Number.NaN));
      // NaN (a missing label or value) never passes.
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    });
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    if (item.label !== golden.label) {
      failures.push(`case ${golden.id}: label "${item.label}", expected "${golden.label}"`);
    } else if (!(diff <= atol)) {
      failures.push(
        `case ${golden.id}: ${compared} ${describeRow(actual)}, expected ${describeRow(expected)} ` +
          `(max abs diff ${diff.toPrecision(3)} > atol ${atol})`,
      );
    }
  });
  if (failures.length > 0) {
    throw new ShipshapeError(
      'PARITY_MISMATCH',
      `${failures.length} of ${cases.length} parity cases of ${where} differ on ${predictor.backend.backend}; ` +
        `first: ${failures[0]}. The model does not reproduce its export; re-export the bundle or check the backend.`,
      { subject: manifest.parity.file },
    );
  }
  return { cases: cases.length, compared, maxAbsDiff, atol };
}
