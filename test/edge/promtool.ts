// Debian's promtool (package prometheus) as the judge of the exposition: CI installs it, so its absence fails there.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PROMTOOL = '/usr/bin/promtool';

/** Runs `promtool check metrics` on an exposition: its complaints, empty when clean. */
export function promtoolProblems(text: string): string {
  if (!existsSync(PROMTOOL)) return `${PROMTOOL} is missing: apt-get install prometheus`;
  try {
    return execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}`.trim() || String(error);
  }
}
