// `shipshape inspect DIR`: the manifest summary and a full validation of a bundle, with the parity proof on every
// backend this machine has.
import { InvalidArgumentError, type Command } from 'commander';
import { describeProof, proveParity } from '../../runtime/parity.ts';
import { readParityCases } from '../../runtime/bundle/index.ts';
import { isShipshapeError, type ErrorCode, type ShipshapeError } from '../../runtime/errors.ts';
import { createPredictor, nodePlatform } from '../../runtime/node.ts';
import type { BackendName, Bundle } from '../../runtime/types.ts';
import { DEFAULT_BUNDLE, loadBundleDir } from '../bundle-arg.ts';

export interface ParityCheck {
  readonly cases: number;
  readonly mismatches: readonly { id: number; text: string }[];
}

/** Re-tokenizes every golden case of the bundle: training's ids must come out exactly. */
export async function checkTokenizerParity(bundle: Bundle): Promise<ParityCheck> {
  const cases = await readParityCases(bundle);
  const mismatches = cases
    .filter((c) => {
      const ids = bundle.tokenizer.encode(c.text).ids;
      return ids.length !== c.ids.length || ids.some((id, i) => id !== c.ids[i]);
    })
    .map((c) => ({ id: c.id, text: c.text }));
  return { cases: cases.length, mismatches };
}

/**
 * The parity proof on one backend, as `inspect --json` prints it (the training side's tests read these keys).
 * `ok` is true only for a passed proof; a failed one has `error`, a backend this machine lacks has `skipped` (the
 * reason) and does not make the bundle invalid. Numbers the proof did not get to are null.
 */
export interface BackendProof {
  readonly backend: BackendName;
  readonly ok: boolean;
  readonly cases: number | null;
  readonly maxAbsDiff: number | null;
  readonly atol: number;
  readonly batchSizes: readonly number[];
  /** The proof's wall time (the session's creation not included); null when it did not start. */
  readonly ms: number | null;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  readonly skipped?: string;
  /** The human line's text after `parity BACKEND: `. */
  readonly summary: string;
}

/**
 * Whether `error` says the backend's onnxruntime package did not load here (onnxruntime-node is an optional
 * dependency), as opposed to a session that refused this bundle's model, which is the bundle's failure. The Node
 * platform words the first case so (runtime/platform/node.ts, `nativeLoadFailure`); no code tells them apart.
 */
function isMissingBackend(error: unknown): boolean {
  return (
    isShipshapeError(error) &&
    error.code === 'BACKEND_UNAVAILABLE' &&
    /^onnxruntime-\w+ (is not installed|failed to load|loaded but)/.test(error.message)
  );
}

/**
 * Proves `bundle` on `backend` (`proveParity` at batch `batchSize`, and at batch 1 where it does that too).
 * A backend whose package does not load here (onnxruntime-node not installed) is reported skipped; a session that
 * cannot start on this model, or a proof that fails, is reported failed with its code.
 */
export async function proveOn(
  bundle: Bundle,
  backend: BackendName,
  batchSize: number,
): Promise<BackendProof> {
  const atol = bundle.manifest.parity.atol;
  let predictor;
  try {
    predictor = await createPredictor(bundle, { backend, batching: false, returnLogits: true });
  } catch (error) {
    if (!isShipshapeError(error)) throw error;
    if (!isMissingBackend(error)) return failed(backend, atol, batchSize, null, error);
    return {
      ...unproven(backend, atol, [], null),
      skipped: error.message,
      summary: `skipped (${error.message})`,
    };
  }
  const started = performance.now();
  try {
    const proof = await proveParity(predictor, { batchSize });
    return {
      backend,
      ok: true,
      cases: proof.cases,
      maxAbsDiff: proof.maxAbsDiff,
      atol: proof.atol,
      batchSizes: proof.batchSizes,
      ms: Math.round(proof.ms * 10) / 10,
      summary: describeProof(proof),
    };
  } catch (error) {
    if (!isShipshapeError(error)) throw error;
    return failed(backend, atol, batchSize, performance.now() - started, error);
  } finally {
    await predictor.dispose();
  }
}

/** A backend's entry when no proof passed on it: the numbers the proof did not reach are null. */
function unproven(
  backend: BackendName,
  atol: number,
  batchSizes: readonly number[],
  ms: number | null,
): Omit<BackendProof, 'summary'> {
  return {
    backend,
    ok: false,
    cases: null,
    maxAbsDiff: null,
    atol,
    batchSizes,
    ms: ms === null ? null : Math.round(ms * 10) / 10,
  };
}

function failed(
  backend: BackendName,
  atol: number,
  batchSize: number,
  ms: number | null,
  error: ShipshapeError,
): BackendProof {
  return {
    ...unproven(backend, atol, [batchSize], ms),
    error: error.toJSON(),
    summary: `FAILED ${error.code}: ${error.message}`,
  };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(2)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** Valid: the tokenizer reproduces every case, no backend failed its proof, and at least one ran it. */
export function isValid(parity: ParityCheck, backends: readonly BackendProof[]): boolean {
  return (
    parity.mismatches.length === 0 &&
    backends.every((proof) => proof.ok || proof.skipped !== undefined) &&
    backends.some((proof) => proof.ok)
  );
}

function verdict(parity: ParityCheck, backends: readonly BackendProof[]): string {
  const tokenizer = `tokenizer parity ${parity.cases - parity.mismatches.length}/${parity.cases}`;
  const proven = backends.filter((proof) => proof.ok).map((proof) => proof.backend);
  if (isValid(parity, backends)) {
    return `valid: every file matches its sha256 and size; ONNX signature matches; ${tokenizer}; logits proven on ${proven.join(', ')}`;
  }
  const problems: string[] = [];
  const first = parity.mismatches[0];
  if (first !== undefined) {
    problems.push(
      `PREPROCESSING_MISMATCH: ${tokenizer}; first mismatch: case ${first.id} ${JSON.stringify(first.text.slice(0, 60))}`,
    );
  }
  const failed = backends.filter((proof) => proof.error !== undefined);
  if (failed.length > 0) {
    problems.push(
      `the parity proof failed on ${failed.map((proof) => `${proof.backend} (${proof.error!.code})`).join(', ')}`,
    );
  } else if (proven.length === 0) {
    problems.push('no backend could run the parity proof');
  }
  return `INVALID: ${problems.join('; ')}`;
}

/** The sequence axis: dynamic with the exporter's proof, or fixed at maxLen (every run padded to it). */
export function describeSequence(manifest: Bundle['manifest']): string {
  const sequence = manifest.model.sequence;
  if (sequence?.dynamic !== true) {
    return `fixed at max_len ${manifest.preprocessing.maxLen} (every run is padded to it)`;
  }
  const short = (value: number) => (value === 0 ? '0' : value.toExponential(1).replace(/\.0e/, 'e'));
  return (
    `dynamic, checked at ${sequence.checkedLengths.join(', ')} ` +
    `(max |diff| ${short(sequence.maxAbsDiff)} vs the max_len run, atol ${short(sequence.atol)})`
  );
}

export function describeBundle(
  bundle: Bundle,
  parity: ParityCheck,
  backends: readonly BackendProof[],
): string {
  const m = bundle.manifest;
  const io = (v: { name: string; dtype: string; shape: readonly (number | string)[] }) =>
    `${v.name} ${v.dtype} [${v.shape.join(', ')}]`;
  const files = Object.entries(m.files).map(
    ([name, f]) =>
      `    ${name.padEnd(20)} ${formatBytes(f.size).padStart(10)}  sha256 ${f.sha256.slice(0, 12)}…`,
  );
  const total = Object.values(m.files).reduce((sum, f) => sum + f.size, 0);
  const p = m.preprocessing;
  return [
    `${m.name} ${m.version}  (${m.task}, created ${m.createdAt})`,
    `  model      ${m.model.file}, opset ${m.model.opset}`,
    `  inputs     ${m.model.inputs.map(io).join('; ')}`,
    `  sequence   ${describeSequence(m)}`,
    `  outputs    ${m.model.outputs.map(io).join('; ')}`,
    `  labels     ${m.labels.join(', ')}`,
    `  tokenizer  ${p.tokenizer}, max_len ${p.maxLen}, truncation ${p.truncation}, padding ${p.padding}, ` +
      `vocab ${bundle.tokenizer.vocabSize} (${p.specialTokens.unk.token}=${p.specialTokens.unk.id}, ` +
      `${p.specialTokens.pad.token}=${p.specialTokens.pad.id})`,
    `  metrics    accuracy ${m.metrics.accuracy.toFixed(4)}, OOV rate ${m.metrics.oovRate.toFixed(4)} ` +
      `(${m.metrics.split}, ${m.metrics.examples} examples)`,
    `  files      ${Object.keys(m.files).length} files, ${formatBytes(total)}`,
    ...files,
    ...backends.map((proof) => `  parity ${proof.backend}: ${proof.summary}`),
    verdict(parity, backends),
  ].join('\n');
}

interface InspectFlags {
  json?: boolean;
  backend?: BackendName;
  batchSize: number;
}

function parseBackend(value: string): BackendName {
  if (!(nodePlatform.ladder as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `Unsupported backend "${value}". Should be one of: ${nodePlatform.ladder.join(', ')}.`,
    );
  }
  return value as BackendName;
}

function parseBatchSize(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`expected an integer >= 1, got "${value}".`);
  }
  return Number(value);
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("print a bundle's manifest summary and validate every file (exit 1 when invalid)")
    .argument('[dir]', 'bundle directory', DEFAULT_BUNDLE)
    .option('--json', 'print the manifest and the validation result as JSON')
    .option(
      '--backend <backend>',
      `prove parity on this backend only (${nodePlatform.ladder.join(', ')}); default every one`,
      parseBackend,
    )
    .option('--batch-size <n>', 'the serving batch size the proof runs at', parseBatchSize, 32)
    .action(async (dir: string, flags: InspectFlags) => {
      try {
        const bundle = await loadBundleDir(dir);
        const parity = await checkTokenizerParity(bundle);
        const backends: BackendProof[] = [];
        // One after the other: each proof has the cores to itself, so its time means something.
        for (const backend of flags.backend === undefined ? nodePlatform.ladder : [flags.backend]) {
          backends.push(await proveOn(bundle, backend, flags.batchSize));
        }
        const valid = isValid(parity, backends);
        if (flags.json) {
          const json = backends.map(({ summary: _summary, ...proof }) => proof);
          process.stdout.write(
            `${JSON.stringify({ valid, manifest: bundle.manifest, parity, backends: json }, null, 2)}\n`,
          );
        } else {
          process.stdout.write(`${describeBundle(bundle, parity, backends)}\n`);
        }
        if (!valid) process.exitCode = 1;
      } catch (error) {
        if (!isShipshapeError(error)) throw error;
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ valid: false, error: error.toJSON(), file: error.subject }, null, 2)}\n`,
          );
        } else {
          process.stderr.write(`invalid bundle ${dir}\n  ${error.code}: ${error.message}\n`);
        }
        process.exitCode = 1;
      }
    });
}
