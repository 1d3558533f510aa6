// CLI start-up: the precompiled CLI (dist/cli) against the TypeScript sources through tsx, one run.
// Run: npx tsx bench/experiments/cli/startup.ts [--rounds N]
// It rebuilds dist/cli first (npm run build:cli). Rounds alternate the two entries, so load from other processes on
// a shared machine hits both alike; each call is a fresh `node bin/shipshape.js ...`, timed from spawn to exit.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';

const ROOT = resolve(import.meta.dirname, '../../..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new Error(`--rounds must be a positive integer, not "${values.rounds}"`);
}

type Entry = 'dist' | 'source';
const ENTRIES: readonly Entry[] = ['dist', 'source'];
const CALLS: Readonly<Record<string, readonly string[]>> = {
  'shipshape --help': ['--help'],
  'shipshape predict <one text> (news-bag)': [
    'predict',
    '--bundle',
    'artifacts/news-bag',
    'Stocks rally as the central bank holds rates',
  ],
};

/** One call through bin/shipshape.js with the entry forced; wall ms from spawn to exit. */
function callMs(entry: Entry, args: readonly string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['bin/shipshape.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, SHIPSHAPE_CLI_ENTRY: entry, SHIPSHAPE_CLI_TRACE: '1' },
    encoding: 'utf8',
  });
  const ms = performance.now() - started;
  const expected = entry === 'dist' ? 'shipshape: entry dist/cli/main.js' : 'shipshape: entry cli/main.ts';
  if (result.status !== 0 || !result.stderr.startsWith(expected)) {
    throw new Error(`shipshape ${args.join(' ')} (${entry}) failed: ${result.status}\n${result.stderr}`);
  }
  return ms;
}

/** `node -e ''`: the floor any Node CLI pays on this machine, timed in the same rounds. */
function nodeAloneMs(): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['-e', ''], { cwd: ROOT });
  if (result.status !== 0) throw new Error(`node -e '' failed: ${result.status}`);
  return performance.now() - started;
}

const build = spawnSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build:cli failed:\n${build.stdout}${build.stderr}`);
process.stdout.write(build.stdout);

console.log(`CLI start-up, ${rounds} rounds per side, median wall ms per call (spawn to exit)`);
console.log("| call | precompiled (dist/cli) | tsx (sources) | tsx / precompiled | node -e '' |");
console.log('|---|---:|---:|---:|---:|');
for (const [label, args] of Object.entries(CALLS)) {
  const times: Record<Entry, number[]> = { dist: [], source: [] };
  const floor: number[] = [];
  callMs('dist', args);
  callMs('source', args);
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so neither always runs right after the other.
    const order = round % 2 === 0 ? ENTRIES : [...ENTRIES].reverse();
    for (const entry of order) times[entry].push(callMs(entry, args));
    floor.push(nodeAloneMs());
  }
  const dist = median(times.dist);
  const source = median(times.source);
  console.log(
    `| ${label} | ${dist.toFixed(0)} | ${source.toFixed(0)} | ${(source / dist).toFixed(2)}x | ${median(floor).toFixed(0)} |`,
  );
}
