// Integrity beyond file hashes: the manifest, vocabulary, model graph and golden cases must tell one story.
// A bundle whose files were each rehashed after an edit passes every hash; these checks catch what the edit broke.
import { ShipshapeError } from '../errors.ts';
import { argmax } from '../softmax.ts';
import type { Bundle } from '../types.ts';
import type { Manifest, ParityCase } from './manifest.ts';
import { findEmbeddings, type OnnxGraphInfo } from './onnx-graph.ts';

const NEWLINE = 0x0a;

/** Lines of a vocabulary file as `parseVocab` counts them (a final newline ends the last line), from its bytes. */
export function countVocabLines(bytes: Uint8Array): number {
  if (bytes.byteLength === 0) return 0;
  let lines = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) lines += 1;
  return bytes[bytes.byteLength - 1] === NEWLINE ? lines : lines + 1;
}

/**
 * Refuses a vocabulary with more tokens than the model's embedding has rows, where the graph tells (see
 * `findEmbeddings`): ids past the last row fail inside the session for every text that uses them, and take the
 * texts batched with it down too. Counts lines on the bytes, so a huge vocabulary is refused before it is parsed.
 * @throws ShipshapeError BUNDLE_MODEL_MISMATCH naming the token count, the embedding and its rows.
 */
export function checkVocabularyFitsModel(
  manifest: Manifest,
  graph: OnnxGraphInfo,
  vocabBytes: Uint8Array,
  where: string,
): void {
  const ids = manifest.model.inputs.find((input) => input.role === 'input_ids');
  if (ids === undefined) return;
  const embeddings = findEmbeddings(graph, ids.name);
  if (embeddings.length === 0) return;
  const smallest = embeddings.reduce((a, b) => (b.rows < a.rows ? b : a));
  const tokens = countVocabLines(vocabBytes);
  if (tokens > smallest.rows) {
    throw new ShipshapeError(
      'BUNDLE_MODEL_MISMATCH',
      `${manifest.preprocessing.vocab} has ${tokens} tokens but the model's embedding ${smallest.name} has ` +
        `${smallest.rows} rows; ids >= ${smallest.rows} would fail at inference (${where}). Ship the vocabulary ` +
        'the model was trained with.',
      { subject: manifest.preprocessing.vocab },
    );
  }
}

/** How far a row of probabilities may sum from 1 (float32 softmax sums are within about 1e-6). */
const SUM_TOLERANCE = 1e-3;

function isProbabilityRow(values: readonly number[]): boolean {
  let sum = 0;
  for (const value of values) {
    if (!(value >= 0 && value <= 1)) return false;
    sum += value;
  }
  return Math.abs(sum - 1) <= SUM_TOLERANCE;
}

/**
 * The golden outputs must be what the output role says: with 'probabilities' every row sums to 1; with 'logits' not
 * every row does. A model that ends in softmax but is declared 'logits' would be softmaxed a second time, and its
 * parity cases would still pass, since the runtime's scores and the proof's expectation are softmaxed alike.
 */
function checkOutputRole(manifest: Manifest, cases: readonly ParityCase[], where: string): void {
  const role = manifest.model.outputs[0]?.role ?? 'logits';
  if (role === 'probabilities') {
    const bad = cases.find((golden) => !isProbabilityRow(golden.logits));
    if (bad !== undefined) {
      throw new ShipshapeError(
        'PARITY_MISMATCH',
        `case ${bad.id} of ${where} records outputs [${bad.logits.join(', ')}], which are not probabilities ` +
          `(each in [0, 1], summing to 1), but manifest.json says the output role is "probabilities". Set ` +
          'model.outputs[0].role to "logits" if the model does not end in softmax.',
        { subject: manifest.parity.file },
      );
    }
  } else if (cases.length > 0 && cases.every((golden) => isProbabilityRow(golden.logits))) {
    throw new ShipshapeError(
      'PARITY_MISMATCH',
      `every case of ${where} records outputs that are probabilities (each row sums to 1), but manifest.json says ` +
        'the output role is "logits", so the runtime would apply softmax a second time. Set ' +
        'model.outputs[0].role to "probabilities".',
      { subject: manifest.parity.file },
    );
  }
}

const SHOWN_IDS = 8;

/** A window of `ids` around `at`, e.g. `ids[4..11] [5, 0, 1, ...]`. */
function idsExcerpt(ids: ArrayLike<number>, at: number): string {
  const start = Math.max(0, Math.min(at - 2, ids.length - SHOWN_IDS));
  const end = Math.min(ids.length, start + SHOWN_IDS);
  const shown = Array.from({ length: end - start }, (_, i) => ids[start + i]);
  return `ids[${start}..${end - 1}] [${shown.join(', ')}]`;
}

function textExcerpt(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text);
}

/**
 * Checks the golden cases against the bundle without running the model: their count is the manifest's
 * `parity.cases`; each has one logit per label and `maxLen` ids; the label at the top golden logit is the case's
 * recorded label (ties: the recorded label is among the maxima), so labels reordered or renamed in the manifest are
 * refused; the golden outputs are probabilities exactly when the output role says so; and this runtime's tokenizer
 * gives each case's recorded ids (a changed vocabulary, or special tokens swapped in both the manifest and the
 * vocabulary, change the ids).
 * @throws ShipshapeError BUNDLE_INVALID (wrong case count); PARITY_MISMATCH (logit count, label order) naming the
 *   case and both labels; PREPROCESSING_MISMATCH (ids length, tokenizer ids) naming the case, an excerpt of its text,
 *   and the expected and actual ids around the first difference.
 */
export function checkParityCases(bundle: Bundle, cases: readonly ParityCase[]): void {
  const { manifest, tokenizer } = bundle;
  const { labels } = manifest;
  const file = manifest.parity.file;
  const where = `${bundle.source}/${file}`;
  const fail = (code: 'BUNDLE_INVALID' | 'PARITY_MISMATCH' | 'PREPROCESSING_MISMATCH', message: string) => {
    throw new ShipshapeError(code, message, { subject: file });
  };
  if (cases.length !== manifest.parity.cases) {
    fail(
      'BUNDLE_INVALID',
      `${where} holds ${cases.length} cases; manifest.json says parity.cases is ${manifest.parity.cases}. Re-export the bundle.`,
    );
  }
  for (const golden of cases) {
    if (golden.logits.length !== labels.length) {
      fail(
        'PARITY_MISMATCH',
        `case ${golden.id} of ${where} has ${golden.logits.length} logits; manifest.json lists ${labels.length} ` +
          'labels. The labels or the golden cases do not belong to this model.',
      );
    }
    if (golden.ids.length !== tokenizer.maxLen) {
      fail(
        'PREPROCESSING_MISMATCH',
        `case ${golden.id} of ${where} has ${golden.ids.length} ids; preprocessing.maxLen is ${tokenizer.maxLen}. ` +
          'The model was exported with another max_len; re-export the bundle.',
      );
    }
    const top = argmax(golden.logits);
    const maximum = golden.logits[top] as number;
    const atTop = labels.filter((_, i) => golden.logits[i] === maximum);
    if (!atTop.includes(golden.label)) {
      const known = labels.includes(golden.label);
      fail(
        'PARITY_MISMATCH',
        `label order: case ${golden.id} of ${where} records label ${JSON.stringify(golden.label)}, but its top ` +
          `golden logit is at index ${top}, which manifest.json labels ${JSON.stringify(labels[top])} ` +
          `(labels: ${labels.map((label) => JSON.stringify(label)).join(', ')}). ` +
          (known
            ? 'The labels in manifest.json were reordered; restore the order the model was trained with.'
            : `manifest.json has no label ${JSON.stringify(golden.label)}; the labels were renamed.`),
      );
    }
  }
  checkOutputRole(manifest, cases, where);
  for (const golden of cases) {
    const actual = tokenizer.encode(golden.text).ids;
    const at = golden.ids.findIndex((id, i) => id !== actual[i]);
    if (at !== -1) {
      fail(
        'PREPROCESSING_MISMATCH',
        `case ${golden.id} of ${where} (${textExcerpt(golden.text)}) tokenizes to ${idsExcerpt(actual, at)}, ` +
          `expected ${idsExcerpt(golden.ids, at)} (first difference at position ${at}). The vocabulary or the ` +
          'special tokens (unk, pad) differ from training; ship the bundle as exported.',
      );
    }
  }
}
