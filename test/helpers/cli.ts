// Runs the real `shipshape` CLI in a child process from the repository root: one-shot commands and `serve`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './bundle-copy.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `shipshape ...args` with `input` on stdin and `env` added to this process's environment. `timeoutMs` (default
 * none) kills a command that should have exited, such as a `serve` expected to refuse its bundle: it then returns
 * code null instead of blocking the test run.
 */
export function shipshape(
  args: readonly string[],
  input = '',
  env: Record<string, string> = {},
  timeoutMs?: number,
): CliResult {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/shipshape.js'), ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 28,
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `shipshape ...args` like `shipshape`, without blocking this process: for a command that talks to a service whose
 * output this process is collecting (`startServe` with a `logFile`), which a synchronous spawn would hold back.
 */
export function shipshapeAsync(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/shipshape.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServeProcess {
  /** The "shipshape serving ... at URL" line. */
  readonly banner: string;
  /** `http://127.0.0.1:PORT`, from the banner. */
  readonly url: string;
  readonly child: ChildProcess;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects if the process exits first. */
  waitForOutput(pattern: RegExp): Promise<RegExpExecArray>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `shipshape serve --host 127.0.0.1 ...args` as its own process and waits until it serves; on a free port
 * (`--port 0`, placed before `args`, which may override it) unless `env.PORT` is given. `options.cwd` is its working
 * directory (default the repository root); `options.logFile`, when given, receives all its output as it comes, as a
 * supervisor capturing stdout and stderr would.
 */
export async function startServe(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { readonly cwd?: string; readonly logFile?: string } = {},
): Promise<ServeProcess> {
  const port = env.PORT === undefined ? ['--port', '0'] : [];
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/shipshape.js'), 'serve', ...port, '--host', '127.0.0.1', ...args],
    {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, SHIPSHAPE_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const watchers = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
      for (const watch of watchers) watch();
    }),
  );
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (options.logFile !== undefined) appendFileSync(options.logFile, chunk);
    for (const watch of watchers) watch();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const waitForOutput = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const watch = () => {
        const match = pattern.exec(output);
        if (match !== null) {
          watchers.delete(watch);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          watchers.delete(watch);
          reject(new Error(`serve exited before printing ${pattern}: ${output}`));
        }
      };
      watchers.add(watch);
      watch();
    });
  const [banner, url] = await waitForOutput(/^shipshape serving .* at (http:\/\/127\.0\.0\.1:\d+)$/m);
  const stop = () => {
    child.kill('SIGTERM');
    return exited;
  };
  return { banner, url: url!, child, exited, output: () => output, waitForOutput, stop };
}
