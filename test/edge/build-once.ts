// Builds dist/web and dist/worker when any input is newer than the last build; run under `flock` by support.ts so
// test files running in parallel neither build twice nor read a half-written output. With `--embed BUNDLE
// --out DIR` it also builds, as a user would (`npm run build:web -- --bundle BUNDLE`, then wrangler), a Worker that
// embeds BUNDLE: DIR/web and DIR/worker, leaving dist/ as the shared build left it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_EMBEDDED_DIR, buildWeb } from '../../edge/build-web.ts';
import { resolveBundleDir } from '../../runtime/platform/bundle-path.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const STAMP = join(ROOT, 'dist/.edge-build-stamp');
const WORKER_SCRIPT = join(ROOT, 'dist/worker/worker.js');
const INPUTS = ['edge', 'runtime', 'artifacts/news-bag', 'wrangler.toml', 'package-lock.json'];

function newestMtime(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(path).reduce(
    (newest, name) => Math.max(newest, newestMtime(join(path, name))),
    stats.mtimeMs,
  );
}

function wranglerBuild(outdir: string): void {
  rmSync(outdir, { recursive: true, force: true });
  execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const { values } = parseArgs({ options: { embed: { type: 'string' }, out: { type: 'string' } } });

const newest = Math.max(...INPUTS.map((input) => newestMtime(join(ROOT, input))));
const built = existsSync(STAMP) ? Number(readFileSync(STAMP, 'utf8')) : 0;
const outputsExist = existsSync(WORKER_SCRIPT) && existsSync(join(ROOT, 'dist/web/index.html'));
// A dist/worker written after the stamp came from another build (npm run build:worker, perhaps with another
// embedded bundle): build again so the tests see news-bag.
const untouched =
  outputsExist && existsSync(STAMP) && statSync(WORKER_SCRIPT).mtimeMs <= statSync(STAMP).mtimeMs;
if (!outputsExist || !(built >= newest) || !untouched) {
  await buildWeb();
  wranglerBuild(join(ROOT, 'dist/worker'));
  writeFileSync(STAMP, String(newest));
}

if (values.embed !== undefined && values.out !== undefined) {
  const out = resolve(ROOT, values.out);
  const embed = resolve(resolveBundleDir(values.embed));
  const customStamp = join(out, '.edge-build-stamp');
  const wanted = JSON.stringify({ newest: Math.max(newest, newestMtime(embed)), embed });
  if (!existsSync(customStamp) || readFileSync(customStamp, 'utf8') !== wanted) {
    // edge/embedded-bundle.ts imports dist/embedded/ by a fixed path: swap the folder for this build only.
    const shared = `${DEFAULT_EMBEDDED_DIR}.shared`;
    rmSync(shared, { recursive: true, force: true });
    const hadShared = existsSync(DEFAULT_EMBEDDED_DIR);
    if (hadShared) renameSync(DEFAULT_EMBEDDED_DIR, shared);
    try {
      execFileSync(
        join(ROOT, 'node_modules/.bin/tsx'),
        ['edge/build-web.ts', '--bundle', embed, '--outdir', join(out, 'web')],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      wranglerBuild(join(out, 'worker'));
    } finally {
      rmSync(DEFAULT_EMBEDDED_DIR, { recursive: true, force: true });
      if (hadShared) renameSync(shared, DEFAULT_EMBEDDED_DIR);
    }
    writeFileSync(customStamp, wanted);
  }
}
