// report.html: one self-contained page, verdict first, every scenario and chart inlined, all text escaped.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderCharts } from '../../bench/charts.ts';
import { evaluateGate } from '../../bench/gate/index.ts';
import type { ReportGate } from '../../bench/report-content.ts';
import { renderReportHtml } from '../../bench/report-html.ts';
import { readReport } from '../../bench/report.ts';
import { parseSla } from '../../bench/sla.ts';
import { inProcessScenario, logNormalSamples, makeReport } from './fixtures.ts';

const CI_QUICK = fileURLToPath(new URL('../fixtures/reports/ci-quick.json', import.meta.url));

/** report.html of the CI quick fixture, with its charts and a gate on one SLA rule. */
async function ciQuickHtml(): Promise<string> {
  const report = await readReport(CI_QUICK);
  const sla = parseSla(
    { schemaVersion: 1, scenarios: [{ match: 'in-process/news-bag/native/b1', maxP95Ms: 0.05 }] },
    'test',
  );
  const gate: ReportGate = { result: evaluateGate({ report, sla }), sla: 'bench/sla.json' };
  return renderReportHtml(report, await renderCharts(report, { checks: gate.result.checks }), gate);
}

describe('report.html', () => {
  it('puts the verdict before any table or chart', async () => {
    const html = await ciQuickHtml();
    const verdict = html.search(
      /<p class="verdict fail">\s*<strong>FAIL<\/strong> against the SLA <code>bench\/sla\.json<\/code>/,
    );
    expect(verdict).toBeGreaterThan(0);
    expect(verdict).toBeLessThan(html.indexOf('<table>'));
    expect(verdict).toBeLessThan(html.indexOf('<svg'));
  });

  it('names every scenario of the report', async () => {
    const html = await ciQuickHtml();
    const report = await readReport(CI_QUICK);
    for (const s of report.scenarios) expect(html).toContain(`<code>${s.id}</code>`);
  });

  it('inlines each chart as an <svg> element', async () => {
    const html = await ciQuickHtml();
    expect(html.match(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g)).toHaveLength(4);
    for (const name of ['latency.svg', 'throughput.svg', 'memory.svg', 'http.svg'])
      expect(html).toContain(`<figcaption>${name}</figcaption>`);
  });

  it('refers to nothing outside itself: no src, no href, no script, no external stylesheet', async () => {
    const html = await ciQuickHtml();
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/<script|<link|@import|url\((?!#)/i);
  });

  it('escapes text taken from the report', async () => {
    const scenario = inProcessScenario('in-process/news-bag/native/b1', logNormalSamples(200, 1, 1));
    const report = makeReport(
      [{ ...scenario, status: 'unstable', reason: '<script>alert("x")</script> & more' }],
      {
        machine: { ...makeReport([]).machine, cpuModel: 'CPU <b>&</b>' },
      },
    );
    const html = await renderReportHtml(report);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).toContain('unstable: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(html).toContain('CPU &lt;b&gt;&amp;&lt;/b&gt;');
  });

  it('folds the tables with <details>, which open without JavaScript', async () => {
    const html = await ciQuickHtml();
    expect(html).toMatch(/<details>\s*<summary>Per batch size<\/summary>/);
    expect(html).toContain('<summary>Gate: all 8 checks</summary>');
  });
});
