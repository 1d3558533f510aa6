// The report as one self-contained HTML page: verdict first, tables and SVG charts inlined, no script, no links out.
import { html, raw } from 'hono/html';
import type { GateCheck } from './gate/index.ts';
import {
  reportSections,
  reportSummary,
  runLines,
  type Line,
  type ReportGate,
  type Section,
  type Text,
} from './report-content.ts';
import type { Report } from './report.ts';

/** One rendered fragment; hono's `html` escapes every interpolated string and keeps fragments as they are. */
type Fragment = ReturnType<typeof html>;

/** A string's `backticked` parts (as in the gate's details, written for Markdown) become code here too. */
function piece(text: Text): Fragment {
  if (typeof text !== 'string') return html`<code>${text.code}</code>`;
  return html`${text.split('`').map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : part))}`;
}

function line(pieces: Line): Fragment {
  return html`${pieces.map(piece)}`;
}

function table(headers: readonly string[], rows: readonly (readonly Text[])[]): Fragment {
  return html`<table>
    <thead>
      <tr>
        ${headers.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (row) =>
          html`<tr>
            ${row.map((cell) => html`<td>${piece(cell)}</td>`)}
          </tr> `,
      )}
    </tbody>
  </table>`;
}

function section(s: Section): Fragment {
  return html`<details>
    <summary>${s.title}</summary>
    ${s.before.map((l) => html`<p>${line(l)}</p> `)}${table(s.headers, s.rows)}
    ${
      s.after.length > 0
        ? html`<ul>
            ${s.after.map((l) => html`<li>${line(l)}</li> `)}
          </ul>`
        : ''
    }
  </details> `;
}

/**
 * Makes an SVG's element ids unique in the page (several inlined charts must not share a `clip1`). Vega's SVG has
 * none today; this keeps a future one from clipping another chart.
 */
function scopeIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="/g, `id="${prefix}-`).replace(/url\(#/g, `url(#${prefix}-`);
}

const STYLE = `
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 1.5rem; color: #222; max-width: 100rem; }
.verdict { font-size: 1.1rem; padding: 0.6rem 0.8rem; border-left: 0.4rem solid #888; background: #f4f4f4; }
.verdict.pass { border-color: #54a24b; } .verdict.fail { border-color: #e45756; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
details { margin: 0.4rem 0; } summary { cursor: pointer; font-weight: bold; font-size: 1.05rem; }
figure { margin: 1rem 0; } figcaption { font-weight: bold; } svg { max-width: 100%; height: auto; }
code { font-size: 0.9em; }
`;

const verdictText: Record<GateCheck['verdict'], string> = {
  pass: 'pass',
  fail: 'FAIL',
  warn: 'warn',
  skipped: 'skipped',
};

/**
 * Renders the report as one HTML document that needs nothing else: the verdict and the lines that matter, the
 * headline figures, then every table (folded with <details>, which opens without JavaScript) and the charts inlined.
 * All text is escaped; the SVGs come from `renderCharts` and are inlined as they are.
 * @param charts SVG documents by file name (as `renderCharts` returns them). Default none.
 * @param gate the gate's result on this report; without it the verdict reads NOT EVALUATED.
 */
export async function renderReportHtml(
  report: Report,
  charts: Readonly<Record<string, string>> = {},
  gate?: ReportGate,
): Promise<string> {
  const summary = reportSummary(report, gate);
  const title = `shipshape bench (${report.mode}): ${summary.verdict}`;
  const verdictClass = summary.verdict === 'PASS' ? 'pass' : summary.verdict === 'FAIL' ? 'fail' : 'none';
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <h1>shipshape bench (${report.mode})</h1>
        <p class="verdict ${verdictClass}">
          <strong>${summary.verdict}</strong> ${line(summary.verdictLine)}
        </p>
        <ul>
          ${summary.lines.map(
            (item) =>
              html`<li>
                ${line(item.line)}${
                  item.items
                    ? html`<ul>
                        ${item.items.map((l) => html`<li>${line(l)}</li>`)}
                      </ul>`
                    : ''
                }
              </li> `,
          )}
        </ul>
        ${
          summary.headline
            ? html`<h2>${summary.headline.title}</h2>
                ${table(summary.headline.headers, summary.headline.rows)}`
            : ''
        }
        <h2>Details</h2>
        <details>
          <summary>Run, machine and versions</summary>
          ${runLines(report).map((l) => html`<p>${line(l)}</p> `)}
        </details>
        ${reportSections(report).map(section)}
        ${
          gate
            ? html`<details>
                <summary>Gate: all ${gate.result.checks.length} checks</summary>
                ${table(
                  ['verdict', 'scenario', 'check', 'value', 'limit', 'detail'],
                  gate.result.checks.map((c) => [
                    verdictText[c.verdict],
                    { code: c.scenario },
                    c.metric,
                    c.value,
                    c.limit,
                    c.detail,
                  ]),
                )}
                ${
                  gate.result.notes.length > 0
                    ? html`<ul>
                        ${gate.result.notes.map((n) => html`<li>${n}</li> `)}
                      </ul>`
                    : ''
                }
              </details>`
            : ''
        }
        ${
          Object.keys(charts).length > 0
            ? html`<h2>Charts</h2>
                ${Object.entries(charts).map(
                  ([name, svg]) =>
                    html`<figure>
                      <figcaption>${name}</figcaption>
                      ${raw(scopeIds(svg, name.replace(/\W+/g, '-')))}
                    </figure> `,
                )}`
            : ''
        }
      </body>
    </html> `;
  return (await page).toString();
}
