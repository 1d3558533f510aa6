// Test helpers: copies of the shipped bundles that a test may damage, with the manifest kept consistent.
import { execFileSync } from 'node:child_process';
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

/** The tamperings a bundle must be refused for, each leaving the hashes consistent so only meaning is wrong. */
export const tamper = {
  /** The first two labels of the manifest swapped (the golden cases still record the trained order). */
  reorderLabels: (copy: BundleCopy): void => {
    copy.editManifest((manifest) => {
      const [first, second, ...rest] = manifest.labels as string[];
      manifest.labels = [second, first, ...rest];
    });
  },
  /**
   * Another model (int64 ids -> float32 [batch, 4]) in its place, rehashed, with its input shapes and sequence axis
   * declared as its own bundle declares them (a fixed [batch, 72] or a dynamic [batch, sequence]), so only running
   * it tells.
   */
  swapModel: (copy: BundleCopy, from = 'news-transformer'): void => {
    copy.replaceFile('model.onnx', readFileSync(join(bundleDir(from), 'model.onnx')));
    const source = JSON.parse(readFileSync(join(bundleDir(from), 'manifest.json'), 'utf8')) as {
      model: { inputs: unknown; sequence?: unknown };
    };
    copy.editManifest((manifest) => {
      manifest.model.inputs = source.model.inputs;
      if (source.model.sequence === undefined) delete manifest.model.sequence;
      else manifest.model.sequence = source.model.sequence;
    });
  },
  /** The unk and pad ids exchanged in the manifest only. */
  swapSpecialIds: (copy: BundleCopy): void => {
    copy.editManifest((manifest) => {
      const special = manifest.preprocessing.specialTokens;
      [special.unk.id, special.pad.id] = [special.pad.id, special.unk.id];
    });
  },
  /** The vocabulary's first two lines (the seed bundles' `<unk>` and `<pad>`) exchanged, rehashed. */
  swapSpecialLines: (copy: BundleCopy): void => {
    const lines = readFileSync(join(copy.dir, 'vocab.txt'), 'utf8').split('\n');
    [lines[0], lines[1]] = [lines[1]!, lines[0]!];
    copy.replaceFile('vocab.txt', lines.join('\n'));
  },
  /**
   * The model rewritten by test/fixtures/edit-onnx.py (Debian's python3-onnx), e.g. `('baked-batch', '32')` for a
   * graph that runs only at batch 32, or `('softmax')` for one that ends in softmax; rehashed.
   */
  editModel: (copy: BundleCopy, ...args: string[]): void => {
    const out = join(copy.dir, 'edited.onnx');
    execFileSync('/usr/bin/python3', [
      join(ROOT, 'test/fixtures/edit-onnx.py'),
      ...args,
      join(copy.dir, 'model.onnx'),
      out,
    ]);
    copy.replaceFile('model.onnx', readFileSync(out));
    rmSync(out);
  },
};
