// The Worker upload size, produced by the edge build: a JSON file or wrangler's "Total Upload" line.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { UploadSize } from './report.ts';

const jsonSchema = z
  .object({ gzipBytes: z.number().nonnegative(), bytes: z.number().nonnegative().optional() })
  .loose();

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, KB: 1000, MB: 1000 ** 2 };

/**
 * Parses `{ "gzipBytes": n, "bytes"?: n }`, or text containing wrangler's
 * `Total Upload: 14213.27 KiB / gzip: 3660.12 KiB` (from `wrangler deploy --dry-run`).
 * @throws Error naming the source and both accepted forms.
 */
export function parseUploadSize(text: string, source: string): UploadSize {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const parsed = jsonSchema.safeParse(JSON.parse(trimmed));
    if (parsed.success) return { gzipBytes: parsed.data.gzipBytes, bytes: parsed.data.bytes ?? null, source };
  }
  const match =
    /Total Upload:\s*([\d.]+)\s*(B|KiB|MiB|KB|MB)\s*\/\s*gzip:\s*([\d.]+)\s*(B|KiB|MiB|KB|MB)/.exec(trimmed);
  if (match) {
    const [, raw = '0', rawUnit = 'B', gzip = '0', gzipUnit = 'B'] = match;
    return {
      bytes: Math.round(Number(raw) * (UNITS[rawUnit] ?? 1)),
      gzipBytes: Math.round(Number(gzip) * (UNITS[gzipUnit] ?? 1)),
      source,
    };
  }
  throw new Error(
    `${source}: no upload size found; give {"gzipBytes": n, "bytes": n} or wrangler's "Total Upload: X KiB / gzip: Y KiB" line.`,
  );
}

/** Reads and parses an upload-size file. @throws Error when it cannot be read or parsed. */
export async function readUploadSize(path: string): Promise<UploadSize> {
  return parseUploadSize(await readFile(path, 'utf8'), path);
}
