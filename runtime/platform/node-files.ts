// Bundle sources backed by the local file system (Node only): regular files inside the bundle folder, read bounded.
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileTooLarge, fileUnsafe, type BundleSource } from '../bundle/sources.ts';

/** Errors of a path that does not lead to a file: the file is missing, not unsafe. */
const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/** What a file that is not a regular one is, for the refusal's message. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads at most `cap + 1` bytes: the one past the cap tells a file that grew after its size was checked.
 * @throws the signal's reason once it aborts.
 */
async function readAtMost(
  handle: FileHandle,
  size: number,
  cap: number,
  signal: AbortSignal | undefined,
): Promise<{ bytes: Uint8Array; total: number }> {
  const budget = cap + 1;
  let buffer = new Uint8Array(Math.min(size + 1, budget));
  let total = 0;
  for (;;) {
    signal?.throwIfAborted();
    if (total === buffer.length) {
      if (buffer.length >= budget) break;
      const grown = new Uint8Array(Math.min(buffer.length * 2, budget));
      grown.set(buffer);
      buffer = grown;
    }
    const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return { bytes: total === buffer.length ? buffer : buffer.slice(0, total), total };
}

/**
 * A bundle directory on disk. Reads only regular files inside the directory: a name whose real path (symlinks
 * resolved) leaves it, and anything that is not a regular file (directory, FIFO, device, socket), is refused with
 * BUNDLE_FILE_UNSAFE without being opened for reading; a symlink that stays inside is followed. A file larger than
 * `maxBytes` is refused with BUNDLE_FILE_TOO_LARGE by its size on the open handle, before reading, and no read takes
 * more than `maxBytes + 1` bytes even if the file grows meanwhile. A missing file reads as undefined; other I/O
 * errors propagate.
 */
export function directorySource(dir: string): BundleSource {
  const root = resolve(dir);
  const describe = dir.replace(/\/+$/, '');
  return {
    describe,
    async read(name, { maxBytes, signal } = {}) {
      const where = `${describe}/${name}`;
      let realRoot: string;
      let real: string;
      try {
        realRoot = await realpath(root);
        real = await realpath(join(root, name));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (MISSING.has(code)) return undefined;
        if (code === 'ELOOP') throw fileUnsafe(where, 'is a symlink loop');
        throw error;
      }
      const inside = relative(realRoot, real);
      if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
        // Its kind, from a stat (which reads nothing), tells a device from a stray file in the message.
        const target = await stat(real).catch(() => undefined);
        const kind = target === undefined || target.isFile() ? '' : ` (${kindOf(target)})`;
        throw fileUnsafe(where, `is a symlink to ${real}${kind}, outside the bundle folder ${realRoot}`);
      }
      // Refused by its stat first, so a FIFO or device is never opened; O_NONBLOCK too, in case the path is swapped
      // between the stat and the open (a FIFO opened for reading would wait for a writer), and O_NOFOLLOW.
      const before = await stat(real);
      if (!before.isFile()) throw fileUnsafe(where, `is ${kindOf(before)}`);
      const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      try {
        const opened = await handle.stat();
        if (!opened.isFile()) throw fileUnsafe(where, `is ${kindOf(opened)}`);
        const cap = maxBytes ?? Number.POSITIVE_INFINITY;
        if (opened.size > cap) throw fileTooLarge(where, opened.size, cap);
        const { bytes, total } = await readAtMost(handle, opened.size, cap, signal);
        if (total > cap) throw fileTooLarge(where, undefined, cap);
        return bytes;
      } finally {
        await handle.close();
      }
    },
  };
}
