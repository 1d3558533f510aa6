// The slow tier's shared edge build (vitest globalSetup, see vitest.config.ts): dist/web and dist/worker, built once
// per run before any test file starts, and only when an input is newer than the last build. Test files read the
// result (`inject('edgeBuild')`, through support.ts) and never build it themselves, so no lock is needed. The same
// setup builds a Worker embedding news-transformer, as a user would: its build swaps dist/embedded for a moment,
// which must not happen while a test file reads it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { DEFAULT_EMBEDDED_DIR, buildWeb } from '../../edge/build-web.ts';
import { resolveBundleDir } from '../../runtime/platform/bundle-path.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const STAMP = join(ROOT, 'dist/.edge-build-stamp');
const WEB_DIR = join(ROOT, 'dist/web');
const WORKER_DIR = join(ROOT, 'dist/worker');
const WORKER_SCRIPT = join(WORKER_DIR, 'worker.js');
const TRANSFORMER_BUILD_DIR = join(ROOT, 'dist/test-embed-news-transformer');
const INPUTS = ['edge', 'runtime', 'artifacts/news-bag', 'wrangler.toml', 'package-lock.json'];

/** What the globalSetup hands the test files. */
export interface EdgeBuild {
  /** The demo page and onnxruntime-web's files (`npm run build:web`). */
  readonly webDir: string;
  /** `wrangler deploy --dry-run` output of the Worker embedding news-bag. */
  readonly workerDir: string;
  /**
   * The Worker built as a user would with `npm run build:web -- --bundle <absolute path to news-transformer>`: its
   * `web/` and `worker/` (test/edge/worker-bundle.slow.test.ts serves it).
   */
  readonly transformerBuildDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    edgeBuild: EdgeBuild;
  }
}

function newestMtime(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(path).reduce(
    (newest, name) => Math.max(newest, newestMtime(join(path, name))),
    stats.mtimeMs,
  );
}

const newestInput = () => Math.max(...INPUTS.map((input) => newestMtime(join(ROOT, input))));

function wranglerBuild(outdir: string): void {
  rmSync(outdir, { recursive: true, force: true });
  execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outdir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * Builds dist/web and dist/worker (embedding news-bag) unless the last build is newer than every input.
 * @throws Error from esbuild or wrangler when the build fails.
 */
async function buildSharedEdge(): Promise<void> {
  const newest = newestInput();
  const built = existsSync(STAMP) ? Number(readFileSync(STAMP, 'utf8')) : 0;
  const outputsExist = existsSync(WORKER_SCRIPT) && existsSync(join(WEB_DIR, 'index.html'));
  // A dist/worker written after the stamp came from another build (npm run build:worker, perhaps with another
  // embedded bundle): build again so the tests see news-bag.
  const untouched =
    outputsExist && existsSync(STAMP) && statSync(WORKER_SCRIPT).mtimeMs <= statSync(STAMP).mtimeMs;
  if (!outputsExist || !(built >= newest) || !untouched) {
    await buildWeb();
    wranglerBuild(WORKER_DIR);
    writeFileSync(STAMP, String(newest));
  }
}

/**
 * Builds, as a user would (`npm run build:web -- --bundle BUNDLE`, then wrangler), a Worker that embeds `embed` (a
 * path or a name under artifacts/): `out`/web and `out`/worker, unless an earlier call built the same inputs. Leaves
 * dist/ as the shared build left it (it swaps dist/embedded for its build, so no test may run meanwhile).
 * @throws Error from esbuild or wrangler when the build fails.
 */
function buildEmbeddingWorker(embed: string, out: string): void {
  const outDir = resolve(ROOT, out);
  const bundle = resolve(resolveBundleDir(embed));
  const customStamp = join(outDir, '.edge-build-stamp');
  const wanted = JSON.stringify({ newest: Math.max(newestInput(), newestMtime(bundle)), embed: bundle });
  if (existsSync(customStamp) && readFileSync(customStamp, 'utf8') === wanted) return;
  // edge/embedded-bundle.ts imports dist/embedded/ by a fixed path: swap the folder for this build only.
  const shared = `${DEFAULT_EMBEDDED_DIR}.shared`;
  rmSync(shared, { recursive: true, force: true });
  const hadShared = existsSync(DEFAULT_EMBEDDED_DIR);
  if (hadShared) renameSync(DEFAULT_EMBEDDED_DIR, shared);
  try {
    execFileSync(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['edge/build-web.ts', '--bundle', bundle, '--outdir', join(outDir, 'web')],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    wranglerBuild(join(outDir, 'worker'));
  } finally {
    rmSync(DEFAULT_EMBEDDED_DIR, { recursive: true, force: true });
    if (hadShared) renameSync(shared, DEFAULT_EMBEDDED_DIR);
  }
  writeFileSync(customStamp, wanted);
}

/** The globalSetup: builds once, then hands the folders to the test files. */
export default async function setup(project: TestProject): Promise<void> {
  await buildSharedEdge();
  buildEmbeddingWorker(join(ROOT, 'artifacts/news-transformer'), TRANSFORMER_BUILD_DIR);
  project.provide('edgeBuild', {
    webDir: WEB_DIR,
    workerDir: WORKER_DIR,
    transformerBuildDir: TRANSFORMER_BUILD_DIR,
  });
}
