import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shipshape, type CliResult } from '../helpers/cli.ts';
import { bundleDir, copyBundle } from '../helpers/bundle-copy.ts';

/**
 * A module for `node --import` whose resolve hook fails onnxruntime-node as if the optional dependency were not
 * installed: the one way to run without it on a machine that has it (node_modules is shared, so it stays).
 */
const WITHOUT_NATIVE = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
  register(${JSON.stringify(
    `data:text/javascript,${encodeURIComponent(
      `export async function resolve(specifier, context, next) {
        if (specifier !== 'onnxruntime-node') return next(specifier, context);
        throw Object.assign(new Error("Cannot find package 'onnxruntime-node' (hidden by the test)"), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      }`,
    )}`,
  )});`,
)}`;

describe('shipshape inspect', () => {
  // Two behaviours of one run: each run proves the bundle on two backends.
  let newsBag: CliResult | undefined;
  const inspectNewsBag = () => (newsBag ??= shipshape(['inspect', 'artifacts/news-bag']));

  it('validates the default bundle and prints its summary', () => {
    const { code, stdout } = inspectNewsBag();
    expect(code).toBe(0);
    expect(stdout).toMatch(/^news-bag 1\.0\.0 {2}\(text-classification/);
    expect(stdout).toContain('inputs     input_ids int64 [batch, sequence]');
    expect(stdout).toMatch(
      /\n {2}sequence {3}dynamic, checked at 1, 8, 16, 33, 48, 72 \(max \|diff\| [0-9.e-]+ vs the max_len run, atol 1e-5\)\n/,
    );
    expect(stdout).toContain('labels     World, Sports, Business, Sci/Tech');
    expect(stdout).toMatch(
      /valid: every file matches its sha256 and size; ONNX signature matches; tokenizer parity (\d+)\/\1/,
    );
  });

  it('exits 1 naming the file when one byte of the model is corrupted', () => {
    const copy = copyBundle('news-bag');
    try {
      const path = join(copy.dir, 'model.onnx');
      const bytes = readFileSync(path);
      bytes[100] = bytes[100]! ^ 0xff;
      writeFileSync(path, bytes);
      const { code, stdout, stderr } = shipshape(['inspect', copy.dir]);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toContain(`invalid bundle ${copy.dir}`);
      expect(stderr).toContain(`BUNDLE_HASH_MISMATCH: ${copy.dir}/model.onnx does not match manifest.json`);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      copy.remove();
    }
  });

  it('proves parity on native and wasm, one line each with the time it took', () => {
    const { code, stdout } = inspectNewsBag();
    expect(code).toBe(0);
    for (const backend of ['native', 'wasm']) {
      expect(stdout).toMatch(
        new RegExp(
          `^  parity ${backend}: 256 of 278 cases, logits within 1e-4 \\(max \\S+\\) at batch [0-9, and]+, \\d+ ms$`,
          'm',
        ),
      );
    }
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/; logits proven on native, wasm$/);
  });

  it("prints the validation result and each backend's proof as JSON with --json", () => {
    const { code, stdout } = shipshape(['inspect', 'artifacts/news-transformer', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      valid: boolean;
      manifest: { name: string };
      parity: { mismatches: [] };
      backends: Record<string, unknown>[];
    };
    expect(result.valid).toBe(true);
    expect(result.manifest.name).toBe('news-transformer');
    expect(result.parity.mismatches).toEqual([]);
    expect(result.backends.map((proof) => proof.backend)).toEqual(['native', 'wasm']);
    for (const proof of result.backends) {
      expect(Object.keys(proof)).toEqual([
        'backend',
        'ok',
        'cases',
        'maxAbsDiff',
        'atol',
        'batchSizes',
        'ms',
      ]);
      expect(proof).toMatchObject({ ok: true, cases: 256, atol: 1e-4 });
      expect(proof.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(proof.batchSizes).toContain(32);
      expect(proof.ms).toBeGreaterThan(0);
    }
  });

  it('proves parity on one backend only with --backend', () => {
    const { code, stdout } = shipshape(['inspect', 'artifacts/news-bag', '--json', '--backend', 'wasm']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { backends: { backend: string; ok: boolean }[] };
    expect(result.backends.map(({ backend, ok }) => ({ backend, ok }))).toEqual([
      { backend: 'wasm', ok: true },
    ]);
  });

  it('reports native as skipped, not failed, without onnxruntime-node (hidden by a resolve hook), and stays valid', () => {
    const { code, stdout } = shipshape(['inspect', 'artifacts/news-bag', '--json'], '', {
      NODE_OPTIONS: `--import ${WITHOUT_NATIVE}`,
    });
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { valid: boolean; backends: Record<string, unknown>[] };
    expect(result.valid).toBe(true);
    expect(result.backends[0]).toEqual({
      backend: 'native',
      ok: false,
      cases: null,
      maxAbsDiff: null,
      atol: 1e-4,
      batchSizes: [],
      ms: null,
      skipped: expect.stringMatching(/^onnxruntime-node is not installed \(it is an optional dependency\)/),
    });
    expect(result.backends[1]).toMatchObject({ backend: 'wasm', ok: true, cases: 256 });
  });

  it('exits 2 naming the backends on an unknown --backend', () => {
    const { code, stderr } = shipshape(['inspect', '--backend', 'webgpu']);
    expect(code).toBe(2);
    expect(stderr).toContain('Unsupported backend "webgpu". Should be one of: native, wasm.');
  });
});

describe('shipshape tokenize', () => {
  it('prints the training side ids for every parity case', () => {
    const cases = readFileSync(join(bundleDir('news-bag'), 'parity.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { text: string; ids: number[] });
    const input = cases.map((c) => JSON.stringify(c.text)).join('\n') + '\n';
    const { code, stdout } = shipshape(['tokenize', '--bundle', 'artifacts/news-bag', '--json-input'], input);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as number[])).toEqual(cases.map((c) => c.ids));
  });

  it('reads plain UTF-8 lines from stdin', () => {
    const { code, stdout } = shipshape(['tokenize', '--tokens'], 'Hello, World!\nΟΔΟΣ\n');
    expect(code).toBe(0);
    expect(stdout).toBe('["hello",",","world","!"]\n["οδος"]\n');
  });
});

describe('shipshape usage errors', () => {
  it('answers an unknown flag with usage help and exit code 2, not a stack trace', () => {
    const { code, stderr } = shipshape(['tokenize', '--bundel', 'x']);
    expect(code).toBe(2);
    expect(stderr).toContain("error: unknown option '--bundel'");
    expect(stderr).toContain('(run with --help for usage)');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('answers an unknown command with exit code 2', () => {
    const { code, stderr } = shipshape(['frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });
});
