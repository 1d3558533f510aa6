// Test helper: a news-bag copy whose labels are renamed consistently (manifest, reference and parity cases, rehashed),
// so it passes every integrity check and only the label strings differ: `__proto__`, `constructor`...
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyBundle, type BundleCopy } from './bundle-copy.ts';

/** Label names that are also names on Object.prototype: a plain-object lookup of any of them goes wrong. */
export const PROTOTYPE_LABELS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const;

/**
 * Copies news-bag with its four labels (World, Sports, Business, Sci/Tech) renamed to `labels` in order. Keys are
 * rebuilt with Object.fromEntries, which defines `__proto__` as an own key where an assignment would not.
 */
export function copyWithLabels(labels: readonly string[] = PROTOTYPE_LABELS): BundleCopy {
  const copy = copyBundle('news-bag');
  const original = copy.manifest().labels as string[];
  const renamed = (label: string) => labels[original.indexOf(label)] ?? label;
  const parity = readFileSync(join(copy.dir, 'parity.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const golden = JSON.parse(line) as { label: string };
      return JSON.stringify({ ...golden, label: renamed(golden.label) });
    });
  copy.replaceFile('parity.jsonl', `${parity.join('\n')}\n`);
  copy.editManifest((m) => {
    m.labels = [...labels];
    m.reference.labelDistribution = Object.fromEntries(
      Object.entries(m.reference.labelDistribution as Record<string, number>).map(([label, share]) => [
        renamed(label),
        share,
      ]),
    );
  });
  return copy;
}
