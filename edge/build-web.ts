// Builds the static files the Worker's assets binding and the Node server both serve (the demo page and the health
// dashboard with their scripts, onnxruntime-web's .wasm files, model bundles under /models/) and the bundle the
// Worker embeds (dist/embedded/).
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { isShipshapeError } from '../runtime/errors.ts';
import { createPredictor, loadBundle, proveParity } from '../runtime/node.ts';
import { directorySource } from '../runtime/platform/node-files.ts';
import type { Bundle } from '../runtime/types.ts';
import { buildBrowserRuntime } from '../runtime/platform/browser-build.ts';
import { resolveBundleDir } from '../runtime/platform/bundle-path.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_WEB_DIR = join(ROOT, 'dist/web');
/** Where the embedded bundle's files go: edge/embedded-bundle.ts imports them from here. */
export const DEFAULT_EMBEDDED_DIR = join(ROOT, 'dist/embedded');
/** The bundle the Worker embeds and the demo page uses when none is given. */
export const DEFAULT_EMBEDDED_BUNDLE = 'news-bag';

/** The embedded bundle's files by role, under the fixed names edge/embedded-bundle.ts imports. */
export const EMBEDDED_FILES = {
  manifest: 'manifest.bin',
  model: 'model.bin',
  vocab: 'vocab.bin',
  normalization: 'normalization.bin',
  parity: 'parity.bin',
} as const;

/** Cloudflare Workers refuse a static asset over 25 MiB (wrangler and Miniflare check it too). */
export const MAX_ASSET_BYTES = 25 * 1024 * 1024;

export interface BuildWebOptions {
  /** Default dist/web. Emptied first. */
  readonly outdir?: string;
  /**
   * Bundles copied to /models/NAME/ (NAME: the folder's name), each a folder path or a name under artifacts/.
   * news-bag, the one the page uses, is always among them. Default: news-bag and `embed`.
   */
  readonly bundles?: readonly string[];
  /**
   * The bundle the Worker embeds (a folder path or a name under artifacts/): verified (every hash, then the parity
   * proof on WASM), then written to `embeddedDir`. Default news-bag.
   */
  readonly embed?: string;
  /** Default dist/embedded. Emptied first. */
  readonly embeddedDir?: string;
  /** Default true. */
  readonly minify?: boolean;
}

export interface WebBuild {
  readonly outdir: string;
  /** Files written, relative to `outdir`, with their sizes. */
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
  /** The embedded bundle: where its files went, and its name and version. */
  readonly embedded: { readonly dir: string; readonly name: string; readonly version: string };
}

/** Copies a bundle's manifest and every file it lists to `outdir`/models/NAME/. */
async function copyBundle(from: string, outdir: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(from, 'manifest.json'), 'utf8')) as {
    files: Record<string, unknown>;
  };
  const to = join(outdir, 'models', basename(resolve(from)));
  await mkdir(to, { recursive: true });
  for (const file of ['manifest.json', ...Object.keys(manifest.files)]) {
    await copyFile(join(from, file), join(to, file));
  }
}

/**
 * Proves a bundle as the Worker will serve it (every file's hash, the graph, then its parity cases on WASM) and
 * writes its files under the fixed names edge/embedded-bundle.ts imports.
 * @throws ShipshapeError with the bundle's code when it fails any check.
 */
export async function writeEmbeddedBundle(dir: string, embeddedDir: string): Promise<Bundle> {
  const source = directorySource(dir);
  const bundle = await loadBundle(source);
  const predictor = await createPredictor(bundle, { backend: 'wasm', batching: false });
  try {
    await proveParity(predictor);
  } finally {
    await predictor.dispose();
  }
  const { manifest } = bundle;
  const names: Record<keyof typeof EMBEDDED_FILES, string> = {
    manifest: 'manifest.json',
    model: manifest.model.file,
    vocab: manifest.preprocessing.vocab,
    normalization: manifest.preprocessing.normalization,
    parity: manifest.parity.file,
  };
  await rm(embeddedDir, { recursive: true, force: true });
  await mkdir(embeddedDir, { recursive: true });
  for (const [role, name] of Object.entries(names)) {
    // Exact bytes: the files as loadBundle verified them, the manifest as the bundle holds it.
    const bytes = name === 'manifest.json' ? await source.read(name) : await bundle.readFile(name);
    if (bytes === undefined) throw new Error(`${dir}/${name} disappeared while the build read the bundle.`);
    await writeFile(join(embeddedDir, EMBEDDED_FILES[role as keyof typeof EMBEDDED_FILES]), bytes);
  }
  return bundle;
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

/**
 * Builds the page into `outdir` (default dist/web) and the embedded bundle into `embeddedDir` (default
 * dist/embedded).
 * @throws ShipshapeError BUNDLE_FILE_MISSING for a bundle argument that names no bundle; the embedded bundle's code
 *   (BUNDLE_*, PARITY_MISMATCH...) when it fails verification.
 */
export async function buildWeb(options: BuildWebOptions = {}): Promise<WebBuild> {
  const outdir = resolve(options.outdir ?? DEFAULT_WEB_DIR);
  const embeddedDir = resolve(options.embeddedDir ?? DEFAULT_EMBEDDED_DIR);
  const embedDir = resolveBundleDir(options.embed ?? DEFAULT_EMBEDDED_BUNDLE);
  const copied = [DEFAULT_EMBEDDED_BUNDLE, ...(options.bundles ?? [embedDir])].map((arg) =>
    resolveBundleDir(arg),
  );
  // First, so a bundle that fails its proof stops the build before anything is replaced.
  const embedded = await writeEmbeddedBundle(embedDir, embeddedDir);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const app = join(outdir, 'app');
  const build = await buildBrowserRuntime({
    outdir: app,
    entryPoints: { demo: join(ROOT, 'edge/web/demo.ts'), dashboard: join(ROOT, 'edge/web/dashboard.ts') },
    minify: options.minify ?? true,
  });
  await gzipOversized(app, [...build.files]);
  for (const file of ['index.html', 'demo.css'])
    await copyFile(join(ROOT, 'edge/web', file), join(outdir, file));
  // A folder's index.html: the Node server answers /dashboard with it, the Worker's assets redirect to /dashboard/.
  await mkdir(join(outdir, 'dashboard'), { recursive: true });
  await copyFile(join(ROOT, 'edge/web/dashboard.html'), join(outdir, 'dashboard/index.html'));
  const seen = new Set<string>();
  for (const dir of copied) {
    if (seen.has(resolve(dir))) continue;
    seen.add(resolve(dir));
    await copyBundle(dir, outdir);
  }
  const files = await listFiles(outdir);
  return {
    outdir,
    files: await Promise.all(
      files.map(async (path) => ({ path, bytes: (await stat(join(outdir, path))).size })),
    ),
    embedded: { dir: embeddedDir, name: embedded.manifest.name, version: embedded.manifest.version },
  };
}

const USAGE =
  'use --bundle PATH-OR-NAME (repeatable; the first is embedded), --outdir DIR, --embedded-dir DIR; ' +
  'or SHIPSHAPE_BUNDLE=PATH-OR-NAME';

// CLI: `npx tsx edge/build-web.ts [--bundle PATH-OR-NAME]... [--outdir DIR] [--embedded-dir DIR]`
// (npm run build:web; npm start reads SHIPSHAPE_BUNDLE, since its extra arguments go to wrangler).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const bundles: string[] = [];
  let outdir: string | undefined;
  let embeddedDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = args[i + 1];
    if ((arg === '--bundle' || arg === '--outdir' || arg === '--embedded-dir') && value !== undefined) {
      if (arg === '--bundle') bundles.push(value);
      else if (arg === '--outdir') outdir = value;
      else embeddedDir = value;
      i++;
    } else {
      console.error(`build-web: unknown argument ${JSON.stringify(arg)}; ${USAGE}.`);
      process.exit(2);
    }
  }
  const fromEnv = process.env.SHIPSHAPE_BUNDLE;
  if (bundles.length === 0 && fromEnv !== undefined && fromEnv !== '') bundles.push(fromEnv);
  let built: WebBuild;
  try {
    built = await buildWeb({
      ...(outdir === undefined ? {} : { outdir }),
      ...(embeddedDir === undefined ? {} : { embeddedDir }),
      ...(bundles[0] === undefined ? {} : { embed: bundles[0], bundles }),
    });
  } catch (error) {
    // A bundle problem is the operator's to fix: one line with the code, never a stack.
    if (!isShipshapeError(error)) throw error;
    console.error(`build-web: ${error.code}: ${error.message}`);
    process.exit(1);
  }
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`.padStart(12);
  console.log(`build-web: ${built.files.length} files in ${built.outdir}`);
  for (const file of built.files) console.log(`  ${kib(file.bytes)}  ${file.path}`);
  console.log(
    `build-web: the Worker embeds ${built.embedded.name} ${built.embedded.version} (${built.embedded.dir}), ` +
      'verified: hashes and parity proof on wasm',
  );
}
