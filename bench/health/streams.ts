// Seeded text streams for the drift bench: in-distribution texts from the training corpus's own generator (unseen
// seeds), and four shifts away from it: another topic mix, another language, unknown words, far longer texts.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRng } from '../stats.ts';
import { foreignSentence, LANGUAGES, TOPICS, type Topic } from './languages.ts';
import { messageOf } from '../../runtime/errors.ts';

/** A text with the label it was written for (the ground truth feedback sends). */
export interface StreamText {
  readonly text: string;
  readonly label: Topic;
}

export const STREAM_NAMES = [
  'in-distribution',
  'topic-mix',
  'other-language',
  'oov-heavy',
  'long-texts',
] as const;
export type StreamName = (typeof STREAM_NAMES)[number];

/** Debian's interpreter, as the rest of the repository uses: `python3` first on PATH may be another one. */
const PYTHON = '/usr/bin/python3';
const CORPUS_SCRIPT = fileURLToPath(new URL('./corpus_stream.py', import.meta.url));

export interface CorpusOptions {
  readonly count: number;
  /** Any seed but the training corpus's (20261126, refused). */
  readonly seed: number;
  /** Share per label, e.g. `{ Sports: 0.8 }`; the other labels split the rest evenly. Default balanced. */
  readonly mix?: Readonly<Partial<Record<Topic, number>>>;
}

/**
 * `count` texts from `shipshape_train.corpus.make_text` (the generator the bundles were trained on), through
 * `bench/health/corpus_stream.py` on `/usr/bin/python3`.
 * @throws Error with the script's stderr when Python fails (a bad mix, the training seed, no interpreter).
 */
export async function corpusTexts(options: CorpusOptions): Promise<StreamText[]> {
  const args = [CORPUS_SCRIPT, '--n', String(options.count), '--seed', String(options.seed)];
  for (const [label, share] of Object.entries(options.mix ?? {})) args.push('--mix', `${label}=${share}`);
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(PYTHON, args, { maxBuffer: 256 * 1024 * 1024 }));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${PYTHON} ${args.join(' ')} failed: ${stderr || messageOf(error)}`, {
      cause: error,
    });
  }
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as StreamText);
}

/**
 * `count` news-like texts in German, French and Spanish (a third each, in a seeded order), 1 to 3 sentences on one
 * topic each, topics balanced.
 */
export function otherLanguageTexts(count: number, seed: number): StreamText[] {
  const rng = createRng(seed);
  const out: StreamText[] = [];
  for (let i = 0; i < count; i++) {
    const label = TOPICS[i % TOPICS.length]!;
    const language = LANGUAGES[Math.floor(rng() * LANGUAGES.length)]!;
    const sentences = 1 + Math.floor(rng() * 3);
    const parts: string[] = [];
    for (let s = 0; s < sentences; s++) parts.push(foreignSentence(language, label, rng));
    out.push({ text: parts.join(' '), label });
  }
  return shuffle(out, rng);
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const isWord = (word: string) => /^\p{L}{2,}$/u.test(word);

/** A misspelling two edits away (so it rarely lands on another vocabulary word), or a random letter string. */
function garble(word: string, rng: () => number): string {
  const letter = () => LETTERS[Math.floor(rng() * LETTERS.length)]!;
  if (rng() < 0.5 || word.length < 4) {
    const length = 4 + Math.floor(rng() * 7);
    return Array.from({ length }, letter).join('');
  }
  let out = word;
  for (let edit = 0; edit < 2; edit++) {
    const i = 1 + Math.floor(rng() * (out.length - 2));
    const kind = Math.floor(rng() * 3);
    if (kind === 0) out = out.slice(0, i) + out[i + 1]! + out[i]! + out.slice(i + 2);
    else if (kind === 1) out = out.slice(0, i) + letter() + out.slice(i + 1);
    else out = out.slice(0, i) + letter() + out.slice(i);
  }
  return out;
}

/**
 * The same texts with `share` (default 0.3) of their words replaced, each by a random letter string or a
 * misspelling two edits away. A word is a space-separated run of letters (punctuation and numbers are kept).
 */
export function oovHeavyTexts(texts: readonly StreamText[], seed: number, share = 0.3): StreamText[] {
  const rng = createRng(seed);
  return texts.map(({ text, label }) => ({
    label,
    text: text
      .split(' ')
      .map((word) => (isWord(word) && rng() < share ? garble(word, rng) : word))
      .join(' '),
  }));
}

export interface LongTextOptions {
  /** Token count per text is drawn uniformly from [minTokens, maxTokens]. Defaults 150 and 400. */
  readonly minTokens?: number;
  readonly maxTokens?: number;
}

/**
 * `count` texts each joined from several `pool` texts of one label until it reaches a length drawn from
 * [minTokens, maxTokens] (counted with `countTokens`, the bundle's tokenizer), never past maxTokens unless a single
 * text is longer. Labels keep the pool's order of labels, so the label mix is the pool's.
 * @throws Error when the pool lacks a label it needs.
 */
export function longTexts(
  pool: readonly StreamText[],
  count: number,
  seed: number,
  countTokens: (text: string) => number,
  options: LongTextOptions = {},
): StreamText[] {
  const { minTokens = 150, maxTokens = 400 } = options;
  const rng = createRng(seed);
  const byLabel = new Map<Topic, { text: string; tokens: number }[]>();
  for (const { text, label } of pool) {
    const list = byLabel.get(label) ?? [];
    list.push({ text, tokens: countTokens(text) });
    byLabel.set(label, list);
  }
  const out: StreamText[] = [];
  for (let i = 0; i < count; i++) {
    const label = pool[i % pool.length]!.label;
    const candidates = byLabel.get(label);
    if (candidates === undefined) throw new Error(`longTexts: the pool has no "${label}" text.`);
    const target = minTokens + Math.floor(rng() * (maxTokens - minTokens + 1));
    const parts: string[] = [];
    let tokens = 0;
    while (tokens < target) {
      const next = candidates[Math.floor(rng() * candidates.length)]!;
      if (tokens >= minTokens && tokens + next.tokens > maxTokens) break;
      parts.push(next.text);
      tokens += next.tokens;
    }
    out.push({ text: parts.join(' '), label });
  }
  return out;
}

/** The streams the drift bench feeds, and the checks each should turn bad. */
export interface StreamPlan {
  readonly name: StreamName;
  readonly description: string;
  readonly texts: readonly StreamText[];
  /** Checks that must fire; none for the in-distribution stream (every alert there is a false alarm). */
  readonly expected: readonly string[];
  /** Checks that may fire as well without counting against the stream (e.g. label drift on foreign text). */
  readonly tolerated: readonly string[];
}

export interface StreamSizes {
  /** In-distribution texts; at least 10,000 for the false-alarm claim. Default 10,000. */
  readonly inDistribution?: number;
  /** Texts per shifted stream. Default 3,000. */
  readonly shifted?: number;
  /** Base seed; each stream derives its own. Default 20270101. */
  readonly seed?: number;
}

/**
 * Builds the five streams. `countTokens` is the bundle tokenizer's token count (for the long-text stream's lengths).
 * @throws Error when the corpus generator fails (see `corpusTexts`).
 */
export async function buildStreams(
  countTokens: (text: string) => number,
  sizes: StreamSizes = {},
): Promise<StreamPlan[]> {
  const { inDistribution = 10_000, shifted = 3_000, seed = 20270101 } = sizes;
  const [inDist, sports, base] = await Promise.all([
    corpusTexts({ count: inDistribution, seed }),
    corpusTexts({ count: shifted, seed: seed + 1, mix: { Sports: 0.8 } }),
    corpusTexts({ count: shifted, seed: seed + 2 }),
  ]);
  return [
    {
      name: 'in-distribution',
      description: 'the training generator, unseen seed, labels balanced',
      texts: inDist,
      expected: [],
      tolerated: [],
    },
    {
      name: 'topic-mix',
      description: '80% Sports, the rest evenly split',
      texts: sports,
      expected: ['label_drift'],
      tolerated: ['estimated_accuracy'],
    },
    {
      name: 'other-language',
      description: 'German, French and Spanish news sentences',
      texts: otherLanguageTexts(shifted, seed + 3),
      expected: ['oov_rate', 'label_drift', 'length_drift'],
      tolerated: ['accuracy', 'estimated_accuracy'],
    },
    {
      name: 'oov-heavy',
      description: '30% of words replaced by letter strings or misspellings',
      texts: oovHeavyTexts(base, seed + 4),
      expected: ['oov_rate'],
      tolerated: ['accuracy', 'estimated_accuracy', 'label_drift'],
    },
    {
      name: 'long-texts',
      description: 'in-distribution texts joined to 150-400 tokens',
      texts: longTexts(base, shifted, seed + 5, countTokens),
      expected: ['truncation_rate', 'length_drift'],
      tolerated: [],
    },
  ];
}

function shuffle<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
