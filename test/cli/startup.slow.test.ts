// The precompiled CLI: `npm run build:cli` bundles it into dist/cli, bin/shipshape.js runs that bundle while it
// matches the sources and the sources through tsx as soon as one of them changes.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/bundle-copy.ts';
import { shipshape } from '../helpers/cli.ts';

const TRACE = { SHIPSHAPE_CLI_TRACE: '1' };
const BUILT = 'shipshape: entry dist/cli/main.js';

interface Stamp {
  readonly version: number;
  readonly entry: string;
  readonly inputs: Record<string, { readonly size: number; readonly mtimeMs: number }>;
}

/** The first stderr line, the entry bin/shipshape.js chose (SHIPSHAPE_CLI_TRACE=1). */
const entryLine = (stderr: string) => stderr.split('\n')[0];

describe('the precompiled CLI', () => {
  let stamp: Stamp;

  beforeAll(() => {
    execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, encoding: 'utf8' });
    stamp = JSON.parse(readFileSync(join(ROOT, 'dist/cli/stamp.json'), 'utf8')) as Stamp;
  });

  it('records every bundled source, the commands and the runtime among them', () => {
    expect(stamp.version).toBe(1);
    expect(stamp.entry).toBe('cli/main.ts');
    const inputs = Object.keys(stamp.inputs);
    expect(inputs).toContain('cli/main.ts');
    expect(inputs).toContain('cli/commands/predict.ts');
    expect(inputs).toContain('runtime/platform/bundle-path.ts');
    expect(inputs.every((file) => !file.startsWith('node_modules/'))).toBe(true);
  });

  it('runs dist/cli/main.js for --help once built, with the same help as the sources', () => {
    const built = shipshape(['--help'], '', TRACE);
    const source = shipshape(['--help'], '', { ...TRACE, SHIPSHAPE_CLI_ENTRY: 'source' });
    expect(built.code).toBe(0);
    expect(entryLine(built.stderr)).toBe(BUILT);
    expect(entryLine(source.stderr)).toBe('shipshape: entry cli/main.ts (SHIPSHAPE_CLI_ENTRY=source)');
    expect(built.stdout).toMatch(/^Usage: shipshape \[options\] \[command\]\n/);
    expect(built.stdout).toBe(source.stdout);
  });

  it('finds the files next to the bundled modules from dist/: the bundle folder and bench/sla.json', () => {
    // predict resolves the bundle name through runtime/platform/bundle-path.ts (artifacts/ beside runtime/),
    // alerts reads bench/sla.json beside cli/commands/; both would miss them resolved from dist/cli.
    const predict = shipshape(['predict', '--bundle', 'news-bag', 'Oil prices rose'], '', TRACE);
    expect(predict.code).toBe(0);
    expect(entryLine(predict.stderr)).toBe(BUILT);
    expect(Object.keys(JSON.parse(predict.stdout) as object)).toEqual(['label', 'scores']);
    const help = shipshape(['bench', '--help'], '', TRACE);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(JSON.stringify(join(ROOT, 'bench/sla.json')));
  });

  it('falls back to the sources once a bundled source changes, until the next build', () => {
    const file = 'cli/commands/tokenize.ts';
    const path = join(ROOT, file);
    const before = statSync(path);
    expect(stamp.inputs[file]?.mtimeMs).toBe(before.mtimeMs);
    try {
      utimesSync(path, before.atime, new Date(before.mtimeMs + 60_000));
      const edited = shipshape(['--help'], '', TRACE);
      expect(edited.code).toBe(0);
      expect(entryLine(edited.stderr)).toBe(
        `shipshape: entry cli/main.ts (${file} changed since the build (npm run build:cli))`,
      );
      const forced = shipshape(['--help'], '', { ...TRACE, SHIPSHAPE_CLI_ENTRY: 'dist' });
      expect(entryLine(forced.stderr)).toBe(BUILT);
    } finally {
      // Back to (about: utimes keeps whole milliseconds) the mtime it had; only a build matches it again.
      utimesSync(path, before.atime, before.mtime);
    }
    execFileSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, encoding: 'utf8' });
    expect(entryLine(shipshape(['--help'], '', TRACE).stderr)).toBe(BUILT);
  });

  it('refuses an unknown SHIPSHAPE_CLI_ENTRY with exit code 2', () => {
    const result = shipshape(['--help'], '', { SHIPSHAPE_CLI_ENTRY: 'fast' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('shipshape: SHIPSHAPE_CLI_ENTRY must be "dist" or "source", not "fast"\n');
  });
});
