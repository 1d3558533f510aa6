// Tampered bundles are refused alike by `shipshape inspect`, `predict` and `serve`: the same code from each, no answer
// from a model that does not reproduce its export, no stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBundle, tamper, type BundleCopy } from '../helpers/bundle-copy.ts';
import { shipshape } from '../helpers/cli.ts';

interface Tampering {
  readonly name: string;
  /** The code all three commands refuse it with. */
  readonly code: string;
  readonly tamper: (copy: BundleCopy) => void;
}

const TAMPERINGS: readonly Tampering[] = [
  {
    name: 'labels reordered in the manifest',
    code: 'PARITY_MISMATCH',
    tamper: tamper.reorderLabels,
  },
  {
    // Same signature (int64 [batch, 72] -> float32 [batch, 4]), so only its outputs tell.
    name: "news-transformer's model.onnx in a news-bag copy, rehashed",
    code: 'PARITY_MISMATCH',
    tamper: tamper.swapModel,
  },
  {
    name: 'pad and unk ids swapped in the manifest',
    code: 'PREPROCESSING_MISMATCH',
    tamper: tamper.swapSpecialIds,
  },
  {
    name: "the vocabulary's two special lines swapped, rehashed",
    code: 'PREPROCESSING_MISMATCH',
    tamper: tamper.swapSpecialLines,
  },
  {
    // Manifest and vocabulary agree with each other, not with training: only the golden cases' ids tell.
    name: 'pad and unk swapped in the manifest and the vocabulary alike',
    code: 'PREPROCESSING_MISMATCH',
    tamper: (copy) => {
      tamper.swapSpecialLines(copy);
      tamper.swapSpecialIds(copy);
    },
  },
  {
    // A graph exported with its dummy batch baked in: it runs at batch 32 only, so the proof's batch-1 run fails.
    name: 'a model that runs only at batch size 32',
    code: 'PARITY_MISMATCH',
    tamper: (copy) => tamper.editModel(copy, 'baked-batch', '32'),
  },
];

/** A command that should exit is killed after this long, so a `serve` that wrongly serves fails the test. */
const EXIT_WITHIN_MS = 60_000;
const STACK_FRAME = /\n\s+at /;

/** Every error code `inspect --json` reports: the load's, or each backend's failed proof. */
function inspectCodes(stdout: string): string[] {
  const result = JSON.parse(stdout) as {
    error?: { code: string };
    backends?: { error?: { code: string } }[];
  };
  const codes = [result.error?.code, ...(result.backends ?? []).map((proof) => proof.error?.code)];
  return [...new Set(codes.filter((code): code is string => code !== undefined))];
}

describe.each(TAMPERINGS)('a bundle with $name', ({ code, tamper }) => {
  let copy: BundleCopy;
  beforeAll(() => {
    copy = copyBundle('news-bag');
    tamper(copy);
  });
  afterAll(() => copy?.remove());

  it(`is refused by inspect with ${code}`, () => {
    // Native only: test/cli/bundle-commands.slow.test.ts covers the run over every backend, and wasm is slow here.
    const result = shipshape(['inspect', copy.dir, '--json', '--backend', 'native']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false });
    expect(inspectCodes(result.stdout)).toEqual([code]);
  });

  it(`is refused by predict with ${code} on stderr and nothing on stdout`, () => {
    const result = shipshape(['predict', '--bundle', copy.dir, 'Stocks rallied after the earnings report']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^shipshape: ${code}: [^\\n]+\\n$`));
  });

  it(`is refused by serve, which exits 1 with one line naming ${code}`, () => {
    const result = shipshape(
      ['serve', '--port', '0', '--workers', '0', '--bundle', copy.dir],
      '',
      { SHIPSHAPE_ACCESS_LOG: 'off' },
      EXIT_WITHIN_MS,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('shipshape serving');
    expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^shipshape: ${code}: `));
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
