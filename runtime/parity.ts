// The parity proof: a predictor reproduces its bundle's golden cases (torch's labels and logits) before it serves.
import { checkParityCases, readParityCases } from './bundle/index.ts';
import { ShipshapeError, hasErrorCode, messageOf } from './errors.ts';
import { softmax } from './softmax.ts';
import type { BatchItem, Predictor } from './types.ts';

/** What a passed proof checked. */
export interface ParityProof {
  /** Golden cases run at the serving batch size: all of them, or the sample of `MAX_SERVING_CASES`. */
  readonly cases: number;
  /** Golden cases in parity.jsonl (the manifest's `parity.cases`). */
  readonly available: number;
  /**
   * `logits` when the predictor returns them (`returnLogits`), else `scores`: its probabilities against the softmax of
   * the golden logits (or the golden outputs themselves when the model's output role is 'probabilities'), within the
   * same tolerance (softmax moves no probability by more than the largest logit change).
   */
  readonly compared: 'logits' | 'scores';
  /** The largest absolute difference seen. */
  readonly maxAbsDiff: number;
  /** The tolerance used. */
  readonly atol: number;
  /** Every batch size a session run of the proof had, ascending (1, the serving batch, the last partial one). */
  readonly batchSizes: readonly number[];
  /** Wall-clock ms of the whole proof: reading and checking the cases, and every run. */
  readonly ms: number;
}

export interface ParityProofOptions {
  /** Texts per session run when serving: the proof runs its cases at this batch size. Default 32. */
  readonly batchSize?: number;
  /** Absolute tolerance. Default the manifest's `parity.atol` (docs/bundle-format.md). */
  readonly atol?: number;
}

/** Most cases run at the serving batch; a bundle with more is proven on a deterministic sample of this many. */
export const MAX_SERVING_CASES = 256;
/** Cases run one text per session run. */
export const SINGLE_CASES = 16;

/**
 * Up to `count` indices of `length` cases, in file order: the first case of each tag first (the edge cases the
 * exporter tags: empty, whitespace, non-latin, long...), then cases evenly spaced over the file. Deterministic, so
 * every load of a bundle runs the same cases.
 */
export function sampleCases(cases: readonly { readonly tags: readonly string[] }[], count: number): number[] {
  if (cases.length <= count) return cases.map((_, i) => i);
  const chosen = new Set<number>();
  const seenTags = new Set<string>();
  cases.forEach((golden, i) => {
    if (chosen.size >= count) return;
    const fresh = golden.tags.filter((tag) => !seenTags.has(tag));
    fresh.forEach((tag) => seenTags.add(tag));
    if (fresh.length > 0) chosen.add(i);
  });
  // Fill evenly: the k-th of the remaining picks lands at floor(k * length / count), skipping those already chosen.
  for (let k = 0; chosen.size < count && k < cases.length; k++) {
    chosen.add(Math.floor((k * cases.length) / count) % cases.length);
  }
  for (let i = 0; chosen.size < count; i++) chosen.add(i);
  return [...chosen].sort((a, b) => a - b);
}

function describeRow(values: readonly number[]): string {
  return `[${values.map((value) => value.toPrecision(6)).join(', ')}]`;
}

/**
 * Proves that `predictor` reproduces its bundle on the backend it really uses, before it serves:
 *
 * 1. Without the model: the case count, each case's logit and id counts, the label order (the label at each case's
 *    top golden logit is its recorded label) and this tokenizer's ids for each text (`checkParityCases`).
 * 2. Every case at the serving `batchSize` (default 32); above `MAX_SERVING_CASES` (256) cases, the deterministic
 *    sample of `sampleCases`.
 * 3. `SINGLE_CASES` (16) of them one per session run, the first case of each tag first (`sampleCases`): a graph
 *    exported with its batch size baked in runs only at that size. When `batchSize` is 1, this sample runs as one
 *    batch instead, so two batch sizes are always proven.
 *
 * Labels must match exactly and logits (or scores, see `ParityProof.compared`) within `atol`.
 * @throws ShipshapeError PARITY_MISMATCH naming the first failing case id, its expected and actual values, and the
 *   count of failing cases, or the batch size at which the model failed to run and the likely cause; the errors of
 *   `checkParityCases` (BUNDLE_INVALID, PARITY_MISMATCH, PREPROCESSING_MISMATCH); BUNDLE_INVALID / BUNDLE_FILE_* when
 *   parity.jsonl does not read or parse; DISPOSED when the predictor is disposed meanwhile.
 */
export async function proveParity(
  predictor: Predictor,
  options: ParityProofOptions = {},
): Promise<ParityProof> {
  const started = performance.now();
  const { manifest } = predictor.bundle;
  const cases = await readParityCases(predictor.bundle);
  checkParityCases(predictor.bundle, cases);
  const where = `${predictor.bundle.source}/${manifest.parity.file}`;
  const backend = () => predictor.backend.backend;
  const atol = options.atol ?? manifest.parity.atol;
  const batchSize = options.batchSize ?? 32;
  const outputsAreProbabilities = manifest.model.outputs[0]?.role === 'probabilities';

  const serving = sampleCases(cases, MAX_SERVING_CASES).map((i) => cases[i]!);
  const single = sampleCases(serving, SINGLE_CASES).map((i) => serving[i]!);
  const singleBatch = batchSize === 1 ? single.length : 1;

  /** The session runs' sizes when `count` texts go in runs of `size`: `size`, and a last, smaller run if any. */
  const runSizes = (count: number, size: number) => [
    ...new Set([Math.min(size, count), count % size || size]),
  ];

  /** A dynamic-length bundle's texts are grouped by length: a call's session runs then hold up to `size` rows. */
  const grouped = (size: number) =>
    manifest.model.sequence?.dynamic === true && size > 1
      ? ` (in session runs of up to ${size} texts of similar length)`
      : '';

  async function run(golden: typeof cases, size: number): Promise<BatchItem[]> {
    try {
      return await predictor.predictBatch(
        golden.map((c) => c.text),
        { batchSize: size },
      );
    } catch (error) {
      if (hasErrorCode(error, 'DISPOSED') || hasErrorCode(error, 'INPUT_INVALID')) throw error;
      throw new ShipshapeError(
        'PARITY_MISMATCH',
        `The model of ${predictor.bundle.source} fails to run at batch size ` +
          `${runSizes(golden.length, size).join(' or ')} on ${backend()}${grouped(size)}: ` +
          `${messageOf(error)}. The graph probably has a batch size baked in (a packed sequence, or a Reshape or ` +
          "Expand to the dummy input's batch at export); export it with a dynamic batch axis and check it at " +
          'batch 1 and at another batch size.',
        { subject: manifest.model.file, cause: error },
      );
    }
  }

  const runs: { golden: typeof cases; items: BatchItem[]; size: number }[] = [];
  runs.push({ golden: serving, items: await run(serving, batchSize), size: batchSize });
  runs.push({ golden: single, items: await run(single, singleBatch), size: singleBatch });

  const sizes = new Set([...runSizes(serving.length, batchSize), ...runSizes(single.length, singleBatch)]);

  let compared: ParityProof['compared'] = 'logits';
  let maxAbsDiff = 0;
  const failed: { size: number; of: number; failures: string[] }[] = [];
  for (const { golden: goldens, items, size } of runs) {
    const failures: string[] = [];
    items.forEach((item, i) => {
      const golden = goldens[i]!;
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
        if (!outputsAreProbabilities) expected = softmax(golden.logits);
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
        failures.push(
          `case ${golden.id}: label "${item.label}", expected "${golden.label}" ` +
            `(${compared} ${describeRow(actual)}, expected ${describeRow(expected)})`,
        );
      } else if (!(diff <= atol)) {
        failures.push(
          `case ${golden.id}: ${compared} ${describeRow(actual)}, expected ${describeRow(expected)} ` +
            `(max abs diff ${diff.toPrecision(3)} > atol ${atol})`,
        );
      }
    });
    if (failures.length > 0) failed.push({ size, of: goldens.length, failures });
  }
  const [first] = failed;
  if (first !== undefined) {
    const counts = failed.map(
      ({ size, of, failures }) => `${failures.length} of ${of} at batch size ${size}`,
    );
    throw new ShipshapeError(
      'PARITY_MISMATCH',
      `Parity cases of ${where} differ on ${backend()}: ${counts.join(', ')}; first: ${first.failures[0]!}. ` +
        'The model does not reproduce its export; re-export the bundle or check the backend.',
      { subject: manifest.parity.file },
    );
  }
  return {
    cases: serving.length,
    available: cases.length,
    compared,
    maxAbsDiff,
    atol,
    batchSizes: [...sizes].sort((a, b) => a - b),
    ms: performance.now() - started,
  };
}

/** `1e-4` for 0.0001: tolerances and differences as a person reads them. */
function short(value: number): string {
  return value === 0 ? '0' : Number(value.toPrecision(2)).toExponential();
}

/**
 * `256 of 278 cases, logits within 1e-4 (max 2.4e-7) at batch 1 and 32, 41 ms`: what a passed proof checked (`ms` is
 * wall clock; in workerd the clock moves only on I/O, so there it leaves the CPU time out).
 */
export function describeProof({
  cases,
  available,
  compared,
  atol,
  maxAbsDiff,
  batchSizes,
  ms,
}: ParityProof): string {
  const sizes =
    batchSizes.length <= 1
      ? batchSizes.join('')
      : `${batchSizes.slice(0, -1).join(', ')} and ${batchSizes[batchSizes.length - 1]!}`;
  return (
    `${cases} of ${available} cases, ${compared} within ${short(atol)} ` +
    `(max ${short(maxAbsDiff)}) at batch ${sizes}, ${Math.round(ms)} ms`
  );
}
