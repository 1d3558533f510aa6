// Progress of a bench run: a cli-progress bar on a terminal, plain lines on stderr in CI or when piped.
import cliProgress from 'cli-progress';

export interface Progress {
  /** Announces how many scenarios the run will measure. */
  start(total: number): void;
  scenarioStarted(id: string): void;
  /** A step inside the current scenario (a window, a trial). */
  detail(text: string): void;
  scenarioFinished(id: string, outcome: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Default: a bar when stdout is a TTY and `CI` is not set. */
  readonly bar?: boolean;
  /** Where plain lines go. Default stderr. */
  readonly write?: (line: string) => void;
}

/** True when a bar suits this process: stdout is a terminal and this is not a CI job. */
export function wantsProgressBar(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.CI;
}

/** Creates the progress display for a run. */
export function createProgress(options: ProgressOptions = {}): Progress {
  return (options.bar ?? wantsProgressBar()) ? createBarProgress() : createLineProgress(options.write);
}

function createLineProgress(
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Progress {
  let total = 0;
  let done = 0;
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)}s`;
  return {
    start(n) {
      total = n;
      write(`bench: ${n} scenarios`);
    },
    scenarioStarted(id) {
      write(`bench: [${done + 1}/${total}] ${id} ... (${elapsed()})`);
    },
    detail() {
      // Lines per window would flood a CI log; the start and end of each scenario are enough.
    },
    scenarioFinished(id, outcome) {
      done++;
      write(`bench: [${done}/${total}] ${id}: ${outcome}`);
    },
    stop() {
      write(`bench: done in ${elapsed()}`);
    },
  };
}

function createBarProgress(): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {value}/{total} | {duration_formatted} | {scenario} {detail}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  let current = '';
  return {
    start(total) {
      bar.start(total, 0, { scenario: '', detail: '' });
    },
    scenarioStarted(id) {
      current = id;
      bar.update({ scenario: id, detail: '' });
    },
    detail(text) {
      bar.update({ scenario: current, detail: text });
    },
    scenarioFinished(id, outcome) {
      bar.increment(1, { scenario: id, detail: outcome });
    },
    stop() {
      bar.stop();
    },
  };
}
