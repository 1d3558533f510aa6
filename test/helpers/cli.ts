// Runs the real `shipshape` CLI in a child process from the repository root.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './bundle-copy.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `shipshape ...args` with `input` on stdin and `env` added to this process's environment. */
export function shipshape(args: readonly string[], input = '', env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/shipshape.js'), ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 28,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
