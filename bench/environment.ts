// What a report records about where it ran: versions (node, onnxruntime, shipshape) and the machine.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Report } from './report.ts';

const require = createRequire(import.meta.url);

/**
 * The version in an installed package's package.json, or null when it is not installed. Looks in the
 * node_modules folders Node would search, since some packages (onnxruntime-web) do not export `./package.json`.
 */
export function packageVersion(name: string): string | null {
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = join(dir, name, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  }
  return null;
}

function shipshapeVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function describeVersions(chromium: string | null): Report['versions'] {
  return {
    node: process.version,
    shipshape: shipshapeVersion(),
    onnxruntimeNode: packageVersion('onnxruntime-node'),
    onnxruntimeWeb: packageVersion('onnxruntime-web'),
    chromium,
  };
}

export function describeMachine(): Report['machine'] {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    platform: os.platform(),
    arch: os.arch(),
    loadAverage: os.loadavg(),
  };
}
