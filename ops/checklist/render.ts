// The checklist's result as terminal text and as Markdown for a CI job summary; both only read the result.
import type { ChecklistResult, ItemResult } from './checklist.ts';

function heading(result: ChecklistResult): string {
  const bundle =
    result.bundle === null ? 'a bundle that did not load' : `${result.bundle.name} ${result.bundle.version}`;
  return `${bundle} at ${result.url}, backend ${result.backend.name} (${result.backend.source}), ${result.checkedAt}`;
}

function summary(result: ChecklistResult): string {
  const passed = result.items.filter((item) => item.verdict === 'pass').length;
  const failed = result.items.filter((item) => item.verdict === 'fail').map((item) => item.id);
  return (
    `checklist: ${result.passed ? 'PASS' : 'FAIL'} (${passed} of ${result.items.length} items passed` +
    `${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''})`
  );
}

/** A table of item, verdict and evidence, then each failed item's detail, then the overall line. */
export function renderText(result: ChecklistResult): string {
  const width = Math.max(4, ...result.items.map((item) => item.id.length));
  const row = (item: string, verdict: string, evidence: string) =>
    `${item.padEnd(width)}  ${verdict.padEnd(7)}  ${evidence}`;
  const failed = result.items.filter((item) => item.verdict === 'fail');
  return [
    `shipshape checklist: ${heading(result)}`,
    '',
    row('item', 'verdict', 'evidence'),
    row('-'.repeat(width), '-------', '--------'),
    ...result.items.map((item) => row(item.id, item.verdict === 'pass' ? 'pass' : 'FAIL', item.evidence)),
    ...(failed.length === 0
      ? []
      : ['', ...failed.map((item) => `FAIL ${item.id} (${item.title}): ${item.detail}`)]),
    '',
    summary(result),
    '',
  ].join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function markdownRow(item: ItemResult): string {
  const verdict = item.verdict === 'pass' ? 'pass' : '**FAIL**';
  return `| ${item.group} | ${item.title} (\`${item.id}\`) | ${verdict} | ${cell(item.evidence)} | ${cell(item.detail)} |`;
}

/** Markdown for `$GITHUB_STEP_SUMMARY`: the overall verdict, then one row per item. */
export function renderMarkdown(result: ChecklistResult): string {
  return [
    `## shipshape checklist: ${result.passed ? 'PASS' : 'FAIL'}`,
    '',
    `${heading(result)}.`,
    '',
    `**${summary(result).replace(/^checklist: /, '')}**`,
    '',
    '| group | item | verdict | evidence | detail |',
    '|---|---|---|---|---|',
    ...result.items.map(markdownRow),
    '',
  ].join('\n');
}
