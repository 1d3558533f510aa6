// Builds the static files the Worker's assets binding and the Node server both serve: the demo page, its script,
// onnxruntime-web's .wasm files and the model bundles under /models/.
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { buildBrowserRuntime } from '../scripts/build-browser.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_WEB_DIR = join(ROOT, 'dist/web');

/** Cloudflare Workers refuse a static asset over 25 MiB (wrangler and Miniflare check it too). */
export const MAX_ASSET_BYTES = 25 * 1024 * 1024;

export interface BuildWebOptions {
  /** Default dist/web. Emptied first. */
  readonly outdir?: string;
  /** Bundles (directories under artifacts/) copied to /models/NAME/. Default ['news-bag'], the one the page uses. */
  readonly bundles?: readonly string[];
  /** Default true. */
  readonly minify?: boolean;
}

export interface WebBuild {
  readonly outdir: string;
  /** Files written, relative to `outdir`, with their sizes. */
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
}

/** Copies a bundle's manifest and every file it lists. */
async function copyBundle(name: string, outdir: string): Promise<void> {
  const from = join(ROOT, 'artifacts', name);
  const manifest = JSON.parse(await readFile(join(from, 'manifest.json'), 'utf8')) as {
    files: Record<string, unknown>;
  };
  const to = join(outdir, 'models', name);
  await mkdir(to, { recursive: true });
  for (const file of ['manifest.json', ...Object.keys(manifest.files)]) {
    await copyFile(join(from, file), join(to, file));
  }
}

/**
 * A `.wasm` over the asset limit (onnxruntime-web's WebGPU build, ~26 MB) is stored gzipped as `NAME.wasm.gz`; the
 * app answers `GET NAME.wasm` with it and `Content-Encoding: gzip` (edge/app.ts, serveAsset).
 */
async function gzipOversized(outdir: string, files: string[]): Promise<string[]> {
  const result: string[] = [];
  for (const file of files) {
    const path = join(outdir, file);
    if ((await stat(path)).size <= MAX_ASSET_BYTES) {
      result.push(file);
      continue;
    }
    if (!file.endsWith('.wasm')) {
      throw new Error(
        `${file} is over the 25 MiB static-asset limit and is not a .wasm the app can serve gzipped.`,
      );
    }
    const packed = await promisify(gzip)(await readFile(path), { level: 9 });
    if (packed.byteLength > MAX_ASSET_BYTES) throw new Error(`${file} is over 25 MiB even gzipped.`);
    await writeFile(`${path}.gz`, packed);
    await rm(path);
    result.push(`${file}.gz`);
  }
  return result;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? listFiles(dir, join(prefix, entry.name))
        : Promise.resolve([join(prefix, entry.name)]),
    ),
  );
  return nested.flat().sort();
}

/** Builds the page into `outdir` (default dist/web). */
export async function buildWeb(options: BuildWebOptions = {}): Promise<WebBuild> {
  const outdir = resolve(options.outdir ?? DEFAULT_WEB_DIR);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const app = join(outdir, 'app');
  const build = await buildBrowserRuntime({
    outdir: app,
    entryPoints: { demo: join(ROOT, 'edge/web/demo.ts') },
    minify: options.minify ?? true,
  });
  await gzipOversized(app, [...build.files]);
  for (const file of ['index.html', 'demo.css'])
    await copyFile(join(ROOT, 'edge/web', file), join(outdir, file));
  for (const name of options.bundles ?? ['news-bag']) await copyBundle(name, outdir);
  const files = await listFiles(outdir);
  return {
    outdir,
    files: await Promise.all(
      files.map(async (path) => ({ path, bytes: (await stat(join(outdir, path))).size })),
    ),
  };
}

// CLI: `npx tsx edge/build-web.ts [--bundle NAME]... [--outdir DIR]` (npm run build:web).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const bundles: string[] = [];
  let outdir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = args[i + 1];
    if ((arg === '--bundle' || arg === '--outdir') && value !== undefined) {
      if (arg === '--bundle') bundles.push(value);
      else outdir = value;
      i++;
    } else {
      console.error(
        `build-web: unknown argument ${JSON.stringify(arg)}; use --bundle NAME (repeatable), --outdir DIR.`,
      );
      process.exit(2);
    }
  }
  const built = await buildWeb({
    ...(outdir === undefined ? {} : { outdir }),
    ...(bundles.length === 0 ? {} : { bundles: ['news-bag', ...bundles.filter((b) => b !== 'news-bag')] }),
  });
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`.padStart(12);
  console.log(`build-web: ${built.files.length} files in ${built.outdir}`);
  for (const file of built.files) console.log(`  ${kib(file.bytes)}  ${file.path}`);
}
