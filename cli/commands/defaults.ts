// Default paths the bench, gate, checklist and plan commands share, in a module of their own so that importing one
// does not import another command (bench.ts and gate.ts would otherwise import each other).
import { fileURLToPath } from 'node:url';

/** The project's SLA, bench/sla.json: limits and regression thresholds. */
export const DEFAULT_SLA = fileURLToPath(new URL('../../bench/sla.json', import.meta.url));
