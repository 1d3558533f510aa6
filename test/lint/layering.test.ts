// The layering rules of eslint.config.js, run through ESLint's Node API on small sources: product code (runtime,
// edge, bench, cli, ops) imports neither scripts/ nor test code, and the lint catches it when it does.
import { ESLint } from 'eslint';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

// Only the import rule runs, so the sources need no type information (projectService off keeps this fast and lets
// the file paths be ones that do not exist).
const eslint = new ESLint({
  cwd: ROOT,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});

/** The no-restricted-imports messages for `source` linted as if it were the file `filePath`. */
async function importErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: resolve(ROOT, filePath) });
  return (result?.messages ?? []).map((m) => `${m.line}: ${m.message}`);
}

describe('the no-restricted-imports rule of eslint.config.js', () => {
  it('refuses an import of scripts/ from bench/', async () => {
    expect(
      await importErrors('bench/example.ts', "import { x } from '../scripts/bundle-path.ts';\n"),
    ).toEqual([
      "1: '../scripts/bundle-path.ts' import is restricted from being used by a pattern. " +
        'Product code does not import scripts/; move the shared code into a product module.',
    ]);
  });

  it('refuses an import of a test helper from an experiment under bench/experiments/', async () => {
    const errors = await importErrors(
      'bench/experiments/tokenizer/example.ts',
      "import { x } from '../../../test/helpers/adversarial.ts';\n",
    );
    expect(errors).toEqual([
      "1: '../../../test/helpers/adversarial.ts' import is restricted from being used by a pattern. " +
        'Product code does not import test code; move the shared code into a product module.',
    ]);
  });

  it('refuses scripts/ in edge/, cli/, ops/, runtime/ and runtime/platform/ alike', async () => {
    const files = ['edge/a.ts', 'cli/a.ts', 'ops/plan/a.ts', 'runtime/a.ts', 'runtime/platform/a.ts'];
    for (const file of files) {
      const depth = file.split('/').length - 1;
      const source = `import { x } from '${'../'.repeat(depth)}scripts/chromium.ts';\n`;
      expect(await importErrors(file, source), file).toHaveLength(1);
    }
  });

  it('still applies the layer rules beside it (runtime/ may not import node:*)', async () => {
    expect(await importErrors('runtime/a.ts', "import { readFileSync } from 'node:fs';\n")).toEqual([
      "1: 'node:fs' import is restricted from being used by a pattern. " +
        'Only runtime/platform/ may import node:* modules.',
    ]);
  });

  it('lets bench/ import runtime/ and its own modules', async () => {
    const source =
      "import { percentileSorted } from '../runtime/statistics.ts';\nimport { x } from './stats.ts';\n";
    expect(await importErrors('bench/example.ts', source)).toEqual([]);
  });

  it('lets tests and scripts import scripts/ and test helpers', async () => {
    expect(await importErrors('test/bench/a.test.ts', "import { x } from '../helpers/cli.ts';\n")).toEqual(
      [],
    );
    expect(await importErrors('scripts/a.ts', "import { x } from './chromium.ts';\n")).toEqual([]);
  });
});
