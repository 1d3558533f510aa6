// Loads a model bundle from any byte source and refuses a bad one with a code and the file at fault.
import { ShipshapeError, isShipshapeError, type ErrorCode } from '../errors.ts';
import { createTokenizer, parseVocab } from '../tokenizer/index.ts';
import type { Bundle } from '../types.ts';
import {
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
import { readOnnxGraphInfo, type OnnxGraphInfo, type OnnxValueInfo } from './onnx-graph.ts';

export {
  manifestSchema,
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

/** Where a bundle's bytes come from: a directory, a map of files, a base URL... */
export interface BundleSource {
  /** Shown in messages, e.g. the directory path or base URL. */
  readonly describe: string;
  /** The file's bytes, or undefined when it does not exist. */
  read(name: string): Promise<Uint8Array | undefined>;
}

export interface LoadBundleOptions {
  /**
   * Which files to read and verify now: 'all' (default) every file the manifest lists; 'serving' only the model,
   * vocabulary and normalization record (for Workers and pages that do not ship parity.jsonl). Files not read now
   * are verified when `bundle.readFile` reads them.
   */
  readonly verify?: 'all' | 'serving';
}

/** A bundle held in memory, e.g. files imported into a Worker or fetched by a page. */
export function filesSource(
  files: Readonly<Record<string, Uint8Array>>,
  describe = 'in-memory bundle',
): BundleSource {
  return {
    describe,
    read: (name) => Promise.resolve(Object.hasOwn(files, name) ? files[name] : undefined),
  };
}

/** A bundle served over HTTP under `base` (a directory URL; a trailing slash is added if missing). */
export function urlSource(base: string | URL, fetchImpl: typeof fetch = fetch): BundleSource {
  const root = new URL(String(base).endsWith('/') ? String(base) : `${String(base)}/`);
  return {
    describe: root.href.replace(/\/$/, ''),
    async read(name) {
      const response = await fetchImpl(new URL(name, root));
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`GET ${new URL(name, root).href} answered ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
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

function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(decodeText(bytes, where));
  } catch (cause) {
    if (isShipshapeError(cause)) throw cause;
    fail('BUNDLE_INVALID', where, `${where} is not valid JSON: ${(cause as Error).message}.`, cause);
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
  if (!parsed.success) fail('BUNDLE_INVALID', where, `${where} is invalid: ${describeIssues(parsed.error)}.`);
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
  const bytes = await source.read(name);
  if (bytes === undefined) {
    fail(
      'BUNDLE_FILE_MISSING',
      where,
      `${where} is missing; manifest.json lists it (${expected.size} bytes).`,
    );
  }
  if (bytes.byteLength < expected.size) {
    fail(
      'BUNDLE_FILE_TRUNCATED',
      where,
      `${where} is truncated: ${bytes.byteLength} bytes, manifest.json says ${expected.size}. Copy the bundle again.`,
    );
  }
  const actual = await sha256Hex(bytes);
  if (bytes.byteLength !== expected.size || actual !== expected.sha256) {
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
    fail(
      'BUNDLE_INVALID',
      where,
      `${where} is not a readable ONNX model: ${(cause as Error).message}.`,
      cause,
    );
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
  if (ids.shape.length !== 2 || ids.shape[1] !== preprocessing.maxLen) {
    fail(
      'PREPROCESSING_MISMATCH',
      where,
      `max_len mismatch: preprocessing.maxLen is ${preprocessing.maxLen} but input ${ids.name} has shape ` +
        `[${ids.shape.join(', ')}] in ${where}. Export with the model's sequence length.`,
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
 * Loads and validates a bundle: manifest schema and version, every file's size and sha256, the ONNX graph's
 * inputs and outputs against the manifest, the vocabulary's size against the model's embedding rows (where the graph
 * tells), the vocabulary, the special tokens' lines in it, and the preprocessing config. The golden cases are
 * checked by `proveParity` (runtime/parity.ts), which needs parity.jsonl.
 * @throws ShipshapeError with code BUNDLE_FILE_MISSING, BUNDLE_FILE_TRUNCATED, BUNDLE_HASH_MISMATCH,
 *   BUNDLE_SCHEMA_UNSUPPORTED, BUNDLE_INVALID, BUNDLE_MODEL_MISMATCH, VOCAB_INVALID, TOKENIZER_UNSUPPORTED or
 *   PREPROCESSING_MISMATCH; `subject` names the file at fault.
 */
export async function loadBundle(source: BundleSource, options: LoadBundleOptions = {}): Promise<Bundle> {
  const manifestWhere = `${source.describe}/manifest.json`;
  const manifestBytes = await source.read('manifest.json');
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
    normalizationJson = JSON.parse(
      decodeText(verified.get(preprocessing.normalization)!, normalizationWhere),
    );
  } catch (cause) {
    if (isShipshapeError(cause)) throw cause;
    fail('BUNDLE_INVALID', normalizationWhere, `${normalizationWhere} is not valid JSON.`, cause);
  }
  const normalization = normalizationSchema.safeParse(normalizationJson);
  if (!normalization.success) {
    fail(
      'BUNDLE_INVALID',
      normalizationWhere,
      `${normalizationWhere} is invalid: ${describeIssues(normalization.error)}.`,
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
      const bytes = await readVerified(source, manifest, name);
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
        parsed = parityCaseSchema.safeParse(JSON.parse(line));
      } catch (cause) {
        return fail('BUNDLE_INVALID', where, `${where} line ${index + 1} is not valid JSON.`, cause);
      }
      if (!parsed.success) {
        fail(
          'BUNDLE_INVALID',
          where,
          `${where} line ${index + 1} is invalid: ${describeIssues(parsed.error)}.`,
        );
      }
      return parsed.data;
    });
}
