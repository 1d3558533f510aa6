// Builds dist/web and dist/worker when any input is newer than the last build; run under `flock` by support.ts so
// test files running in parallel neither build twice nor read a half-written output.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildWeb } from '../../edge/build-web.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const STAMP = join(ROOT, 'dist/.edge-build-stamp');
const INPUTS = [
  'edge',
  'runtime',
  'scripts/build-browser.ts',
  'artifacts/news-bag',
  'wrangler.toml',
  'package-lock.json',
];

function newestMtime(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(path).reduce(
    (newest, name) => Math.max(newest, newestMtime(join(path, name))),
    stats.mtimeMs,
  );
}

const newest = Math.max(...INPUTS.map((input) => newestMtime(join(ROOT, input))));
const built = existsSync(STAMP) ? Number(readFileSync(STAMP, 'utf8')) : 0;
const outputsExist =
  existsSync(join(ROOT, 'dist/worker/worker.js')) && existsSync(join(ROOT, 'dist/web/index.html'));
if (!outputsExist || !(built >= newest)) {
  await buildWeb();
  rmSync(join(ROOT, 'dist/worker'), { recursive: true, force: true });
  execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', 'dist/worker'], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  writeFileSync(STAMP, String(newest));
}
