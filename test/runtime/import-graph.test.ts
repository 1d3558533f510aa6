// The runtime's import graph has no cycle (type-only imports included), so each module can be read bottom-up.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUNTIME = join(ROOT, 'runtime');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative `import`/`export ... from` of each file (type-only ones too), as absolute paths. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
    graph.set(
      file,
      importedFiles
        .map((imported) => imported.fileName)
        .filter((name) => name.startsWith('.'))
        .map((name) => resolve(dirname(file), name)),
    );
  }
  return graph;
}

/** The cycles found by a depth-first walk, each as the files around it relative to the repository. */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    const at = stack.indexOf(file);
    if (at >= 0) {
      cycles.push([...stack.slice(at), file].map((path) => relative(ROOT, path)));
      return;
    }
    if (done.has(file)) return;
    stack.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    stack.pop();
    done.add(file);
  };
  for (const file of graph.keys()) visit(file);
  return cycles;
}

describe('the runtime import graph', () => {
  it('has no cycle, type-only imports included', () => {
    expect(cyclesOf(importGraph(sourceFiles(RUNTIME)))).toEqual([]);
  });

  it('finds a cycle when there is one (engine.ts importing types.ts and back)', () => {
    const engine = join(RUNTIME, 'engine.ts');
    const types = join(RUNTIME, 'types.ts');
    expect(
      cyclesOf(
        new Map([
          [engine, [types]],
          [types, [engine]],
        ]),
      ),
    ).toEqual([['runtime/engine.ts', 'runtime/types.ts', 'runtime/engine.ts']]);
  });
});
