// Bundles the browser runtime (or a page that imports it) with esbuild, next to onnxruntime-web's .wasm files.
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

/** The binaries the browser platform's two onnxruntime-web builds load: WebGPU (asyncify) and plain WASM. */
export const ORT_WASM_FILES = [
  'ort-wasm-simd-threaded.asyncify.wasm',
  'ort-wasm-simd-threaded.wasm',
] as const;

export interface BuildBrowserOptions {
  /** Output directory; created if missing, never emptied. */
  readonly outdir: string;
  /** Output name -> entry module. Default: `{ shipshape: 'runtime/browser.ts' }`, giving `shipshape.js`. */
  readonly entryPoints?: Readonly<Record<string, string>>;
  /** Default true. */
  readonly minify?: boolean;
  /** Default false. */
  readonly sourcemap?: boolean;
}

export interface BrowserBuild {
  readonly outdir: string;
  /** Every file written, relative to `outdir`: entries, chunks, the .wasm files. */
  readonly files: readonly string[];
  /** esbuild's record of which inputs went into which output (e.g. to find the WebGPU build's chunk). */
  readonly metafile: esbuild.Metafile;
}

/**
 * Builds ES modules with code splitting, so each onnxruntime-web build (loaded by dynamic import) is its own chunk:
 * a page that ends up on WASM never downloads the WebGPU build. The `.wasm` files are copied next to the chunks,
 * where onnxruntime looks by default (`new URL(file, import.meta.url)`); serve them as `application/wasm`, or
 * serve them elsewhere and pass `wasmBaseUrl` to `createPredictor`.
 */
export async function buildBrowserRuntime(options: BuildBrowserOptions): Promise<BrowserBuild> {
  const outdir = resolve(options.outdir);
  const entryPoints = options.entryPoints ?? { shipshape: join(root, 'runtime/browser.ts') };
  await mkdir(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: Object.entries(entryPoints).map(([out, entry]) => ({ out, in: resolve(entry) })),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: options.sourcemap ?? false,
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  const files = Object.keys(result.metafile.outputs).map((file) => relative(outdir, resolve(file)));
  for (const wasm of ORT_WASM_FILES) {
    await copyFile(require.resolve(`onnxruntime-web/${wasm}`), join(outdir, wasm));
    files.push(wasm);
  }
  return { outdir, files, metafile: result.metafile };
}
