// Starts the project's own Node service (`shipshape serve`) as a child process for the HTTP scenarios: bench talks
// to edge/ only over HTTP, never by import.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/shipshape.js', import.meta.url));

export interface RunningService {
  readonly url: string;
  /** The service's own first line, e.g. `shipshape serving news-bag 1.0.0 on native at http://127.0.0.1:40123`. */
  readonly banner: string;
  /** The service's process id (its RSS is in `/proc/PID/status`), or undefined where the spawn gave none. */
  readonly pid: number | undefined;
  /** CPU ms the service process has used so far (Linux `/proc`), or undefined where that cannot be read. */
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

/**
 * The worker threads a service runs the model on, from its banner (`... on native (2 workers) at http://...`): the
 * requests it serves at once. A banner without the count is a service with `--workers 0`, whose model runs on the
 * event loop's thread: one at a time.
 */
export function workersFromBanner(banner: string): number {
  const match = /\((\d+) workers?\) at /.exec(banner);
  return match ? Number(match[1]) : 1;
}

/**
 * CPU ms (user + system) of process `pid` from `/proc/PID/stat`: fields 14 and 15, in clock ticks of 1/100 s
 * (Linux's USER_HZ on every architecture Node supports). Undefined off Linux or once the process is gone.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * CPU ms the whole machine has spent busy so far, every core together: `/proc/stat`'s first line less idle and
 * iowait, in clock ticks of 1/100 s. Undefined off Linux.
 */
export function machineCpuMs(): number | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/);
    // cpu user nice system idle iowait irq softirq steal ...
    const ticks = fields.slice(1, 9).map(Number);
    if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return undefined;
    const total = ticks.reduce((a, b) => a + b, 0);
    return (total - (ticks[3] as number) - (ticks[4] as number)) * 10;
  } catch {
    return undefined;
  }
}

export interface ProcessMemory {
  /** Resident set size now (`VmRSS`), bytes: worker threads of the process included. */
  readonly rssBytes: number;
  /** The highest RSS since the process started (`VmHWM`), bytes. */
  readonly peakRssBytes: number;
}

/** RSS and peak RSS of process `pid` from `/proc/PID/status` (kB there), or undefined off Linux or once it is gone. */
export function processMemory(pid: number | undefined): ProcessMemory | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string): number | undefined => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const rssBytes = kib('VmRSS');
  const peakRssBytes = kib('VmHWM');
  // A zombie (exited, not yet reaped) has no Vm* lines.
  return rssBytes === undefined || peakRssBytes === undefined ? undefined : { rssBytes, peakRssBytes };
}

/**
 * Runs `shipshape serve --port 0` on `bundleDir` (loopback, a free port) and waits for its URL. `workers` is passed
 * as `--workers` when given; otherwise the CLI's default (the available cores) applies. `args` go after the bench's
 * own flags, so they can override them (e.g. `['--backend', 'wasm']`). Defaults: `timeoutMs` 60,000, `backend`
 * 'auto', no `args`. `env` adds to (or overrides) this process's environment, e.g. the edge's limits.
 * @throws Error with the service's output when it exits or prints no URL within `timeoutMs`.
 */
export function startService(
  bundleDir: string,
  options: {
    timeoutMs?: number;
    backend?: string;
    workers?: number;
    args?: readonly string[];
    env?: Readonly<Record<string, string>>;
  } = {},
): Promise<RunningService> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env = { ...process.env, ...options.env };
  // An inherited token would make every bench request a 401.
  delete env.SHIPSHAPE_TOKEN;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--bundle',
      bundleDir,
      '--backend',
      options.backend ?? 'auto',
      ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        new Error(
          `shipshape serve ${why}: ${output.trim().split('\n').slice(-5).join(' | ') || 'no output'}`,
        ),
      );
    };
    const timer = setTimeout(() => fail(`printed no URL within ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
      const match = /^(shipshape serving .* at (http:\/\/\S+))$/m.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      child.off('exit', onExit);
      resolve({
        url: match[2] as string,
        banner: match[1] as string,
        pid: child.pid,
        cpuMs: () => processCpuMs(child.pid),
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    const onExit = (code: number | null): void => fail(`exited with code ${String(code)}`);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000)));
    child.once('exit', onExit);
  });
}
