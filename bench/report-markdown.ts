// The report as Markdown: the verdict and the lines that matter on top, every table folded below in <details>.
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

/** Text for a Markdown line or table cell: `|` escaped (it would end a cell), newlines flattened. */
function plain(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function piece(text: Text): string {
  return typeof text === 'string' ? plain(text) : `\`${text.code.replace(/`/g, "'")}\``;
}

function line(pieces: Line): string {
  return pieces.map(piece).join('');
}

function table(headers: readonly string[], rows: readonly (readonly Text[])[]): string[] {
  return [
    `| ${headers.map(plain).join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(piece).join(' | ')} |`),
  ];
}

/** A folded block: GitHub renders Markdown inside <details> when a blank line follows the summary. */
function folded(summary: string, body: readonly string[]): string[] {
  return ['<details>', `<summary>${summary}</summary>`, '', ...body, '', '</details>', ''];
}

function section(s: Section): string[] {
  return folded(s.title, [
    ...s.before.flatMap((l) => [line(l), '']),
    ...table(s.headers, s.rows),
    ...(s.after.length > 0 ? ['', ...s.after.map((l) => `- ${line(l)}`)] : []),
  ]);
}

const verdictText: Record<GateCheck['verdict'], string> = {
  pass: 'pass',
  fail: '**FAIL**',
  warn: 'warn',
  skipped: 'skipped',
};

/**
 * Renders the report: the gate's verdict (when `gate` is given) and the lines that matter first, then the details
 * (run and machine, each table, the gate's checks, the charts) folded.
 * @param charts chart file names relative to the Markdown file. Default none.
 * @param gate the gate's result on this report; without it the verdict reads NOT EVALUATED.
 */
export function renderReportMarkdown(
  report: Report,
  charts: readonly string[] = [],
  gate?: ReportGate,
): string {
  const summary = reportSummary(report, gate);
  const lines: string[] = [
    `# shipshape bench (${report.mode})`,
    '',
    `**${summary.verdict}** ${line(summary.verdictLine)}`,
    '',
    ...summary.lines.flatMap((item) => [
      `- ${line(item.line)}`,
      ...(item.items ?? []).map((l) => `  - ${line(l)}`),
    ]),
    '',
  ];
  if (summary.headline) {
    lines.push(
      `**${summary.headline.title}**`,
      '',
      ...table(summary.headline.headers, summary.headline.rows),
      '',
    );
  }
  lines.push(
    ...folded(
      'Run, machine and versions',
      runLines(report).flatMap((l) => [line(l), '']),
    ),
  );
  for (const s of reportSections(report)) lines.push(...section(s));
  if (gate) {
    const notes = gate.result.notes;
    lines.push(
      ...folded(`Gate: all ${gate.result.checks.length} checks`, [
        ...table(
          ['verdict', 'scenario', 'check', 'value', 'limit', 'detail'],
          gate.result.checks.map((c) => [
            verdictText[c.verdict],
            { code: c.scenario },
            c.metric,
            c.value,
            c.limit,
            c.detail,
          ]),
        ),
        ...(notes.length > 0 ? ['', ...notes.map((n) => `- ${plain(n)}`)] : []),
      ]),
    );
  }
  if (charts.length > 0)
    lines.push(
      ...folded(
        'Charts',
        charts.flatMap((c, i) => [...(i ? [''] : []), `![${c}](${c})`]),
      ),
    );
  return lines.join('\n');
}
