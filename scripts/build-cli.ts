// CLI: `npx tsx scripts/build-cli.ts` (`npm run build:cli`, and the `prepare` step of `npm install` / `npm ci`):
// bundles cli/main.ts into dist/cli/main.js, so `bin/shipshape.js` starts without compiling TypeScript.
//
// dist/cli/stamp.json records the size and mtime of every source file in the bundle; bin/shipshape.js runs the
// bundle only while they all still match, and otherwise runs the sources through tsx, so an edited file is never
// shadowed by a stale build.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type * as Esbuild from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const OUTDIR = join(ROOT, 'dist', 'cli');
const ENTRY = 'cli/main.ts';

/** What bin/shipshape.js compares with the sources before it trusts dist/cli/main.js. */
export interface CliStamp {
  /** Always 1; bin/shipshape.js treats any other value as stale. */
  readonly version: 1;
  readonly entry: string;
  /** Source file (relative to the repository root, `/`-separated) -> its size and mtime when it was bundled. */
  readonly inputs: Readonly<Record<string, { readonly size: number; readonly mtimeMs: number }>>;
}

/**
 * Bundled code runs from dist/cli/, but several modules find files next to themselves (`new URL('../sla.json',
 * import.meta.url)`, `import.meta.dirname`, the piscina worker `./pool-worker.mjs`). Each module that reads
 * `import.meta` gets its own `url`, `filename` and `dirname`: those of its source file, computed at run time from
 * the bundle's location, so the repository can still move.
 */
const BANNER = [
  "import { dirname as __shipshapeDirname } from 'node:path';",
  "import { fileURLToPath as __shipshapeToPath } from 'node:url';",
  'const __shipshapeBundleUrl = import.meta.url;',
].join('\n');

const META_DEFINE = {
  'import.meta.url': '__shipshapeSourceUrl',
  'import.meta.filename': '__shipshapeSourceFile',
  'import.meta.dirname': '__shipshapeSourceDir',
} as const;

/** The declarations prepended (on the first line, so line numbers and the source map stay right) to a module. */
function sourceLocation(file: string): string {
  const fromBundle = relative(OUTDIR, file).split('\\').join('/');
  return (
    `const __shipshapeSourceUrl = new URL(${JSON.stringify(fromBundle)}, __shipshapeBundleUrl).href, ` +
    '__shipshapeSourceFile = __shipshapeToPath(__shipshapeSourceUrl), ' +
    '__shipshapeSourceDir = __shipshapeDirname(__shipshapeSourceFile); '
  );
}

async function loadEsbuild(): Promise<typeof Esbuild | null> {
  try {
    return await import('esbuild');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

/** Writes via a temporary name and a rename, so a CLI starting meanwhile never reads half a file. */
async function writeAtomically(file: string, contents: string | Uint8Array): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

/** Bundles the CLI; returns the stamp written, or null when esbuild is not installed (a production install). */
export async function buildCli(): Promise<CliStamp | null> {
  const esbuild = await loadEsbuild();
  if (esbuild === null) return null;
  // Each source is stat'ed before it is read: a file edited during the build gets a newer mtime than the stamp's,
  // and so counts as stale.
  const seen = new Map<string, { size: number; mtimeMs: number }>();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outdir: OUTDIR,
    bundle: true,
    // Each subcommand (a dynamic import in cli/main.ts) is its own chunk, with its own imports of packages, so a
    // call loads only what its subcommand needs. Chunks sit next to main.js: the per-module `import.meta` below
    // is computed from the directory of the file that holds the module.
    splitting: true,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Every package stays in node_modules: onnxruntime-node (native), onnxruntime-web (.wasm next to its code),
    // piscina, playwright-core, wrangler, tsx (the pool worker and the bench's children still load TypeScript).
    packages: 'external',
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'warning',
    banner: { js: BANNER },
    define: META_DEFINE,
    plugins: [
      {
        name: 'source-import-meta',
        setup(build) {
          build.onLoad({ filter: /.*/ }, async (args) => {
            const info = await stat(args.path);
            seen.set(args.path, { size: info.size, mtimeMs: info.mtimeMs });
            if (!/\.[cm]?ts$/.test(args.path)) return undefined;
            const source = await readFile(args.path, 'utf8');
            if (!source.includes('import.meta')) return { contents: source, loader: 'ts' };
            return { contents: sourceLocation(args.path) + source, loader: 'ts' };
          });
        },
      },
    ],
  });

  const inputs: Record<string, { readonly size: number; readonly mtimeMs: number }> = {};
  for (const input of Object.keys(result.metafile.inputs).sort()) {
    const file = join(ROOT, input);
    const info = seen.get(file) ?? (await stat(file));
    inputs[input] = { size: info.size, mtimeMs: info.mtimeMs };
  }
  const stamp: CliStamp = { version: 1, entry: ENTRY, inputs };

  await mkdir(OUTDIR, { recursive: true });
  for (const file of result.outputFiles) {
    await mkdir(dirname(file.path), { recursive: true });
    await writeAtomically(file.path, file.contents);
  }
  // Last: until the stamp lands, the previous stamp (if any) describes the sources, and a bundle of the same
  // sources is what main.js holds.
  await writeAtomically(join(OUTDIR, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
  // Chunks of earlier builds (their names carry a content hash) go once nothing refers to them any more.
  const written = new Set(result.outputFiles.map((file) => basename(file.path)));
  for (const name of await readdir(OUTDIR)) {
    if (name !== 'stamp.json' && !written.has(name)) await rm(join(OUTDIR, name), { force: true });
  }
  return stamp;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const started = performance.now();
  const stamp = await buildCli();
  if (stamp === null) {
    console.log('build-cli: esbuild is not installed; bin/shipshape.js runs the CLI from source through tsx');
  } else {
    const ms = Math.round(performance.now() - started);
    const count = Object.keys(stamp.inputs).length;
    console.log(`build-cli: bundled ${count} sources into ${relative(ROOT, OUTDIR)}/main.js in ${ms} ms`);
  }
}
