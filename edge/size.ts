// The Worker's upload size from `wrangler deploy --dry-run --outdir dist/worker`: printed, written to
// dist/worker-size.json for the bench gate, and refused above Cloudflare's 10 MiB (paid plan) compressed limit.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(import.meta.dirname, '..');
export const WORKER_DIR = join(ROOT, 'dist/worker');
export const SIZE_FILE = join(ROOT, 'dist/worker-size.json');
/** Workers' compressed script limit on the paid plan (the free plan allows 3 MiB). */
export const LIMIT_GZIP_BYTES = 10 * 1024 * 1024;

export interface WorkerSize {
  readonly gzipBytes: number;
  readonly rawBytes: number;
  /** Same as `rawBytes`, under the name the bench gate reads. */
  readonly bytes: number;
  readonly limitGzipBytes: number;
  readonly files: readonly { readonly name: string; readonly bytes: number; readonly gzipBytes: number }[];
}

/**
 * The modules of the upload in `dir`: worker.js and every file it imports. wrangler does not empty `--outdir`, so
 * files of earlier builds may sit next to them; they are not part of this upload.
 * @throws Error when the directory holds no worker.js (run `npm run build:worker` first).
 */
export async function listUploadModules(dir = WORKER_DIR): Promise<string[]> {
  let script: string;
  try {
    script = await readFile(join(dir, 'worker.js'), 'utf8');
  } catch (cause) {
    throw new Error(`${dir} has no worker.js; run "npm run build:worker" first.`, { cause });
  }
  const imported = [...script.matchAll(/^import \w+ from "\.\/([^"/]+)";$/gm)].map((match) => match[1]!);
  const present = new Set(await readdir(dir));
  const missing = imported.filter((name) => !present.has(name));
  if (missing.length > 0) throw new Error(`${dir}/worker.js imports missing modules: ${missing.join(', ')}.`);
  // wrangler lists the entry last.
  return [...new Set(imported)].sort().concat('worker.js');
}

/** Measures the upload the way wrangler reports "Total Upload": the gzip of all modules concatenated. */
export async function measureWorker(dir = WORKER_DIR): Promise<WorkerSize> {
  const ordered = await listUploadModules(dir);
  const contents = await Promise.all(ordered.map((name) => readFile(join(dir, name))));
  const files = ordered.map((name, i) => {
    const bytes = contents[i]!;
    return { name, bytes: bytes.byteLength, gzipBytes: gzipSync(bytes).byteLength };
  });
  const all = Buffer.concat(contents);
  return {
    gzipBytes: gzipSync(all).byteLength,
    rawBytes: all.byteLength,
    bytes: all.byteLength,
    limitGzipBytes: LIMIT_GZIP_BYTES,
    files,
  };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

export function formatSize(size: WorkerSize): string {
  const width = Math.max(...size.files.map((file) => file.name.length), 'total'.length);
  const row = (name: string, raw: number, gz: number) =>
    `${name.padEnd(width)}  ${mib(raw).padStart(10)}  ${mib(gz).padStart(10)}`;
  return [
    `${'module'.padEnd(width)}  ${'raw'.padStart(10)}  ${'gzip'.padStart(10)}`,
    ...size.files.map((file) => row(file.name, file.bytes, file.gzipBytes)),
    row('total', size.rawBytes, size.gzipBytes),
    `limit ${mib(size.limitGzipBytes)} gzip: ${size.gzipBytes <= size.limitGzipBytes ? 'ok' : 'OVER'} ` +
      `(${((size.gzipBytes / size.limitGzipBytes) * 100).toFixed(0)}% used)`,
  ].join('\n');
}

// CLI: `npx tsx edge/size.ts [DIR]` (npm run size builds first). Exit 1 above the limit.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const size = await measureWorker(process.argv[2] ?? WORKER_DIR);
  console.log(formatSize(size));
  await writeFile(
    SIZE_FILE,
    `${JSON.stringify({ gzipBytes: size.gzipBytes, rawBytes: size.rawBytes, bytes: size.bytes }, null, 2)}\n`,
  );
  console.log(`wrote ${SIZE_FILE}`);
  if (size.gzipBytes > size.limitGzipBytes) {
    console.error(
      `The Worker upload is ${mib(size.gzipBytes)} gzipped, over the ${mib(size.limitGzipBytes)} limit. ` +
        'Serve the model from static assets or R2 instead of embedding it (see wrangler.toml).',
    );
    process.exitCode = 1;
  }
}
