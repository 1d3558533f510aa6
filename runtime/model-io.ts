// The model's inputs and outputs as the manifest names them: resolving them, checking a session against them, and
// packing encodings into the session's feeds.
import type { InferenceEngine, PlainTensor } from './engine.ts';
import { ShipshapeError } from './errors.ts';
import { runLength } from './length-groups.ts';
import type { Encoding, Manifest } from './types.ts';

/** The model's ids, mask and logits as the manifest names them, and how its outputs and padding are to be read. */
export interface ModelIo {
  readonly ids: { readonly name: string; readonly dtype: 'int64' | 'int32' };
  readonly mask: { readonly name: string; readonly dtype: 'int64' | 'int32' } | undefined;
  readonly logits: string;
  /** The manifest's output role is 'probabilities': the model applied softmax itself, so scores are its outputs. */
  readonly outputsAreProbabilities: boolean;
  readonly padLeft: boolean;
  /**
   * The graph accepts any sequence length up to maxLen (the manifest's `model.sequence.dynamic`): each run is padded
   * to its longest text, rounded up to a multiple of 8, instead of maxLen.
   */
  readonly dynamicLength: boolean;
}

/**
 * Reads the model's inputs and outputs from the manifest.
 * @throws ShipshapeError BUNDLE_INVALID when an input is float32, or there is no `input_ids` input or no output.
 */
export function resolveModelIo(manifest: Manifest): ModelIo {
  const input = (role: 'input_ids' | 'attention_mask') => {
    const found = manifest.model.inputs.find((candidate) => candidate.role === role);
    if (found === undefined) return undefined;
    if (found.dtype === 'float32') {
      throw new ShipshapeError(
        'BUNDLE_INVALID',
        `Model input "${found.name}" (${role}) is float32; shipshape feeds int64 or int32.`,
        { subject: 'manifest.json' },
      );
    }
    return { name: found.name, dtype: found.dtype };
  };
  const ids = input('input_ids');
  const logits = manifest.model.outputs[0];
  if (ids === undefined || logits === undefined) {
    throw new ShipshapeError(
      'BUNDLE_INVALID',
      'The manifest needs a model input with role "input_ids" and one output.',
      {
        subject: 'manifest.json',
      },
    );
  }
  return {
    ids,
    mask: input('attention_mask'),
    logits: logits.name,
    outputsAreProbabilities: logits.role === 'probabilities',
    padLeft: manifest.preprocessing.padding === 'left',
    dynamicLength: manifest.model.sequence?.dynamic === true,
  };
}

/**
 * Checks that a session takes exactly the inputs the manifest feeds and gives the output it reads.
 * @throws ShipshapeError BUNDLE_MODEL_MISMATCH naming both sides, when they differ.
 */
export function checkEngineIo(engine: InferenceEngine, io: ModelIo, source: string): void {
  const fed = [io.ids.name, ...(io.mask === undefined ? [] : [io.mask.name])];
  const wanted = engine.inputs.map((input) => input.name);
  const missing = wanted.filter((name) => !fed.includes(name));
  const unknown = fed.filter((name) => !wanted.includes(name));
  const hasLogits = engine.outputs.some((output) => output.name === io.logits);
  if (missing.length > 0 || unknown.length > 0 || !hasLogits) {
    throw new ShipshapeError(
      'BUNDLE_MODEL_MISMATCH',
      `The ${engine.backend} session of ${source} takes inputs [${wanted.join(', ')}] and gives outputs ` +
        `[${engine.outputs.map((output) => output.name).join(', ')}], but the manifest feeds [${fed.join(', ')}] ` +
        `and reads "${io.logits}". Re-export the bundle so the manifest matches the model.`,
      { subject: 'model' },
    );
  }
}

/**
 * The feeds of one batch: ids, plus the attention mask when the model takes one, `[rows, width]` each. The width is
 * `maxLen` for a fixed-length graph; for a dynamic one (`io.dynamicLength`) it is the run's longest token count
 * (capped at maxLen) rounded up to a multiple of 8 (see `runLength`), padded on the manifest's side.
 */
export function feedsFor(
  io: ModelIo,
  encodings: readonly Encoding[],
  maxLen: number,
): Record<string, PlainTensor> {
  const width = io.dynamicLength ? runLength(longestTokenCount(encodings), maxLen) : maxLen;
  const rows = { encodings, maxLen, width, padLeft: io.padLeft };
  const feeds: Record<string, PlainTensor> = { [io.ids.name]: packIds(rows, io.ids.dtype) };
  if (io.mask !== undefined) feeds[io.mask.name] = packMask(rows, io.mask.dtype);
  return feeds;
}

function longestTokenCount(encodings: readonly Encoding[]): number {
  let longest = 0;
  for (const encoding of encodings) longest = Math.max(longest, encoding.tokenCount);
  return longest;
}

/** The rows of one run: each encoding holds maxLen ids, of which the `width` on the padded side's far end are fed. */
interface Rows {
  readonly encodings: readonly Encoding[];
  readonly maxLen: number;
  readonly width: number;
  readonly padLeft: boolean;
}

/** The ids of one row that a run of `width` keeps: every kept token is among them, since width >= kept tokens. */
function rowIds(encoding: Encoding, rows: Rows): Int32Array {
  if (rows.width === rows.maxLen) return encoding.ids;
  // Right padding puts the tokens first; left padding puts them last.
  return rows.padLeft
    ? encoding.ids.subarray(rows.maxLen - rows.width)
    : encoding.ids.subarray(0, rows.width);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Packs ids row by row into the manifest's dtype; int64 is written as two int32 words (ids are never negative). */
function packIds(rows: Rows, dtype: 'int64' | 'int32'): PlainTensor {
  const { encodings, width } = rows;
  const dims = [encodings.length, width];
  if (dtype === 'int32') {
    const data = new Int32Array(encodings.length * width);
    for (let row = 0; row < encodings.length; row++) {
      data.set(rowIds(encodings[row] as Encoding, rows), row * width);
    }
    return { dtype, data, dims };
  }
  const data = new BigInt64Array(encodings.length * width);
  if (LITTLE_ENDIAN) {
    const words = new Int32Array(data.buffer);
    for (let row = 0; row < encodings.length; row++) {
      const ids = rowIds(encodings[row] as Encoding, rows);
      const base = row * width * 2;
      for (let i = 0; i < ids.length; i++) words[base + i * 2] = ids[i] as number;
    }
  } else {
    for (let row = 0; row < encodings.length; row++) {
      const ids = rowIds(encodings[row] as Encoding, rows);
      for (let i = 0; i < ids.length; i++) data[row * width + i] = BigInt(ids[i] as number);
    }
  }
  return { dtype, data, dims };
}

/** 1 for each kept token, 0 for padding, on the side the manifest pads. */
function packMask(rows: Rows, dtype: 'int64' | 'int32'): PlainTensor {
  const { encodings, maxLen, width, padLeft } = rows;
  const dims = [encodings.length, width];
  const data =
    dtype === 'int64'
      ? new BigInt64Array(encodings.length * width)
      : new Int32Array(encodings.length * width);
  encodings.forEach((encoding, row) => {
    const kept = Math.min(encoding.tokenCount, maxLen);
    const start = row * width + (padLeft ? width - kept : 0);
    if (data instanceof BigInt64Array) data.fill(1n, start, start + kept);
    else data.fill(1, start, start + kept);
  });
  return data instanceof BigInt64Array ? { dtype: 'int64', data, dims } : { dtype: 'int32', data, dims };
}
