// The model's inputs and outputs as the manifest names them: resolving them, checking a session against them, and
// packing encodings into the session's feeds.
import type { InferenceEngine, PlainTensor } from './engine.ts';
import { ShipshapeError } from './errors.ts';
import type { Encoding, Manifest } from './types.ts';

/** The model's ids, mask and logits as the manifest names them, and how its outputs and padding are to be read. */
export interface ModelIo {
  readonly ids: { readonly name: string; readonly dtype: 'int64' | 'int32' };
  readonly mask: { readonly name: string; readonly dtype: 'int64' | 'int32' } | undefined;
  readonly logits: string;
  /** The manifest's output role is 'probabilities': the model applied softmax itself, so scores are its outputs. */
  readonly outputsAreProbabilities: boolean;
  readonly padLeft: boolean;
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

/** The feeds of one batch: ids, plus the attention mask when the model takes one. */
export function feedsFor(
  io: ModelIo,
  encodings: readonly Encoding[],
  maxLen: number,
): Record<string, PlainTensor> {
  const feeds: Record<string, PlainTensor> = { [io.ids.name]: packIds(encodings, maxLen, io.ids.dtype) };
  if (io.mask !== undefined) feeds[io.mask.name] = packMask(encodings, maxLen, io.mask.dtype, io.padLeft);
  return feeds;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Packs ids row by row into the manifest's dtype; int64 is written as two int32 words (ids are never negative). */
function packIds(encodings: readonly Encoding[], maxLen: number, dtype: 'int64' | 'int32'): PlainTensor {
  const dims = [encodings.length, maxLen];
  if (dtype === 'int32') {
    const data = new Int32Array(encodings.length * maxLen);
    for (let row = 0; row < encodings.length; row++) data.set((encodings[row] as Encoding).ids, row * maxLen);
    return { dtype, data, dims };
  }
  const data = new BigInt64Array(encodings.length * maxLen);
  if (LITTLE_ENDIAN) {
    const words = new Int32Array(data.buffer);
    for (let row = 0; row < encodings.length; row++) {
      const ids = (encodings[row] as Encoding).ids;
      const base = row * maxLen * 2;
      for (let i = 0; i < ids.length; i++) words[base + i * 2] = ids[i] as number;
    }
  } else {
    for (let row = 0; row < encodings.length; row++) {
      const ids = (encodings[row] as Encoding).ids;
      for (let i = 0; i < ids.length; i++) data[row * maxLen + i] = BigInt(ids[i] as number);
    }
  }
  return { dtype, data, dims };
}

/** 1 for each kept token, 0 for padding, on the side the manifest pads. */
function packMask(
  encodings: readonly Encoding[],
  maxLen: number,
  dtype: 'int64' | 'int32',
  padLeft: boolean,
): PlainTensor {
  const dims = [encodings.length, maxLen];
  const data =
    dtype === 'int64'
      ? new BigInt64Array(encodings.length * maxLen)
      : new Int32Array(encodings.length * maxLen);
  encodings.forEach((encoding, row) => {
    const kept = Math.min(encoding.tokenCount, maxLen);
    const start = row * maxLen + (padLeft ? maxLen - kept : 0);
    if (data instanceof BigInt64Array) data.fill(1n, start, start + kept);
    else data.fill(1, start, start + kept);
  });
  return data instanceof BigInt64Array ? { dtype: 'int64', data, dims } : { dtype: 'int32', data, dims };
}
