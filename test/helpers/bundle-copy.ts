// Test helpers: copies of the shipped bundles that a test may damage, with the manifest kept consistent.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BUNDLES = ['news-bag', 'news-transformer'] as const;
export const bundleDir = (name: string) => join(ROOT, 'artifacts', name);

export interface BundleCopy {
  readonly dir: string;
  /** Reads and parses the copy's manifest. */
  manifest(): Record<string, unknown> & { files: Record<string, { sha256: string; size: number }> };
  /** Rewrites manifest.json through `edit`. */
  editManifest(edit: (manifest: Record<string, any>) => void): void;
  /** Replaces a file and updates its sha256 and size in the manifest, so only the content is wrong. */
  replaceFile(name: string, content: string | Uint8Array): void;
  remove(): void;
}

export function copyBundle(name = 'news-bag'): BundleCopy {
  const dir = mkdtempSync(join(tmpdir(), `shipshape-${name}-`));
  cpSync(bundleDir(name), dir, { recursive: true });
  const manifestPath = join(dir, 'manifest.json');
  const copy: BundleCopy = {
    dir,
    manifest: () => JSON.parse(readFileSync(manifestPath, 'utf8')),
    editManifest(edit) {
      const manifest = copy.manifest();
      edit(manifest);
      writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    },
    replaceFile(file, content) {
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
      writeFileSync(join(dir, file), bytes);
      copy.editManifest((m) => {
        m.files[file] = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
      });
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return copy;
}
