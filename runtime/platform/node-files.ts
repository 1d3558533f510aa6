// Bundle sources backed by the local file system (Node only).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BundleSource } from '../bundle/index.ts';

/** A bundle directory on disk. A missing file reads as undefined; other I/O errors propagate. */
export function directorySource(dir: string): BundleSource {
  const root = resolve(dir);
  return {
    describe: dir.replace(/\/+$/, ''),
    async read(name) {
      try {
        return new Uint8Array(await readFile(join(root, name)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
  };
}
