// `shipshape predict` end to end: the real CLI process on the real news-bag bundle.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shipshape } from '../helpers/cli.ts';
import { bundleDir } from '../helpers/bundle-copy.ts';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

/** The stderr line of a passed proof on `backend` (news-bag: 278 golden cases, atol 1e-4). */
const proofLine = (backend: string) =>
  new RegExp(
    `^parity ${backend}: 256 of 278 cases, logits within 1e-4 \\(max \\S+\\) at batch [0-9, and]+, \\d+ ms$`,
  );

describe('shipshape predict', () => {
  it('prints one { label, scores } line per argument, and the backend and its parity proof on stderr', () => {
    const { code, stdout, stderr } = shipshape([
      'predict',
      'The striker scored twice in the final',
      'Oil prices rose',
    ]);
    expect(code).toBe(0);
    const [backend, proof, ...rest] = stderr.split('\n');
    expect(backend).toBe('backend: native');
    expect(proof).toMatch(proofLine('native'));
    expect(rest).toEqual(['']);
    const lines = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { label: string; scores: object });
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(['label', 'scores']);
      expect(Object.keys(line.scores)).toEqual(LABELS);
      expect(LABELS).toContain(line.label);
    }
  });

  it('reads stdin lines when no text is given, and gives the golden labels on wasm', () => {
    const cases = readFileSync(join(bundleDir('news-bag'), 'parity.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { text: string; label: string })
      .filter((c) => !/[\n\r\u2028\u2029\u0085]/.test(c.text))
      .slice(0, 40);
    const input = cases.map((c) => `${c.text}\n`).join('');
    const { code, stdout, stderr } = shipshape(['predict', '--backend', 'wasm', '--batch-size', '7'], input);
    expect(code).toBe(0);
    const [backend, skipped, proof, ...rest] = stderr.split('\n');
    expect([backend, skipped]).toEqual(['backend: wasm', 'skipped native: not requested (backend: "wasm")']);
    expect(proof).toMatch(proofLine('wasm'));
    // 256 cases in runs of 7 end with a run of 4; 16 more run alone.
    expect(proof).toMatch(/ at batch 1, 4 and 7, /);
    expect(rest).toEqual(['']);
    const labels = stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { label: string }).label);
    expect(labels).toEqual(cases.map((c) => c.label));
  });

  it('prints an error line for a text past the length limit and answers the others', () => {
    const input = `first text\n${'x'.repeat(10_001)}\nthird text\n`;
    const { code, stdout } = shipshape(['predict', '--batch-size', '2'], input);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[1]!)).toEqual({
      error: {
        code: 'INPUT_INVALID',
        message:
          'Item 1 is 10001 characters long; the limit is 10000 (maxTextLength). Shorten the text or raise maxTextLength.',
      },
    });
    expect(JSON.parse(lines[2]!)).toHaveProperty('label');
  });

  it('exits 1 with BACKEND_UNAVAILABLE for --backend webgpu', () => {
    const { code, stdout, stderr } = shipshape(['predict', '--backend', 'webgpu', 'text']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'shipshape: BACKEND_UNAVAILABLE: Unsupported backend "webgpu" on node. Should be one of: native, wasm.\n',
    );
  });

  it('predicts without the proof with --skip-parity, saying so on stderr', () => {
    const { code, stdout, stderr } = shipshape(['predict', '--skip-parity', 'Oil prices rose']);
    expect(code).toBe(0);
    expect(stderr).toBe(
      'backend: native\nwarning: the parity proof was skipped (--skip-parity); the outputs were not compared ' +
        'with parity.jsonl\n',
    );
    expect(Object.keys(JSON.parse(stdout) as object)).toEqual(['label', 'scores']);
  });

  it('exits 2 on a --batch-size that is not a positive integer', () => {
    const { code, stderr } = shipshape(['predict', '--batch-size', '0', 'text']);
    expect(code).toBe(2);
    expect(stderr).toContain(`argument '0' is invalid. expected an integer >= 1, got "0".`);
  });
});
