import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../runtime/bundle/index.ts';
import { directorySource } from '../../runtime/platform/node-files.ts';
import type { Bundle } from '../../runtime/types.ts';
import { adversarialStrings } from '../../bench/adversarial-texts.ts';
import { ROOT, bundleDir } from '../helpers/bundle-copy.ts';

let bundle: Bundle;
beforeAll(async () => {
  bundle = await loadBundle(directorySource(bundleDir('news-bag')));
});

describe('the basic_english tokenizer', () => {
  it.each([
    ['Hello, World!', ['hello', ',', 'world', '!']],
    ["don't", ['don', "'", 't']],
    ['a "b" c', ['a', 'b', 'c']],
    ['one<br />two<BR />three', ['one', 'two', 'three']],
    ['x<b"r />y', ['x', 'y']],
    ['semi;colon:here', ['semi', 'colon', 'here']],
    ['3.14 (pi)?', ['3', '.', '14', '(', 'pi', ')', '?']],
    ['', []],
    ['  \t\n ', []],
  ])('splits %j into %j', (text, tokens) => {
    expect(bundle.tokenizer.tokenize(text)).toEqual(tokens);
  });

  it("lowercases as Python does: 'İ' becomes 'i' plus a combining dot above", () => {
    expect(bundle.tokenizer.tokenize('İstanbul')).toEqual(['i\u0307stanbul']);
  });

  it('applies Python final-sigma rules, skipping case-ignorable marks', () => {
    expect(bundle.tokenizer.tokenize('ΟΔΟΣ ΟΔΟΣ.')).toEqual(['οδος', 'οδος', '.']);
    expect(bundle.tokenizer.tokenize('ΣΑ Σ AΣ\u0301')).toEqual(['σα', 'σ', 'aς\u0301']);
  });

  it("splits on Python's whitespace, not JavaScript's: U+001C and U+0085 split, U+FEFF does not", () => {
    expect(bundle.tokenizer.tokenize('a\u001cb\u0085c\ufeffd')).toEqual(['a', 'b', 'c\ufeffd']);
  });

  it('keeps a lone surrogate as part of a token, as Python does', () => {
    expect(bundle.tokenizer.tokenize('ab\ud800 c')).toEqual(['ab\ud800', 'c']);
  });

  it('truncates on the right and pads on the right to max_len', () => {
    const long = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 'the' : 'zzzqqq')).join(' ');
    const encoding = bundle.tokenizer.encode(long);
    expect(encoding.tokens.length).toBe(100);
    expect(encoding.truncated).toBe(true);
    expect(encoding.unknown).toBe(50);
    expect(encoding.ids[71]).toBe(bundle.tokenizer.unkId);
    const short = bundle.tokenizer.encode('the');
    expect(short.truncated).toBe(false);
    expect(Array.from(short.ids.slice(1))).toEqual(new Array(71).fill(bundle.tokenizer.padId));
  });
});

const PYTHON_SPACES = new Set([
  '\t',
  '\n',
  '\v',
  '\f',
  '\r',
  ' ',
  '\u001c',
  '\u001d',
  '\u001e',
  '\u001f',
  '\u0085',
  '\u00a0',
  '\u3000',
]);

describe('tokenizer properties', () => {
  it('always gives max_len ids within the vocabulary and never throws, for any string', () => {
    const { tokenizer } = bundle;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const { ids } = tokenizer.encode(text);
        expect(ids.length).toBe(72);
        for (const id of ids) expect(id >= 0 && id < tokenizer.vocabSize).toBe(true);
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('produces tokens that contain no Python whitespace and are never empty', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        for (const token of bundle.tokenizer.tokenize(text)) {
          expect(token.length).toBeGreaterThan(0);
          for (const ch of token) expect(PYTHON_SPACES.has(ch)).toBe(false);
        }
      }),
      { seed: 11, numRuns: 1000 },
    );
  });
});

const PYTHON = '/usr/bin/python3';

describe('differential test against the training side', () => {
  const available = existsSync(PYTHON);
  if (!available && !process.env.CI) {
    console.warn(`skipped: the differential test needs ${PYTHON} (Debian's python3)`);
  }

  it.skipIf(!available && !process.env.CI)(
    'agrees with Python on 10,000 adversarial strings, token for token and id for id',
    () => {
      const texts = adversarialStrings(10_000, 2026);
      const input = texts.map((t) => JSON.stringify(t)).join('\n') + '\n';
      const run = (flag: string[]) => {
        const result = spawnSync(
          PYTHON,
          ['-m', 'shipshape_train.tokenize_cli', '--bundle', bundleDir('news-bag'), ...flag],
          {
            cwd: ROOT,
            input,
            env: { ...process.env, PYTHONPATH: 'training' },
            maxBuffer: 1 << 30,
            encoding: 'utf8',
          },
        );
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        return result.stdout
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as unknown);
      };
      const pythonTokens = run(['--tokens']);
      const pythonIds = run([]);
      expect(pythonTokens.length).toBe(texts.length);
      let mismatches = 0;
      texts.forEach((text, i) => {
        const tokens = bundle.tokenizer.tokenize(text);
        const ids = Array.from(bundle.tokenizer.encode(text).ids);
        if (
          JSON.stringify(tokens) !== JSON.stringify(pythonTokens[i]) ||
          JSON.stringify(ids) !== JSON.stringify(pythonIds[i])
        ) {
          if (mismatches++ < 5) {
            expect({ text, tokens, ids }).toEqual({ text, tokens: pythonTokens[i], ids: pythonIds[i] });
          }
        }
      });
      expect(mismatches).toBe(0);
    },
    120_000,
  );
});
