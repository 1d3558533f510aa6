// Tokenizer throughput: the TypeScript tokenizer's fast and slow paths against the Python training side on the same
// corpora, one run.
// Run: npx tsx bench/experiments/tokenizer/throughput.ts [--rounds N]
// Each round runs a Python pass, a fast-path pass and a slow-path pass, so load from other processes on a shared
// machine hits all three alike. Each pass is timed twice: wall clock, and the process's CPU time (Python's
// process_time, Node's process.cpuUsage, both counting every thread of the process), which waiting for a core on a
// loaded machine does not inflate.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { adversarialStrings } from '../../adversarial-texts.ts';
import { loadBundle } from '../../../runtime/bundle/index.ts';
import type { NormalizationRecord } from '../../../runtime/bundle/manifest.ts';
import { directorySource } from '../../../runtime/platform/node-files.ts';
import { createTokenizer, parseVocab } from '../../../runtime/tokenizer/index.ts';
import type { Tokenizer } from '../../../runtime/types.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BUNDLE = join(ROOT, 'artifacts/news-bag');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);

// One Python process per corpus times its own passes, one per "run" line on stdin, so that neither process start-up
// nor pipes are counted, and so that the Node process does not fork between its passes: a fork write-protects its
// pages, and the page faults that follow slowed the next TypeScript pass about 2x in this bench.
const PYTHON_TIMER = `
import json, sys, time
from shipshape_train.tokenizer import basic_english, encode, vocab_index
bundle = sys.argv[1]
manifest = json.load(open(bundle + "/manifest.json", encoding="utf-8"))
p = manifest["preprocessing"]
with open(bundle + "/vocab.txt", encoding="utf-8", newline="\\n") as f:
    vocab = vocab_index(f.read().split("\\n")[:-1])
unk, pad, max_len = p["specialTokens"]["unk"]["id"], p["specialTokens"]["pad"]["id"], p["maxLen"]
count = int(sys.stdin.readline())
texts = [json.loads(sys.stdin.readline()) for _ in range(count)]
for text in texts[:200]:
    encode(basic_english(text), vocab, max_len, unk, pad)
for _ in sys.stdin:
    t0, c0 = time.perf_counter(), time.process_time()
    for text in texts:
        encode(basic_english(text), vocab, max_len, unk, pad)
    print((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, flush=True)
`;

/** Wall-clock and CPU milliseconds of one pass. */
interface PassTime {
  readonly wall: number;
  readonly cpu: number;
}

/** A Python process holding `texts`, which times one pass over them per call of `pass`. */
function startPython(texts: readonly string[]): { pass(): Promise<PassTime>; close(): void } {
  const child = spawn('/usr/bin/python3', ['-c', PYTHON_TIMER, BUNDLE], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: 'training' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  child.stdin.write(`${texts.length}\n${texts.map((t) => JSON.stringify(t)).join('\n')}\n`);
  return {
    async pass() {
      child.stdin.write('run\n');
      const line = await lines.next();
      if (line.done === true) throw new Error(`the Python timer exited with ${child.exitCode}`);
      const [wall, cpu] = line.value.trim().split(' ').map(Number) as [number, number];
      return { wall, cpu };
    },
    close: () => child.stdin.end(),
  };
}

const bundle = await loadBundle(directorySource(BUNDLE));
const { preprocessing } = bundle.manifest;
const slow = createTokenizer(
  {
    preprocessing,
    vocab: parseVocab(readFileSync(join(BUNDLE, preprocessing.vocab), 'utf8')),
    normalization: JSON.parse(
      readFileSync(join(BUNDLE, preprocessing.normalization), 'utf8'),
    ) as NormalizationRecord,
  },
  { path: 'slow' },
);
const fast = bundle.tokenizer;
const parityTexts = readFileSync(join(BUNDLE, 'parity.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => (JSON.parse(line) as { text: string }).text);
const corpora: Record<string, string[]> = {
  'adversarial (10,000 strings)': adversarialStrings(10_000, 2026),
  'news texts (parity cases x 40)': Array.from({ length: 40 }, () => parityTexts).flat(),
};

/** One timed pass of `tokenizer` over `texts`. */
function pass(tokenizer: Tokenizer, texts: readonly string[]): PassTime {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const text of texts) tokenizer.encode(text);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

const rows: Record<'wall' | 'cpu', string[]> = { wall: [], cpu: [] };
for (const [name, texts] of Object.entries(corpora)) {
  for (const text of texts.slice(0, 200)) {
    fast.encode(text);
    slow.encode(text);
  }
  const python = startPython(texts);
  const times: Record<'python' | 'fast' | 'slow', PassTime[]> = { python: [], fast: [], slow: [] };
  for (let round = 0; round < rounds; round++) {
    times.python.push(await python.pass());
    times.fast.push(pass(fast, texts));
    times.slow.push(pass(slow, texts));
  }
  python.close();
  for (const clock of ['wall', 'cpu'] as const) {
    const [p, f, s] = (['python', 'fast', 'slow'] as const).map((side) =>
      median(times[side].map((t) => t[clock])),
    );
    const rate = (ms: number) => Math.round((texts.length / ms) * 1000).toLocaleString('en-US');
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    rows[clock].push(
      `| ${name} | ${texts.length} | ${f!.toFixed(1)} | ${s!.toFixed(1)} | ${p!.toFixed(1)} | ${rate(f!)} | ${rate(p!)} | ` +
        `${ratio(p!, f!)} | ${ratio(p!, s!)} | ${ratio(s!, f!)} |`,
    );
  }
}

console.log(`tokenizer throughput, ${rounds} rounds per side, median ms per corpus pass`);
console.log(`node ${process.version}; ${fast.name}, vocab ${fast.vocabSize}`);
for (const [clock, title] of [
  ['wall', 'wall clock'],
  ['cpu', 'CPU time of the process'],
] as const) {
  console.log(`\n${title}\n`);
  console.log(
    '| corpus | lines | fast path ms | slow path ms | Python ms | fast lines/s | Python lines/s | fast vs Python | slow vs Python | fast vs slow |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows[clock]) console.log(row);
}
