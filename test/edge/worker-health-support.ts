// What the Worker health tests share: drifted texts, reading one sample out of /metrics, and their answer shapes.
import type { HealthReport } from '../../runtime/monitor/types.ts';
import { request, type JsonResponse } from './support.ts';

const SUBJECTS = [
  'Die Bundesregierung',
  'Der Vorstand der Bank',
  'Die Nationalmannschaft',
  'Das Forschungsinstitut',
  'Der Bürgermeister',
  'Die Gewerkschaft',
  'Der Trainer',
  'Die Wissenschaftlerin',
];
const CLAUSES = [
  'hat am Dienstag überraschend neue Maßnahmen gegen die steigenden Preise beschlossen',
  'verhandelt seit Wochen über höhere Löhne für die Beschäftigten',
  'gewann nach einer spannenden Verlängerung gegen den Tabellenführer',
  'veröffentlichte heute eine Studie über künstliche Intelligenz und Datenschutz',
  'kündigte eine umfassende Reform des Gesundheitswesens an',
  'erwartet für das kommende Quartal deutlich geringere Gewinne',
  'stellte gestern einen neuen Impfstoff gegen Grippeviren vor',
  'fordert schnellere Entscheidungen beim Ausbau der Windkraft',
];

/** 64 German news sentences: almost every token is outside news-bag's English vocabulary. */
export const GERMAN_TEXTS: readonly string[] = SUBJECTS.flatMap((subject) =>
  CLAUSES.map((clause) => `${subject} ${clause}.`),
);

/**
 * The value of one sample of a Prometheus text exposition, by its exact name and labels as written
 * (`shipshape_texts_total{model="news-bag"}`); undefined when the exposition has no such line.
 */
export function metricValue(exposition: string, sample: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

export interface PredictAnswer {
  readonly predictions: readonly { readonly id: string; readonly label: string }[];
}

/** `/v1/health`'s answer on a Worker: the report, and whose it is. */
export type HealthAnswer = HealthReport & { readonly scope: 'service' | 'isolate' };

export function predict(url: string, texts: readonly string[]): Promise<JsonResponse<PredictAnswer>> {
  return request<PredictAnswer>(`${url}/v1/predict`, { json: { texts } });
}

/**
 * Reads `url`/metrics until `sample` reaches `value` (isolates flush every 2 s) or `timeoutMs` passes; returns the
 * last value seen, which the caller asserts.
 */
export async function waitForMetric(
  url: string,
  sample: string,
  value: number,
  timeoutMs = 20_000,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let seen: number | undefined;
  for (;;) {
    seen = metricValue(await (await fetch(`${url}/metrics`)).text(), sample);
    if (seen === value || Date.now() > deadline) return seen;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
