// Drift scenarios: does the health monitor raise the right alert on shifted traffic, and none on 10,000
// in-distribution texts? Run: npx tsx bench/experiments/health/drift.ts [--quick] [--bundle news-bag] [--out FILE.json]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseThresholds, type BackendChoice } from '../../../runtime/node.ts';
import { detectDrift, formatDetection } from '../../health/detection.ts';

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', multiple: true },
    backend: { type: 'string', default: 'native' },
    'in-distribution': { type: 'string', default: '10000' },
    shifted: { type: 'string', default: '3000' },
    rate: { type: 'string', default: '200' },
    'feedback-share': { type: 'string', default: '0.25' },
    thresholds: { type: 'string' },
    seed: { type: 'string', default: '20270101' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const count = (flag: string, value: string) => {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--${flag} ${value}: give an integer >= 1.`);
  return n;
};
const bundles = (values.bundle ?? ['news-bag', 'news-transformer']).map((b) =>
  b.includes('/') ? b : join('artifacts', b),
);
const thresholds =
  values.thresholds === undefined
    ? undefined
    : parseThresholds(JSON.parse(await readFile(values.thresholds, 'utf8')) as unknown, values.thresholds);

const report = await detectDrift({
  bundles,
  backend: values.backend as BackendChoice,
  inDistribution: values.quick ? 2_000 : count('in-distribution', values['in-distribution']),
  shifted: values.quick ? 1_000 : count('shifted', values.shifted),
  textsPerSecond: Number(values.rate),
  feedbackShare: Number(values['feedback-share']),
  seed: count('seed', values.seed),
  ...(thresholds === undefined ? {} : { thresholds }),
  onStream: (r) =>
    console.error(
      `${r.model} ${r.stream}: ${r.texts} texts, fired ${r.fired.map((d) => d.check).join(', ') || 'nothing'}`,
    ),
});
console.log(formatDetection(report));
if (values.out !== undefined) {
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${values.out}`);
}
process.exitCode = report.ok ? 0 : 1;
