// A bundle argument is a folder path or a name under artifacts/, from any working directory; an unknown one is one
// line naming what was tried.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBundleDir } from '../../cli/bundle-arg.ts';
import { hasErrorCode } from '../../runtime/errors.ts';
import { ROOT, bundleDir } from '../helpers/bundle-copy.ts';
import { shipshape, startServe, type ServeProcess } from '../helpers/cli.ts';

const ARTIFACTS = join(ROOT, 'artifacts');

describe('resolveBundleDir', () => {
  it('keeps a relative folder path as given when it holds a manifest.json', () => {
    expect(resolveBundleDir('artifacts/news-transformer', ROOT)).toBe('artifacts/news-transformer');
  });

  it('keeps an absolute folder path as given', () => {
    expect(resolveBundleDir(bundleDir('news-bag'), tmpdir())).toBe(bundleDir('news-bag'));
  });

  it('resolves a name to its folder under artifacts/ from any working directory', () => {
    expect(resolveBundleDir('news-transformer', tmpdir())).toBe(bundleDir('news-transformer'));
  });

  it('prefers a folder of that name in the working directory over artifacts/', () => {
    expect(resolveBundleDir('news-bag', ARTIFACTS)).toBe('news-bag');
  });

  it('refuses an unknown name with BUNDLE_FILE_MISSING, the paths tried and the bundles there are', () => {
    const cwd = tmpdir();
    let caught: unknown;
    try {
      resolveBundleDir('news-gru', cwd);
    } catch (error) {
      caught = error;
    }
    expect(hasErrorCode(caught, 'BUNDLE_FILE_MISSING')).toBe(true);
    expect((caught as Error).message).toBe(
      `No bundle "news-gru": tried ${join(cwd, 'news-gru')} (not found) and ${join(ARTIFACTS, 'news-gru')} ` +
        `(not found). Bundles under ${ARTIFACTS}: news-bag, news-transformer, news-transformer-int8. Give a bundle folder (one with a ` +
        'manifest.json) or one of those names.',
    );
  });

  it('says a folder has no manifest.json, and never looks a path up under artifacts/', () => {
    expect(() => resolveBundleDir('runtime/bundle', ROOT)).toThrow(
      `No bundle "runtime/bundle": tried ${join(ROOT, 'runtime/bundle')} (no manifest.json). Bundles under`,
    );
  });
});

describe('shipshape commands given a bundle argument', () => {
  it('predict answers an unknown bundle with exit 1 and one line, no stack', () => {
    const { code, stdout, stderr } = shipshape(['predict', '--bundle', '/no/such', 'a text']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^shipshape: BUNDLE_FILE_MISSING: No bundle "\/no\/such": tried \/no\/such [^\n]+\n$/,
    );
  });

  it('tokenize takes a bundle by name from another working directory', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'shipshape-cwd-'));
    try {
      const result = spawnSync(
        process.execPath,
        [join(ROOT, 'bin/shipshape.js'), 'tokenize', '--tokens', '--bundle', 'news-transformer'],
        { cwd, input: 'Hello, World!\n', encoding: 'utf8' },
      );
      expect({ code: result.status, stdout: result.stdout }).toEqual({
        code: 0,
        stdout: '["hello",",","world","!"]\n',
      });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('shipshape serve --bundle news-transformer from another working directory', () => {
  let cwd: string;
  let server: ServeProcess;
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'shipshape-cwd-'));
    server = await startServe(['--bundle', 'news-transformer', '--workers', '0'], {}, { cwd });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('serves news-transformer from artifacts/', async () => {
    expect(server.banner).toMatch(/^shipshape serving news-transformer 1\.0\.0 on native at /);
    const response = await fetch(`${server.url}/readyz`);
    expect(await response.json()).toEqual({
      status: 'ready',
      model: { name: 'news-transformer', version: '1.0.0' },
      backend: 'native',
    });
  });
});
