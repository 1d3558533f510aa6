// Loads a model bundle from any byte source and refuses a bad one with a code and the file at fault.
import { ShipshapeError, isShipshapeError, messageOf, type ErrorCode } from '../errors.ts';
import { createTokenizer, parseVocab } from '../tokenizer/index.ts';
import type { Bundle } from '../types.ts';
import {
  SEQUENCE_AXIS,
  SUPPORTED_SCHEMA_VERSIONS,
  describeIssues,
  manifestSchema,
  normalizationSchema,
  parityCaseSchema,
  type Manifest,
  type ManifestValueInfo,
  type ParityCase,
} from './manifest.ts';
import { checkVocabularyFitsModel } from './integrity.ts';
import { parseJsonText } from './json-text.ts';
import { readOnnxGraphInfo, type OnnxGraphInfo, type OnnxValueInfo } from './onnx-graph.ts';
import { MANIFEST_MAX_BYTES, fileTooLarge, urlSource, withinDeadline, type BundleSource } from './sources.ts';

export {
  manifestSchema,
  SEQUENCE_AXIS,
  SUPPORTED_SCHEMA_VERSIONS,
  SUPPORTED_TOKENIZERS,
  type Manifest,
  type ParityCase,
} from './manifest.ts';
export {
  findEmbeddings,
  readOnnxGraphInfo,
  type OnnxEmbedding,
  type OnnxGraphInfo,
  type OnnxNode,
  type OnnxValueInfo,
} from './onnx-graph.ts';
export { checkParityCases, checkVocabularyFitsModel } from './integrity.ts';

export {
  filesSource,
  urlSource,
  readBody,
  fileTooLarge,
  fileUnsafe,
  MANIFEST_MAX_BYTES,
  type BundleSource,
  type ReadOptions,
} from './sources.ts';

/** How long a load may take by default: 60 s, for a multi-megabyte model from a slow network share or bucket. */
export const DEFAULT_LOAD_TIMEOUT_MS = 60_000;

export interface LoadBundleOptions {
  /**
   * Which files to read and verify now: 'all' (default) every file the manifest lists; 'serving' only the model,
   * vocabulary and normalization record (for Workers and pages that do not ship parity.jsonl). Files not read now
   * are verified when `bundle.readFile` reads them.
   */
  readonly verify?: 'all' | 'serving';
  /**
   * Milliseconds the load may take, reads included; past it the load fails with BUNDLE_LOAD_TIMEOUT naming the file
   * being read, and that read is aborted. `bundle.readFile` gives each later read the same time. Default
   * DEFAULT_LOAD_TIMEOUT_MS (60 s); `Infinity` waits for ever.
   */
  readonly timeoutMs?: number;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function fail(code: ErrorCode, file: string, message: string, cause?: unknown): never {
  throw new ShipshapeError(code, message, cause === undefined ? { subject: file } : { subject: file, cause });
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function decodeText(bytes: Uint8Array, where: string): string {
  try {
    return textDecoder.decode(bytes);
  } catch (cause) {
    return fail('BUNDLE_INVALID', where, `${where} is not valid UTF-8.`, cause);
  }
}

/** Issue lists name keys of the file (an unknown key, a file name): a message keeps only their first 300 characters. */
function clipped(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let json: unknown;
  try {
    json = parseJsonText(decodeText(bytes, where));
  } catch (cause) {
    if (isShipshapeError(cause)) throw cause;
    fail('BUNDLE_INVALID', where, `${where} is not valid JSON: ${messageOf(cause)}.`);
  }
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (!(SUPPORTED_SCHEMA_VERSIONS as readonly unknown[]).includes(version)) {
    fail(
      'BUNDLE_SCHEMA_UNSUPPORTED',
      where,
      `${where} has schemaVersion ${JSON.stringify(version ?? null)}; this runtime reads schemaVersion ` +
        `${SUPPORTED_SCHEMA_VERSIONS.join(', ')}. Re-export the bundle or upgrade shipshape.`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    fail('BUNDLE_INVALID', where, `${where} is invalid: ${clipped(describeIssues(parsed.error))}.`);
  }
  return parsed.data;
}

/** Reads one file of the bundle and checks it against the manifest's size and sha256. */
async function readVerified(source: BundleSource, manifest: Manifest, name: string): Promise<Uint8Array> {
  const where = `${source.describe}/${name}`;
  const expected = manifest.files[name];
  if (expected === undefined) {
    fail(
      'BUNDLE_INVALID',
      where,
      `${name} is not listed in manifest.json's files, so it cannot be verified.`,
    );
  }
  const bytes = await source.read(name, { maxBytes: expected.size });
  if (bytes === undefined) {
    fail(
      'BUNDLE_FILE_MISSING',
      where,
      `${where} is missing; manifest.json lists it (${expected.size} bytes).`,
    );
  }
  // A source that cannot bound its reads still may not hand over more than the manifest declares.
  if (bytes.byteLength > expected.size) throw fileTooLarge(where, bytes.byteLength, expected.size);
  if (bytes.byteLength < expected.size) {
    fail(
      'BUNDLE_FILE_TRUNCATED',
      where,
      `${where} is truncated: ${bytes.byteLength} bytes, manifest.json says ${expected.size}. Copy the bundle again.`,
    );
  }
  const actual = await sha256Hex(bytes);
  if (actual !== expected.sha256) {
    fail(
      'BUNDLE_HASH_MISMATCH',
      where,
      `${where} does not match manifest.json: sha256 ${actual} (${bytes.byteLength} bytes), expected ` +
        `${expected.sha256} (${expected.size} bytes). The file was changed or corrupted; re-export or copy it again.`,
    );
  }
  return bytes;
}

function sameShape(declared: ManifestValueInfo['shape'], actual: OnnxValueInfo['shape']): boolean {
  return (
    declared.length === actual.length &&
    declared.every((dim, i) => (typeof dim === 'number' ? dim === actual[i] : typeof actual[i] === 'string'))
  );
}

/** Checks the graph's opset, inputs and outputs against the manifest, and returns the graph for further checks. */
function checkModelSignature(manifest: Manifest, model: Uint8Array, where: string): OnnxGraphInfo {
  let graph;
  try {
    graph = readOnnxGraphInfo(model);
  } catch (cause) {
    fail('BUNDLE_INVALID', where, `${where} is not a readable ONNX model: ${messageOf(cause)}.`, cause);
  }
  if (graph.opset !== manifest.model.opset) {
    fail(
      'BUNDLE_MODEL_MISMATCH',
      where,
      `${where} uses opset ${String(graph.opset)}, manifest.json says ${manifest.model.opset}.`,
    );
  }
  const compare = (
    kind: 'input' | 'output',
    declared: readonly ManifestValueInfo[],
    actual: readonly OnnxValueInfo[],
  ) => {
    const format = (v: { name: string; dtype: string; shape: readonly (number | string)[] }) =>
      `${v.name} ${v.dtype} [${v.shape.join(', ')}]`;
    if (declared.length !== actual.length) {
      fail(
        'BUNDLE_MODEL_MISMATCH',
        where,
        `${where} declares ${actual.length} ${kind}(s) (${actual.map(format).join('; ')}), manifest.json ` +
          `declares ${declared.length} (${declared.map(format).join('; ')}).`,
      );
    }
    for (const info of declared) {
      const real = actual.find((candidate) => candidate.name === info.name);
      if (real === undefined || real.dtype !== info.dtype || !sameShape(info.shape, real.shape)) {
        fail(
          'BUNDLE_MODEL_MISMATCH',
          where,
          `${kind} ${info.name} is ${format(info)} in manifest.json but ` +
            `${real === undefined ? 'absent' : format(real)} in ${where}.`,
        );
      }
    }
  };
  compare('input', manifest.model.inputs, graph.inputs);
  compare('output', manifest.model.outputs, graph.outputs);
  return graph;
}

/** Cross-field rules the schema alone cannot state. */
function checkConsistency(manifest: Manifest, where: string): void {
  const { preprocessing, model, labels } = manifest;
  for (const name of [model.file, preprocessing.vocab, preprocessing.normalization, manifest.parity.file]) {
    if (manifest.files[name] === undefined) {
      fail(
        'BUNDLE_INVALID',
        where,
        `${where} names ${name} but does not list it under files, so it cannot be verified.`,
      );
    }
  }
  const ids = model.inputs.find((input) => input.role === 'input_ids');
  if (ids === undefined) fail('BUNDLE_INVALID', where, `${where} has no model input with role "input_ids".`);
  const dynamic = model.sequence?.dynamic === true;
  for (const input of model.inputs) {
    const axis = input.shape[1];
    if (input.shape.length === 2 && axis === (dynamic ? SEQUENCE_AXIS : preprocessing.maxLen)) continue;
    fail(
      'PREPROCESSING_MISMATCH',
      where,
      dynamic
        ? `model.sequence.dynamic is true but input ${input.name} has shape [${input.shape.join(', ')}] in ` +
            `${where}; a dynamic sequence axis is ["batch", "${SEQUENCE_AXIS}"]. Re-export the bundle.`
        : typeof axis === 'string'
          ? `input ${input.name} has a dynamic sequence axis [${input.shape.join(', ')}] in ${where}, but ` +
            `model.sequence does not say dynamic: true, so it was never proven. Re-export the bundle.`
          : `max_len mismatch: preprocessing.maxLen is ${preprocessing.maxLen} but input ${input.name} has shape ` +
            `[${input.shape.join(', ')}] in ${where}. Export with the model's sequence length.`,
    );
  }
  const checked = model.sequence?.dynamic === true ? model.sequence.checkedLengths : [];
  const beyond = checked.find((length) => length > preprocessing.maxLen);
  if (beyond !== undefined) {
    fail(
      'BUNDLE_INVALID',
      where,
      `${where}: model.sequence.checkedLengths has ${beyond}, above preprocessing.maxLen ${preprocessing.maxLen}.`,
    );
  }
  const logits = model.outputs[0]!;
  if (logits.shape.length !== 2 || logits.shape[1] !== labels.length) {
    fail(
      'BUNDLE_MODEL_MISMATCH',
      where,
      `${where} lists ${labels.length} labels but output ${logits.name} has shape [${logits.shape.join(', ')}].`,
    );
  }
  if (new Set(labels).size !== labels.length) fail('BUNDLE_INVALID', where, `${where} has duplicate labels.`);
  const { unk, pad } = preprocessing.specialTokens;
  if (unk.id === pad.id || unk.token === pad.token) {
    fail('PREPROCESSING_MISMATCH', where, `${where}: the unk and pad special tokens must differ.`);
  }
}

/**
 * `loadBundle` for the web entries: a base URL (resolved against `base`, e.g. the page's location, when it is
 * relative) is read with the global `fetch`; any other `BundleSource` is read as it is.
 * @throws as `loadBundle`; TypeError for a relative URL without a `base`.
 */
export function loadBundleAt(
  urlOrSource: string | URL | BundleSource,
  options: LoadBundleOptions = {},
  base?: string,
): Promise<Bundle> {
  const source =
    typeof urlOrSource === 'string' || urlOrSource instanceof URL
      ? urlSource(new URL(String(urlOrSource), base))
      : urlOrSource;
  return loadBundle(source, options);
}

/**
 * Loads and validates a bundle: manifest schema and version, every file's size and sha256, the ONNX graph's
 * inputs and outputs against the manifest, the vocabulary's size against the model's embedding rows (where the graph
 * tells), the vocabulary, the special tokens' lines in it, and the preprocessing config. The golden cases are
 * checked by `proveParity` (runtime/parity.ts), which needs parity.jsonl. Every read is bounded by the size
 * manifest.json declares (manifest.json itself by MANIFEST_MAX_BYTES) and the whole load by `timeoutMs`.
 * @throws ShipshapeError with code BUNDLE_FILE_MISSING, BUNDLE_FILE_TRUNCATED, BUNDLE_FILE_TOO_LARGE,
 *   BUNDLE_FILE_UNSAFE, BUNDLE_LOAD_TIMEOUT, BUNDLE_HASH_MISMATCH, BUNDLE_SCHEMA_UNSUPPORTED, BUNDLE_INVALID,
 *   BUNDLE_MODEL_MISMATCH, VOCAB_INVALID, TOKENIZER_UNSUPPORTED or PREPROCESSING_MISMATCH; `subject` names the file
 *   at fault. INPUT_INVALID for a `timeoutMs` that is not a positive number.
 */
export async function loadBundle(origin: BundleSource, options: LoadBundleOptions = {}): Promise<Bundle> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const source = withinDeadline(origin, timeoutMs);
  const manifestWhere = `${source.describe}/manifest.json`;
  const manifestBytes = await source.read('manifest.json', { maxBytes: MANIFEST_MAX_BYTES });
  if (manifestBytes === undefined) {
    fail(
      'BUNDLE_FILE_MISSING',
      manifestWhere,
      `${manifestWhere} is missing: is ${source.describe} a bundle?`,
    );
  }
  const manifest = parseManifest(manifestBytes, manifestWhere);
  checkConsistency(manifest, manifestWhere);

  const { preprocessing } = manifest;
  const serving = [manifest.model.file, preprocessing.vocab, preprocessing.normalization];
  const names = options.verify === 'serving' ? serving : Object.keys(manifest.files);
  const verified = new Map<string, Uint8Array>();
  for (const name of names) verified.set(name, await readVerified(source, manifest, name));

  const modelBytes = verified.get(manifest.model.file)!;
  const modelWhere = `${source.describe}/${manifest.model.file}`;
  const graph = checkModelSignature(manifest, modelBytes, modelWhere);

  const vocabWhere = `${source.describe}/${preprocessing.vocab}`;
  const vocabBytes = verified.get(preprocessing.vocab)!;
  checkVocabularyFitsModel(manifest, graph, vocabBytes, modelWhere);
  const vocab = parseVocab(decodeText(vocabBytes, vocabWhere), vocabWhere);

  const normalizationWhere = `${source.describe}/${preprocessing.normalization}`;
  let normalizationJson: unknown;
  try {
    normalizationJson = parseJsonText(
      decodeText(verified.get(preprocessing.normalization)!, normalizationWhere),
    );
  } catch (cause) {
    if (isShipshapeError(cause)) throw cause;
    fail(
      'BUNDLE_INVALID',
      normalizationWhere,
      `${normalizationWhere} is not valid JSON: ${messageOf(cause)}.`,
    );
  }
  const normalization = normalizationSchema.safeParse(normalizationJson);
  if (!normalization.success) {
    fail(
      'BUNDLE_INVALID',
      normalizationWhere,
      `${normalizationWhere} is invalid: ${clipped(describeIssues(normalization.error))}.`,
    );
  }

  const tokenizer = createTokenizer({ preprocessing, vocab, normalization: normalization.data });

  return {
    manifest,
    modelBytes,
    tokenizer,
    source: source.describe,
    async readFile(name: string) {
      const cached = verified.get(name);
      if (cached !== undefined) return cached;
      const bytes = await readVerified(withinDeadline(origin, timeoutMs), manifest, name);
      verified.set(name, bytes);
      return bytes;
    },
  };
}

/** The golden parity cases of a bundle (text -> ids -> logits computed by torch at export). */
export async function readParityCases(bundle: Bundle): Promise<ParityCase[]> {
  const file = bundle.manifest.parity.file;
  const where = `${bundle.source}/${file}`;
  const text = decodeText(await bundle.readFile(file), where);
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line, index) => {
      let parsed;
      try {
        parsed = parityCaseSchema.safeParse(parseJsonText(line));
      } catch (cause) {
        return fail(
          'BUNDLE_INVALID',
          where,
          `${where} line ${index + 1} is not valid JSON: ${messageOf(cause).replace(/ at line 1,/, ' at')}.`,
        );
      }
      if (!parsed.success) {
        fail(
          'BUNDLE_INVALID',
          where,
          `${where} line ${index + 1} is invalid: ${clipped(describeIssues(parsed.error))}.`,
        );
      }
      return parsed.data;
    });
}
