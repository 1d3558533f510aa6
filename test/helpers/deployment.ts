// A deployment candidate for the checklist tests: a real `shipshape serve` of news-bag with its output captured to a
// file, as a supervisor would, and alert rules from `shipshape alerts`.
import { join } from 'node:path';
import { shipshape, startServe, type ServeProcess } from './cli.ts';

/**
 * Writes `shipshape alerts` rules (and their unit tests) for news-bag and bench/sla.json into `out`.
 * @throws Error with the command's stderr when it fails.
 */
export function generateRules(out: string): string {
  const alerts = shipshape([
    'alerts',
    '--bundle',
    'artifacts/news-bag',
    '--sla',
    'bench/sla.json',
    '--out',
    out,
  ]);
  if (alerts.code !== 0) throw new Error(`shipshape alerts failed: ${alerts.stderr}`);
  return out;
}

/** `shipshape serve` on news-bag (one worker) logging to `scratch`/serve.log, and rules in `scratch`/alerts. */
export async function startCandidate(
  scratch: string,
): Promise<{ serve: ServeProcess; logs: string; rules: string }> {
  const logs = join(scratch, 'serve.log');
  const serve = await startServe(['--bundle', 'artifacts/news-bag', '--workers', '1'], {}, { logFile: logs });
  return { serve, logs, rules: generateRules(join(scratch, 'alerts')) };
}
