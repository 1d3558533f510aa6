// JSON.parse for bundle files whose syntax errors give a line and column, never the file's text (V8 quotes it).
import { messageOf } from '../errors.ts';

/** Why parsing failed and where, as 1-based line and column of the first character refused. */
export interface JsonSyntaxProblem {
  readonly reason: string;
  readonly line: number;
  readonly column: number;
}

/** V8's reasons that quote nothing of the input, up to " in JSON at position N". */
const POSITIONED = /^(.*?) in JSON at position (\d+)/;

/** True when `message` blames the end of the text: a prefix of valid JSON fails only this way. */
function blamesTheEnd(message: string, length: number): boolean {
  if (/end of (JSON input|data)|EOF/i.test(message)) return true;
  const at = POSITIONED.exec(message);
  return at !== null && Number(at[2]) >= length;
}

function syntaxMessage(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}

/**
 * Where JSON.parse first refuses `text`, found by parsing prefixes (the engine names no position for an unexpected
 * character): a prefix up to the bad character fails only at its end, a longer one before it.
 */
function firstRefusedOffset(text: string): number {
  let good = 0;
  let bad = text.length;
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    const message = syntaxMessage(text.slice(0, mid));
    if (message === undefined || blamesTheEnd(message, mid)) good = mid;
    else bad = mid;
  }
  return bad - 1;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Describes the syntax error JSON.parse gave for `text` without quoting any of it. */
export function describeJsonSyntax(text: string, error: unknown): JsonSyntaxProblem {
  const message = error instanceof Error ? error.message : '';
  const at = POSITIONED.exec(message);
  if (at !== null) {
    // e.g. "Expected ':' after property name": V8's words, no input in them.
    return { reason: at[1]!, ...lineAndColumn(text, Number(at[2])) };
  }
  if (blamesTheEnd(message, text.length)) {
    return { reason: 'unexpected end of the text', ...lineAndColumn(text, text.length) };
  }
  return { reason: 'unexpected character', ...lineAndColumn(text, firstRefusedOffset(text)) };
}

/**
 * JSON.parse, whose failure message gives a line and column instead of an excerpt of the text.
 * @throws SyntaxError "<reason> at line L, column C" (the engine's own error is dropped: it quotes the input).
 */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const { reason, line, column } = describeJsonSyntax(text, error);
    throw new SyntaxError(`${reason} at line ${line}, column ${column}`);
  }
}
