// The checklist's model-artifact items: the vocabulary, the configs, and preprocessing parity on the serving backend.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  findEmbeddings,
  readOnnxGraphInfo,
  readParityCases,
  type Manifest,
} from '../../runtime/bundle/index.ts';
import { describeIssues, manifestSchema, normalizationSchema } from '../../runtime/bundle/manifest.ts';
import { parseJsonText } from '../../runtime/bundle/json-text.ts';
import { isShipshapeError, messageOf } from '../../runtime/errors.ts';
import { createPredictor } from '../../runtime/node.ts';
import { describeProof, proveParity } from '../../runtime/parity.ts';
import type { Bundle } from '../../runtime/types.ts';
import type { ChecklistContext, Finding } from './checklist.ts';

const fail = (evidence: string, detail: string): Finding => ({ verdict: 'fail', evidence, detail });
const pass = (evidence: string, detail = ''): Finding => ({ verdict: 'pass', evidence, detail });

function notLoaded(context: ChecklistContext, reason: string): Finding {
  return fail(
    `loadBundle(${context.options.bundleDir})`,
    `The bundle did not load: ${reason}. Re-export it, or copy it again as exported.`,
  );
}

/**
 * Full vocabulary exported: every file matches its sha256 in the manifest (loading checks them), every token id of
 * the golden cases is a line of vocab.txt, and vocab.txt has exactly as many tokens as the model's embedding has rows
 * where the graph tells (a vocabulary cut short maps the ids past its end to <unk> at serving time).
 */
export async function checkVocabulary(context: ChecklistContext): Promise<Finding> {
  if (!context.bundle.ok) return notLoaded(context, context.bundle.reason);
  const bundle = context.bundle.value;
  const { manifest, tokenizer } = bundle;
  const dir = context.options.bundleDir;
  const files = Object.keys(manifest.files);
  const hashes = `${join(dir, 'manifest.json')}: ${files.length} files match their sha256 (${files.join(', ')})`;
  const cases = await readParityCases(bundle);
  const ids = cases.flatMap((golden) => golden.ids);
  const highest = ids.reduce((max, id) => Math.max(max, id), 0);
  const vocabSize = tokenizer.vocabSize;
  const outside = cases.filter((golden) => golden.ids.some((id) => id < 0 || id >= vocabSize));
  const parity = `${manifest.parity.file}: ids of ${cases.length} cases within 0-${highest} < ${vocabSize} tokens`;
  if (outside.length > 0) {
    return fail(
      hashes,
      `${outside.length} golden case(s) of ${manifest.parity.file} use token ids past the ${vocabSize} tokens of ` +
        `${manifest.preprocessing.vocab} (first: case ${outside[0]!.id}): the vocabulary was not exported in full. ` +
        'Export the vocabulary the model was trained with, every token.',
    );
  }
  const ids0 = manifest.model.inputs.find((input) => input.role === 'input_ids');
  const embeddings =
    ids0 === undefined ? [] : findEmbeddings(readOnnxGraphInfo(bundle.modelBytes), ids0.name);
  if (embeddings.length === 0) {
    return pass(
      `${hashes}; ${parity}; ${manifest.model.file}: the graph does not tell its embedding rows`,
      'The vocabulary size could not be compared with the model (no Gather from an initializer on the token ids).',
    );
  }
  const wrong = embeddings.filter((embedding) => embedding.rows !== vocabSize);
  const rows = embeddings.map((e) => `${e.name} ${e.rows} rows`).join(', ');
  const sizes = `${manifest.model.file}: ${rows}; ${manifest.preprocessing.vocab}: ${vocabSize} tokens`;
  if (wrong.length > 0) {
    return fail(
      `${hashes}; ${sizes}`,
      `${manifest.preprocessing.vocab} has ${vocabSize} tokens but the model's embedding ${wrong[0]!.name} has ` +
        `${wrong[0]!.rows} rows: the vocabulary is not the full one the model was trained with. Export every token.`,
    );
  }
  return pass(`${hashes}; ${parity}; ${sizes}`);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * All configs saved: manifest.json valid against the bundle schema, the files it names for the model, vocabulary,
 * normalization and golden cases listed and present, normalization.json valid, and one label per model output.
 * Reads the files itself, so a broken manifest is named here even though loading the bundle fails too.
 */
export async function checkConfigs(context: ChecklistContext): Promise<Finding> {
  const dir = context.options.bundleDir;
  const manifestPath = join(dir, 'manifest.json');
  let json: unknown;
  try {
    json = parseJsonText(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    return fail(
      manifestPath,
      `manifest.json cannot be read as JSON: ${messageOf(error)}. Re-export the bundle.`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    return fail(
      `${manifestPath} against the bundle schema (docs/bundle-format.md)`,
      `manifest.json is invalid: ${describeIssues(parsed.error)}. Re-export the bundle.`,
    );
  }
  const manifest: Manifest = parsed.data;
  const named = [
    manifest.model.file,
    manifest.preprocessing.vocab,
    manifest.preprocessing.normalization,
    manifest.parity.file,
  ];
  const missing: string[] = [];
  for (const name of named) {
    if (manifest.files[name] === undefined || !(await isFile(join(dir, name)))) missing.push(name);
  }
  if (missing.length > 0) {
    return fail(
      manifestPath,
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} named by manifest.json but not listed under ` +
        'files or not in the bundle folder. Ship every file the export wrote.',
    );
  }
  const normalizationPath = join(dir, manifest.preprocessing.normalization);
  try {
    const normalization = normalizationSchema.safeParse(
      parseJsonText(await readFile(normalizationPath, 'utf8')),
    );
    if (!normalization.success) {
      return fail(
        normalizationPath,
        `${manifest.preprocessing.normalization} is invalid: ${describeIssues(normalization.error)}. Re-export the bundle.`,
      );
    }
  } catch (error) {
    return fail(
      normalizationPath,
      `${manifest.preprocessing.normalization} is not JSON: ${messageOf(error)}.`,
    );
  }
  const classes = manifest.model.outputs[0]!.shape[1];
  if (typeof classes === 'number' && classes !== manifest.labels.length) {
    return fail(
      manifestPath,
      `manifest.json lists ${manifest.labels.length} labels but the model outputs ${classes} classes. Save the ` +
        "training run's label list.",
    );
  }
  const p = manifest.preprocessing;
  return pass(
    `${manifestPath}: schema v${manifest.schemaVersion} valid; preprocessing ${p.tokenizer}, max_len ${p.maxLen}, ` +
      `truncation ${p.truncation}, padding ${p.padding} (${p.normalization} valid, ${p.vocab}); ` +
      `labels ${manifest.labels.join(', ')}`,
  );
}

/** Golden cases whose text this runtime's tokenizer turns into other ids than training's. */
async function tokenizerMismatches(bundle: Bundle): Promise<{ cases: number; mismatched: number[] }> {
  const cases = await readParityCases(bundle);
  const mismatched = cases
    .filter((golden) => {
      const ids = bundle.tokenizer.encode(golden.text).ids;
      return ids.length !== golden.ids.length || golden.ids.some((id, i) => id !== ids[i]);
    })
    .map((golden) => golden.id);
  return { cases: cases.length, mismatched };
}

/**
 * Preprocessing matches training: the tokenizer reproduces every golden case's ids, and the model reproduces its
 * logits (`proveParity`, the proof `serve` and the Worker run before they answer) on the backend that serves, at
 * the serving batch size and at batch 1.
 */
export async function checkPreprocessing(context: ChecklistContext): Promise<Finding> {
  if (!context.bundle.ok) return notLoaded(context, context.bundle.reason);
  const bundle = context.bundle.value;
  const backend = context.backend.name;
  const parityFile = join(context.options.bundleDir, bundle.manifest.parity.file);
  const where = `${parityFile} on ${backend} (${context.backend.source})`;
  const tokens = await tokenizerMismatches(bundle);
  const tokenizer = `tokenizer ${tokens.cases - tokens.mismatched.length}/${tokens.cases} cases`;
  if (tokens.mismatched.length > 0) {
    return fail(
      `${where}: ${tokenizer}`,
      `The tokenizer gives other ids than training for ${tokens.mismatched.length} golden case(s) (first: case ` +
        `${tokens.mismatched[0]!}): the vocabulary or preprocessing config differ from training. Ship the bundle as ` +
        'exported.',
    );
  }
  let predictor;
  try {
    predictor = await createPredictor(bundle, { backend, batching: false, returnLogits: true });
  } catch (error) {
    const code = isShipshapeError(error) ? `${error.code}: ` : '';
    return fail(
      where,
      `The ${backend} backend does not start here (${code}${messageOf(error)}); run the checklist where it does, ` +
        'or pass --backend.',
    );
  }
  try {
    const proof = await proveParity(predictor, { batchSize: context.batchSize });
    return pass(`${where}: ${tokenizer}; ${describeProof(proof)}`);
  } catch (error) {
    const code = isShipshapeError(error) ? `${error.code}: ` : '';
    return fail(`${where}: ${tokenizer}`, `The parity proof failed: ${code}${messageOf(error)}`);
  } finally {
    await predictor.dispose();
  }
}
