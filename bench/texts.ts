// The texts a bench feeds the model: the bundle's own parity cases, real news from the test split first.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Reads the `text` of every case in the bundle's `parity.jsonl`, the test-split cases first (they look like
 * production traffic; the rest are edge cases: very long, non-Latin...). Blank texts (empty or whitespace only)
 * are left out: the edge answers them 422 by default, so an HTTP bench would measure refusals.
 * @throws Error naming the file when it has no usable cases.
 */
export async function readBenchTexts(bundleDir: string): Promise<string[]> {
  const path = join(bundleDir, 'parity.jsonl');
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const cases = lines.map((l) => JSON.parse(l) as { text?: unknown; tags?: unknown });
  const texts = (test: boolean) =>
    cases
      .filter(
        (c) =>
          typeof c.text === 'string' &&
          c.text.trim() !== '' &&
          Array.isArray(c.tags) &&
          c.tags.includes('test-split') === test,
      )
      .map((c) => c.text as string);
  const ordered = [...texts(true), ...texts(false)];
  if (ordered.length === 0) throw new Error(`${path}: no cases with a "text"; re-export the bundle.`);
  return ordered;
}

/** `count` batches of `batchSize` texts, cycling through `texts` so that consecutive batches differ. */
export function makeBatches(texts: readonly string[], batchSize: number, count: number): string[][] {
  const batches: string[][] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const batch: string[] = [];
    for (let j = 0; j < batchSize; j++) batch.push(texts[next++ % texts.length] as string);
    batches.push(batch);
  }
  return batches;
}
